"""`clearwatch cases reminders`: a bureau lists its verbal reminders and marks one done."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from tests.integration.monitor.conftest import load
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS
from tests.support.identities import signed_env
from tests.support.packages import write_registry


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_a_bureau_marks_its_reminder_done_and_the_institution_only_reads_it(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    app = build_application(Settings.from_environment(cli_env))
    app.init_schema()
    assert load(app, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)).loaded
    with app.uow() as uow:
        uow.reporting.record_occurrence(
            institution_id="B001", category=ReportingCategory.BATCH_ERROR, business_date=DAY,
            package_kind="broker_daily", occurred_at=datetime(2026, 11, 20, 18, 0,
                                                              tzinfo=SHANGHAI),
            detail="rejected",
        )  # fmt: skip
        uow.commit()
    app.dispose()
    bureau = signed_env(cli_env, "CN-SH", Role.BUREAU_ANALYST)
    listed = clearwatch(bureau, "cases", "reminders", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [task] = json.loads(listed.stdout)
    assert (task["institution_id"], task["bureau"], task["done_by"]) == ("B001", "CN-SH", None)
    assert task["due_at"].startswith("2026-11-24T17:00:00")

    officer = signed_env(cli_env, "B001", Role.OFFICER)
    own = json.loads(clearwatch(officer, "cases", "reminders", "list", "--json").stdout)
    assert [r["reminder_id"] for r in own] == [task["reminder_id"]]
    refused = clearwatch(officer, "cases", "reminders", "done", str(task["reminder_id"]),
                         "--note", "mine")  # fmt: skip
    assert refused.returncode == 3 and "policy_must_allow_action" in refused.stderr

    done = clearwatch(bureau, "cases", "reminders", "done", str(task["reminder_id"]),
                      "--note", "已电话提醒")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"reminder {task['reminder_id']} of B001 done (CN-SH)" in done.stdout
    again = clearwatch(bureau, "cases", "reminders", "done", str(task["reminder_id"]),
                       "--note", "again")  # fmt: skip
    assert again.returncode != 0 and "reminder_must_not_be_done_already" in again.stderr
    [marked] = json.loads(clearwatch(bureau, "cases", "reminders", "list", "--json").stdout)
    assert (marked["done_by"], marked["note"]) == ("cn-sh-bureau_analyst", "已电话提醒")
