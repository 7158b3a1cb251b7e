"""`clearwatch monitor` as a submitter and an analyst drive it, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.cli.common import EXIT_REJECTED
from tests.support.identities import SUPERSEDE_REASON, signed_env
from tests.support.packages import write_package, write_registry

DAY = date(2026, 11, 20)
FUNDS_HEADER = "fund_account,client_id,account_kind,bank_id,balance"


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_registry_load_show_and_reload(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    officer = signed_env(cli_env, "SIPF", Role.REGISTRY_OFFICER)
    directory = write_registry(tmp_path / "registry", holidays=["2026-10-01"])
    first = clearwatch(officer, "monitor", "registry", "load", str(directory))
    again = clearwatch(officer, "monitor", "registry", "load", str(directory))
    shown = clearwatch(officer, "monitor", "registry", "show")
    assert first.returncode == 0 and "new version 1" in first.stdout
    assert again.returncode == 0 and "unchanged, still version 1" in again.stdout
    assert "示例证券" in shown.stdout and "CITY-SZ" in shown.stdout
    assert "2026-10-01" in shown.stdout


def test_a_bad_registry_is_refused_with_file_and_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    directory = write_registry(tmp_path / "registry", institutions=[("B001", "broker", "x", "XX")])
    officer = signed_env(cli_env, "SIPF", Role.REGISTRY_OFFICER)
    result = clearwatch(officer, "monitor", "registry", "load", str(directory))
    assert result.returncode == EXIT_REJECTED
    assert "institutions.csv:2 [region]: region_must_be_a_bureau" in result.stderr


def test_submit_prints_one_json_receipt_and_exits_by_status(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    registry_officer = signed_env(cli_env, "SIPF", Role.REGISTRY_OFFICER)
    clearwatch(registry_officer, "monitor", "registry", "load", str(write_registry(tmp_path / "r")))
    submitter = signed_env(cli_env, "B001", Role.SUBMITTER)
    officer = signed_env(cli_env, "B001", Role.OFFICER)  # a later sequence supersedes: its officer
    analyst = signed_env(cli_env, "SIPF", Role.ANALYST)
    good = write_package(
        tmp_path / "good",
        "broker_daily",
        "B001",
        DAY,
        {"client_funds.csv": f"{FUNDS_HEADER}\nFA1,客户,normal,K001,1.00\n"},
        encoding="gb18030",
    )
    bad = write_package(
        tmp_path / "bad",
        "broker_daily",
        "B001",
        DAY,
        {"client_funds.csv": f"{FUNDS_HEADER}\nFA1,C1,normal,K001,1\n"},
        sequence=2,
    )
    at = ("--at", "2026-11-23T09:30:00+08:00")
    accepted = clearwatch(submitter, "monitor", "submit", str(good), *at)
    duplicate = clearwatch(submitter, "monitor", "submit", str(good), *at)
    rejected = clearwatch(officer, "monitor", "submit", str(bad), *at, "--reason", SUPERSEDE_REASON)
    assert accepted.returncode == 0, accepted.stderr
    assert duplicate.returncode == 0
    assert rejected.returncode == EXIT_REJECTED
    receipts = [json.loads(r.stdout) for r in (accepted, duplicate, rejected)]
    assert [r["status"] for r in receipts] == ["accepted", "duplicate", "rejected"]
    assert receipts[0]["late"] is True
    assert receipts[0]["package"]["institution_id"] == "B001"
    [error] = receipts[2]["errors"]
    assert error == {
        "code": "amount_must_have_digits_dot_two_decimals",
        "file": "client_funds.csv",
        "line": 2,
        "column": "balance",
        "column_number": 5,
        "message": error["message"],
    }
    listing = clearwatch(analyst, "monitor", "packages", "--date", "2026-11-20")
    assert listing.returncode == 0
    assert "accepted" in listing.stdout and "rejected" in listing.stdout
    assert "late" in listing.stdout
    other = clearwatch(analyst, "monitor", "packages", "--institution", "K001")
    assert other.returncode == 0
    assert "package:" not in other.stdout


def test_submitting_a_missing_directory_is_a_rejection_not_a_crash(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    submitter = signed_env(cli_env, "B001", Role.SUBMITTER)  # the rejection is its own
    result = clearwatch(submitter, "monitor", "submit", str(tmp_path / "nowhere"))
    assert result.returncode == EXIT_REJECTED
    assert json.loads(result.stdout)["errors"][0]["code"] == "manifest_must_exist"
