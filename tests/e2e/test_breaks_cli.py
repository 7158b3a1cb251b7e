"""`clearwatch broker breaks` and `broker break explain`: a break listed, explained by an
operator, approved by a checker, then listed only with --all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.integration.backoffice.eod_days import DAY_1, inbox_day_1
from tests.integration.backoffice.test_reconciliation import write_statements
from tests.support.identities import signed_env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _ok(env: dict[str, str], *args: str) -> str:
    done = _cli(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_break_is_listed_explained_approved_and_closed(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    _ok(cli_env, "init")
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    checker = signed_env(cli_env, "BO:B001", Role.CHECKER)
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    inbox = inbox_day_1(tmp_path / "in")
    out = tmp_path / "out"
    _ok(operator, "broker", "eod", "--date", DAY_1, "--inbox", str(inbox), "--out", str(out))
    statements = tmp_path / "statements"
    write_statements(out / "package", statements, nudge={"F002": 1})
    for kind in ("bank_statement", "csdc_statement"):
        _ok(operator, "broker", "import", str(statements / kind))
    (out / "reconciliation.csv").unlink()  # the re-run compares with the statements now
    _ok(operator, "broker", "eod", "--date", DAY_1, "--inbox", str(inbox), "--out", str(out))
    # The client's fund account is masked, table and JSON alike, unless asked as evidence by
    # whom the policy lets read it (the operator; never the auditor: refused and audited).
    (listed,) = json.loads(_ok(auditor, "broker", "breaks", "--json"))
    assert (listed["check"], listed["subject"], listed["difference"]) == (
        "client_vs_bank",
        "***02",
        "-0.01",
    )
    assert listed["state"] == "open"
    assert "F002" not in _ok(auditor, "broker", "breaks", "--wide")
    (whole,) = json.loads(_ok(operator, "broker", "breaks", "--json", "--evidence"))
    assert whole["subject"] == "F002"
    refused = _cli(auditor, "broker", "breaks", "--json", "--evidence")
    assert refused.returncode == 3 and "F002" not in refused.stdout + refused.stderr
    assert "broker.evidence" in refused.stderr
    denied = _cli(auditor, "broker", "break", "explain", str(listed["break_id"]), "--reason", "x")
    assert denied.returncode == 3 and "policy_must_allow_action" in denied.stderr
    said = _ok(
        operator,
        "broker",
        "break",
        "explain",
        str(listed["break_id"]),
        "--reason",
        "bank posted a 0.01 interest credit after its cut-off",
    )
    request = said.split("approval #")[1].split()[0]
    (pending,) = json.loads(_ok(auditor, "broker", "breaks", "--json"))
    assert pending["state"] == "pending" and str(pending["request_id"]) == request
    _ok(checker, "approvals", "approve", request)
    assert json.loads(_ok(auditor, "broker", "breaks", "--json")) == []
    (closed,) = json.loads(_ok(auditor, "broker", "breaks", "--all", "--json"))
    assert closed["state"] == "closed" and closed["resolution"] == "explained"
