"""A light install: without the postgres or spark extra, a command that needs it says which
extra to install, in one line, exit 2. The missing package is simulated, not uninstalled: a
`sitecustomize` makes its import fail in the CLI's process only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clearwatch.domain.access.roles import Role
from tests.support.identities import signed_env

EXIT_USAGE = 2


def without(module: str, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """`env` for a process in which `import <module>` fails as if it were not installed."""
    hook = tmp_path / f"no_{module}"
    hook.mkdir()
    # None in sys.modules makes every later `import module` raise ModuleNotFoundError.
    (hook / "sitecustomize.py").write_text(f"import sys\nsys.modules[{module!r}] = None\n")
    path = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH", "")) if p)
    return env | {"PYTHONPATH": path}


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def test_the_embedded_default_runs_without_either_extra(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    env = without("pyspark", without("psycopg", auditor, tmp_path), tmp_path)
    result = clearwatch(env, "audit", "verify")
    assert result.returncode == 0, result.stderr


def test_a_postgres_store_without_the_driver_names_the_postgres_extra(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # A token signed with this home's key: the server's store is asked for its user, and the
    # driver to ask it with is missing.
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    env = without("psycopg", auditor, tmp_path)
    env["CLEARWATCH_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/anything"
    line = one_line(clearwatch(env, "audit", "verify"))
    assert "pip install 'clearwatch[postgres]'" in line


@pytest.mark.parametrize(
    ("module", "engine", "extra"),
    [("pyspark", "spark", "spark"), ("psycopg", "postgres", "postgres")],
)
def test_an_engine_without_its_extra_names_the_extra(
    cli_env: dict[str, str], tmp_path: Path, module: str, engine: str, extra: str
) -> None:
    env = without(module, signed_env(cli_env, "SIPF", Role.ANALYST), tmp_path)
    env["CLEARWATCH_ENGINE"] = engine
    env["CLEARWATCH_ENGINE_URL"] = "postgresql://postgres@127.0.0.1:5432/anything"
    line = one_line(clearwatch(env, "monitor", "run-day", "--date", "2026-11-20"))
    assert f"pip install 'clearwatch[{extra}]'" in line
