"""The incident drills and maker-checker as a user drives them: the CLI in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.drills import DUPLICATE_IMPORT_CHECKS, PHANTOM_FUNDS_CHECKS


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _passes(
    env: dict[str, str], drill: str, checks: tuple[tuple[str, str], ...], *options: str
) -> str:
    """Run the drill; it must pass and print exactly these checks, each `ok name (figure)`."""
    done = _cli(env, "drill", drill, *options)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "PASS"
    printed = lines[lines.index("Checks:") + 1 : -1]
    assert [line.split(maxsplit=1) for line in printed] == [
        ["ok", f"{name} ({figure})"] for name, figure in checks
    ]
    assert "[control:" in done.stdout
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
    kept = {**cli_env, "CLEARWATCH_HOME": str(home)}
    check = _cli(kept, "intraday", "check", "--broker", "B001", "--date", "2026-11-20")
    assert check.returncode == 0, check.stderr
    assert "conservation holds for 2 clients" in check.stdout


def test_the_duplicate_import_drill_charges_the_file_total_once(cli_env: dict[str, str]) -> None:
    out = _passes(cli_env, "duplicate-import", DUPLICATE_IMPORT_CHECKS)
    assert "charged 272,500.00 in all" in out
    assert "append-only" in out
    assert "one_batch_per_kind_and_date_unless_approved_correction" in out


ORG = ("--org", "BO:B001")


def test_approvals_from_the_command_line_keep_maker_and_checker_apart(
    cli_env: dict[str, str],
) -> None:
    assert _cli(cli_env, "init").returncode == 0
    assert _cli(cli_env, "user", "add", "root", "--role", "admin", *ORG).returncode == 0
    for user, role in (("mia", "maker"), ("chen", "checker")):
        added = _cli(cli_env, "user", "add", user, "--role", role, *ORG, "--as", "root")
        assert added.returncode == 0
    eve = _cli(cli_env, "user", "add", "eve", "--role", "checker", *ORG, "--as", "mia")
    assert eve.returncode == 3 and "policy_must_allow_action" in eve.stderr
    requested = _cli(
        cli_env,
        "approvals",
        "request",
        "manual_adjustment",
        "adj:1",
        "--as",
        "mia",
        "--payload",
        '{"amount": "100.00"}',
    )
    assert requested.returncode == 0, requested.stderr
    own = _cli(cli_env, "approvals", "approve", "1", "--as", "mia")
    assert own.returncode == 3 and "checker_must_not_be_maker" in own.stderr
    admin = _cli(cli_env, "approvals", "approve", "1", "--as", "root")
    assert admin.returncode == 3 and "admin_must_not_approve" in admin.stderr
    assert "adj:1" in _cli(cli_env, "approvals", "list").stdout
    approved = _cli(cli_env, "approvals", "approve", "1", "--as", "chen")
    assert approved.returncode == 0 and "approved by chen" in approved.stdout
    assert "adj:1" not in _cli(cli_env, "approvals", "list").stdout
    assert "approved" in _cli(cli_env, "approvals", "list", "--all").stdout
    users = _cli(cli_env, "user", "list").stdout
    assert "operator" in users and "checker" in users


def test_an_emergency_grant_from_the_command_line_lapses_by_itself(
    cli_env: dict[str, str],
) -> None:
    _cli(cli_env, "init")
    _cli(cli_env, "user", "add", "root", "--role", "admin", *ORG)
    for user, role in (("mia", "maker"), ("chen", "checker"), ("ana", "auditor")):
        _cli(cli_env, "user", "add", user, "--role", role, *ORG, "--as", "root")
    grant = _cli(
        cli_env, "user", "emergency-grant", "ana", "checker", "--hours", "1",
        "--reason", "both checkers ill", "--as", "root",
    )  # fmt: skip
    assert grant.returncode == 0, grant.stderr
    assert _cli(cli_env, "approvals", "approve", "1", "--as", "chen").returncode == 0
    assert "checker until" in _cli(cli_env, "user", "list").stdout
    _cli(cli_env, "approvals", "request", "override", "node:fast-1/takeover", "--as", "mia")
    # A replay time can neither stretch nor revive a grant: `--at` is refused here.
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    replayed = _cli(cli_env, "approvals", "approve", "2", "--as", "ana", "--at", later)
    assert replayed.returncode == 3 and "at_must_not_set_security_time" in replayed.stderr
    assert _cli(cli_env, "approvals", "approve", "2", "--as", "ana").returncode == 0


def test_no_path_grants_a_role_past_the_cap_or_outside_the_organisation(
    cli_env: dict[str, str],
) -> None:
    _cli(cli_env, "init")
    _cli(cli_env, "user", "add", "root", "--role", "admin", *ORG)
    _cli(cli_env, "user", "add", "ana", "--role", "auditor", *ORG, "--as", "root")
    until_2099 = '{"user": "ana", "role": "checker", "expires_at": "2099-01-01T00:00:00+08:00"}'
    forever = _cli(
        cli_env, "approvals", "request", "emergency_grant", "user:ana/role:checker",
        "--payload", until_2099, "--as", "root",
    )  # fmt: skip
    assert forever.returncode == 3 and "grant_must_not_exceed_hours_max" in forever.stderr
    long = _cli(
        cli_env, "user", "emergency-grant", "ana", "checker", "--hours", "25",
        "--reason", "r", "--as", "root",
    )  # fmt: skip
    assert long.returncode == 3 and "grant_must_not_exceed_hours_max" in long.stderr
    analyst = _cli(
        cli_env, "user", "emergency-grant", "ana", "analyst", "--hours", "2",
        "--reason", "r", "--as", "root",
    )  # fmt: skip
    assert analyst.returncode == 3 and "role_must_be_valid_in_organisation" in analyst.stderr
    assert "access.denied" not in _cli(cli_env, "audit", "show").stdout
    assert "emergency_grant" not in _cli(cli_env, "approvals", "list", "--all").stdout
