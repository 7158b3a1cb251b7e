"""The incident drills and maker-checker as a user drives them: the CLI in a subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.support.drills import (
    DUPLICATE_IMPORT_CHECKS,
    OVERDRAFT_ADVANCE_CHECKS,
    PHANTOM_FUNDS_CHECKS,
)
from tests.support.identities import as_user, signed_env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _masked(figure: str) -> str:
    """The drills' client fund accounts (F0001…, F1001…) as printed: `***` and the last two."""
    return re.sub(r"\bF[01]00(\d)\b", r"***0\1", figure)


def _passes(
    env: dict[str, str], drill: str, checks: tuple[tuple[str, str], ...], *options: str
) -> str:
    """Run the drill; it must pass and print exactly these checks, each `ok name (figure)`."""
    done = _cli(env, "drill", drill, *options)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "PASS"
    printed = lines[lines.index("Checks:") + 1 : -1]
    # Printed, the clients' fund accounts are masked (F0002 → ***02); the report keeps them.
    assert [line.split(maxsplit=1) for line in printed] == [
        ["ok", f"{name} ({_masked(figure)})"] for name, figure in checks
    ]
    assert "[control:" in done.stdout
    assert re.search(r"\bF[01]00\d\b", done.stdout) is None, "a client's account printed whole"
    return done.stdout


def test_the_phantom_funds_drill_passes_with_the_incident_figures(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "drill-home"
    out = _passes(cli_env, "phantom-funds", PHANTOM_FUNDS_CHECKS, "--home", str(home))
    assert "195,000,000.00" in out and "50,222,600.00" in out
    assert "start_of_day_must_be_once_per_node_and_date" in out
    assert "lease_epoch_must_be_current" in out
    assert "phantom money across all nodes: 0.00" in out
    assert "overdraft 0.00" in out
    # The drill's store stays for inspection: the nodes' claims still match the books.
    kept = signed_env({**cli_env, "CLEARWATCH_HOME": str(home)}, "BO:B001", Role.AUDITOR)
    check = _cli(kept, "intraday", "check", "--broker", "B001", "--date", "2026-11-20")
    assert check.returncode == 0, check.stderr
    assert "conservation holds for 2 clients" in check.stdout


def test_the_duplicate_import_drill_charges_the_file_total_once(cli_env: dict[str, str]) -> None:
    out = _passes(cli_env, "duplicate-import", DUPLICATE_IMPORT_CHECKS)
    assert "charged 272,500.00 in all" in out
    assert "append-only" in out
    assert "one_batch_per_kind_and_date_unless_approved_correction" in out


def test_the_overdraft_advance_drill_books_covers_halts_and_the_monitor_sees_f2(
    cli_env: dict[str, str],
) -> None:
    out = _passes(cli_env, "overdraft-advance", OVERDRAFT_ADVANCE_CHECKS)
    assert "client_cash_overdrawn_by_executions" in out
    assert "***02 cash -500,314.10" in out and "receivable from ***02" in out


ORG = ("--org", "BO:B001")


def _register(env: dict[str, str], *users: tuple[str, str]) -> None:
    """root, the store's first admin, then each (user, role) registered by root."""
    assert _cli(env, "user", "add", "root", "--role", "admin", *ORG, "--machine").returncode == 0
    for user, role in users:
        added = _cli(as_user(env, "root"), "user", "add", user, "--role", role, *ORG, "--machine")
        assert added.returncode == 0, added.stderr


def test_approvals_from_the_command_line_keep_maker_and_checker_apart(
    cli_env: dict[str, str],
) -> None:
    assert _cli(cli_env, "init").returncode == 0
    _register(cli_env, ("mia", "maker"), ("chen", "checker"))
    mia, chen, root = (as_user(cli_env, user) for user in ("mia", "chen", "root"))
    eve = _cli(mia, "user", "add", "eve", "--role", "checker", *ORG, "--machine")
    assert eve.returncode == 3 and "policy_must_allow_action" in eve.stderr
    payload = '{"amount": "100.00"}'
    requested = _cli(
        mia, "approvals", "request", "manual_adjustment", "adj:1", "--payload", payload
    )
    assert requested.returncode == 0, requested.stderr
    own = _cli(mia, "approvals", "approve", "1")
    assert own.returncode == 3 and "checker_must_not_be_maker" in own.stderr
    admin = _cli(root, "approvals", "approve", "1")
    assert admin.returncode == 3 and "admin_must_not_approve" in admin.stderr
    assert "adj:1" in _cli(chen, "approvals", "list").stdout
    approved = _cli(chen, "approvals", "approve", "1")
    assert approved.returncode == 0 and "approved by chen" in approved.stdout
    assert "adj:1" not in _cli(chen, "approvals", "list").stdout
    assert "approved" in _cli(chen, "approvals", "list", "--all").stdout
    users = _cli(root, "user", "list").stdout
    assert "operator" in users and "checker" in users


def test_an_emergency_grant_from_the_command_line_lapses_by_itself(
    cli_env: dict[str, str],
) -> None:
    _cli(cli_env, "init")
    _register(cli_env, ("mia", "maker"), ("chen", "checker"), ("ana", "auditor"))
    root, chen, mia, ana = (as_user(cli_env, u) for u in ("root", "chen", "mia", "ana"))
    grant = _cli(
        root, "user", "emergency-grant", "ana", "checker", "--hours", "1",
        "--reason", "both checkers ill",
    )  # fmt: skip
    assert grant.returncode == 0, grant.stderr
    assert _cli(chen, "approvals", "approve", "1").returncode == 0
    assert "checker until" in _cli(root, "user", "list").stdout
    _cli(mia, "approvals", "request", "override", "node:fast-1/takeover")
    # A replay time can neither stretch nor revive a grant: `--at` is refused here.
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    replayed = _cli(ana, "approvals", "approve", "2", "--at", later)
    assert replayed.returncode == 3 and "at_must_not_set_security_time" in replayed.stderr
    assert _cli(ana, "approvals", "approve", "2").returncode == 0


def test_no_path_grants_a_role_past_the_cap_or_outside_the_organisation(
    cli_env: dict[str, str],
) -> None:
    _cli(cli_env, "init")
    _register(cli_env, ("ana", "auditor"))
    root = as_user(cli_env, "root")
    until_2099 = '{"user": "ana", "role": "checker", "expires_at": "2099-01-01T00:00:00+08:00"}'
    forever = _cli(
        root, "approvals", "request", "emergency_grant", "user:ana/role:checker",
        "--payload", until_2099,
    )  # fmt: skip
    assert forever.returncode == 3 and "grant_must_not_exceed_hours_max" in forever.stderr
    long = _cli(root, "user", "emergency-grant", "ana", "checker", "--hours", "25", "--reason", "r")
    assert long.returncode == 3 and "grant_must_not_exceed_hours_max" in long.stderr
    analyst = _cli(
        root, "user", "emergency-grant", "ana", "analyst", "--hours", "2", "--reason", "r"
    )
    assert analyst.returncode == 3 and "role_must_be_valid_in_organisation" in analyst.stderr
    assert "access.denied" not in _cli(root, "audit", "show").stdout
    assert "emergency_grant" not in _cli(root, "approvals", "list", "--all").stdout
