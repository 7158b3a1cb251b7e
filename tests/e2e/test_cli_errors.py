"""Exit classes as a user meets them: a refusal 3, a usage error 2, a bug 1; one line each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.cli.common import EXIT_FAILED, EXIT_REJECTED, EXIT_USAGE
from tests.support.identities import as_user, signed_env

# `audit show` with its use case replaced by one that raises `{raised}`.
INJECTED = """
import clearwatch.entrypoints.cli.audit as audit
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.entrypoints.cli.main import app

def broken(**_):
    raise {raised}

audit.show_audit = broken
app(["audit", "show"])
"""


def injected(env: dict[str, str], raised: str) -> subprocess.CompletedProcess[str]:
    script = INJECTED.format(raised=raised)
    command = [sys.executable, "-c", script]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def one_line(stderr: str) -> str:
    """The only line on stderr: no traceback, nothing else."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    assert clearwatch(cli_env, "init").returncode == 0
    return {**cli_env, "COLUMNS": "80"}


def test_a_refusal_is_one_line_naming_its_rule_and_exits_3(env: dict[str, str]) -> None:
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    result = clearwatch(analyst, "monitor", "run-day", "--date", "2026-11-20")
    assert result.returncode == EXIT_REJECTED
    assert one_line(result.stderr).startswith("error: refused: registry_must_be_loaded")


def test_an_approval_refusal_is_one_line_and_exits_3(env: dict[str, str]) -> None:
    request = ("approvals", "request", "override", "node:x/[/]")
    operator = signed_env(env, "BO:B001", Role.OPERATOR)
    # A maker no longer registered: the token of a user the store does not know proves no one.
    ghost = clearwatch(as_user(env, "ghost"), *request)
    assert ghost.returncode == EXIT_REJECTED
    assert "refused: token_must_be_valid" in one_line(ghost.stderr)
    assert clearwatch(operator, *request).returncode == 0
    result = clearwatch(operator, *request)
    assert result.returncode == EXIT_REJECTED
    assert "refused: request_must_not_duplicate_pending" in one_line(result.stderr)


def test_a_refused_batch_names_its_first_rule_and_exits_3(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    operator = signed_env(env, "BO:B001", Role.OPERATOR)
    result = clearwatch(operator, "broker", "import", str(tmp_path / "empty"))
    assert result.returncode == EXIT_REJECTED
    assert "refused: manifest_must_exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_message_with_markup_like_text_prints_as_it_is(env: dict[str, str]) -> None:
    admin = signed_env(env, "BO:B001", Role.ADMIN)
    result = clearwatch(admin, "user", "grant", "[/x]", "checker")
    assert result.returncode == EXIT_REJECTED
    assert "user_must_be_registered: [/x]" in one_line(result.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("monitor", "warnings", "--level", "loud"),
        ("monitor", "packages", "--date", "20-11-2026"),
        ("sim", "day", "--out", "unused", "--faults", "no_such_fault"),
        ("monitor", "registry", "load", "/no/such/directory"),
    ],
)
def test_a_usage_error_exits_2_without_a_traceback(env: dict[str, str], args: tuple[str]) -> None:
    result = clearwatch(env, *args)
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr


def test_a_configuration_error_is_one_line_and_exits_2(env: dict[str, str]) -> None:
    result = clearwatch({**env, "CLEARWATCH_ENGINE": "abacus"}, "monitor", "run-day", "--date",
                        "2026-11-20")  # fmt: skip
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "CLEARWATCH_ENGINE" in one_line(result.stderr)


def test_a_bug_exits_1_with_its_traceback(env: dict[str, str]) -> None:
    result = injected(signed_env(env, "BO:B001", Role.AUDITOR), 'KeyError("a bug")')
    assert result.returncode == EXIT_FAILED
    assert "Traceback" in result.stderr and "KeyError: 'a bug'" in result.stderr


def test_a_condition_raised_on_purpose_exits_1_as_one_line(env: dict[str, str]) -> None:
    auditor = signed_env(env, "BO:B001", Role.AUDITOR)
    result = injected(auditor, 'ClearwatchError("the store is contended")')
    assert result.returncode == EXIT_FAILED
    assert one_line(result.stderr) == "error: ClearwatchError: the store is contended"


def test_a_rules_file_that_is_not_toml_is_a_configuration_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "rules.toml").write_text("thresholds = [\n")
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    rules = {**analyst, "CLEARWATCH_MONITOR_RULES": str(tmp_path / "rules.toml")}
    result = clearwatch(rules, "monitor", "run-day", "--date", "2026-11-20")
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "rules_document_must_be_utf8_toml" in one_line(result.stderr)
