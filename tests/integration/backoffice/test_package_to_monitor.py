"""The broker_daily package end of day writes is accepted by `clearwatch monitor submit`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.backoffice_batches import BROKER
from tests.integration.backoffice.eod_days import DAY_1, DAY_2, inbox_day_1, inbox_day_2
from tests.support.identities import signed_env

CLI = [sys.executable, "-m", "clearwatch.entrypoints.cli"]
AT = "2026-11-20T18:00:00+08:00"


def _registry(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "institutions.csv").write_text(
        "institution_id,kind,name,region\n"
        f"{BROKER},broker,Test Securities,CN-SH\nK001,bank,Test Bank,CN-SH\n"
        "CSDC,csdc,China Securities Depository and Clearing,CN-BJ\n"
    )
    (directory / "special_accounts.csv").write_text(
        "account_no,bank_id,broker_id,purpose,branch_region,filed_on\n"
        f"SA001,K001,{BROKER},client_settlement,CN-SH,2026-01-05\n"
    )
    return directory


def test_the_monitor_accepts_the_package_and_sees_a_duplicate_on_resubmission(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, check=False)

    # Two stores, as deployed: the broker's back office and the monitor, each with its users.
    back_office = {**cli_env, "CLEARWATCH_HOME": str(tmp_path / "back-office-home")}
    assert run(back_office, "init").returncode == 0
    assert run(cli_env, "init").returncode == 0
    operator = signed_env(back_office, f"BO:{BROKER}", Role.OPERATOR)
    registry_officer = signed_env(cli_env, "SIPF", Role.REGISTRY_OFFICER)
    submitter = signed_env(cli_env, BROKER, Role.SUBMITTER)  # the broker's reporting
    registry = str(_registry(tmp_path / "registry"))
    loaded = run(registry_officer, "monitor", "registry", "load", registry)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    for day, inbox in ((DAY_1, inbox_day_1(tmp_path)), (DAY_2, inbox_day_2(tmp_path))):
        eod = run(operator, "broker", "eod", "--date", day, "--inbox", str(inbox), "--at", AT)
        assert eod.returncode == 0, eod.stdout + eod.stderr
    package = Path(back_office["CLEARWATCH_HOME"]) / "out" / BROKER / DAY_2 / "package"
    first = run(submitter, "monitor", "submit", str(package), "--at", AT)
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads(first.stdout)["status"] == "accepted"
    again = run(submitter, "monitor", "submit", str(package), "--at", AT)
    assert json.loads(again.stdout)["status"] == "duplicate"
