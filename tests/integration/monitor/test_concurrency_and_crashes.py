"""Two submits at once, and a submit killed mid-way, leave a consistent store."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.db.monitor.intake_tables import packages
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import CRASH_AT as CRASH_VARIABLE
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.chain import verify_chain
from clearwatch.domain.monitor.receipt import Receipt, ReceiptStatus
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from tests.integration.monitor.conftest import context, load
from tests.support.identities import gate_of, signed_env, submit_as_owner
from tests.support.packages import write_package, write_registry

DAY = date(2026, 11, 20)
FUNDS = "fund_account,client_id,account_kind,bank_id,balance\n" + "".join(
    f"FA{n},C{n},normal,K001,{n}.00\n" for n in range(2000)
)


def test_two_submits_of_one_package_at_once_give_one_accepted_and_one_duplicate(
    registered: Application, tmp_path: Path
) -> None:
    package = write_package(
        tmp_path / "p", "broker_daily", "B001", DAY, {"client_funds.csv": FUNDS}
    )
    gate_of(registered, "B001", Role.SUBMITTER)  # registered once, before the race
    # Each thread has its own engine, as two server processes would.
    apps = [build_application(registered.settings, registered.clock) for _ in range(2)]
    barrier = threading.Barrier(2)
    receipts: list[Receipt] = []

    def run(app: Application) -> None:
        barrier.wait()
        receipts.append(submit_as_owner(app, package, context(app)))

    threads = [threading.Thread(target=run, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for app in apps:
        app.engine.dispose()
    assert sorted(r.status.value for r in receipts) == ["accepted", "duplicate"]
    assert receipts[0].package_id == receipts[1].package_id
    with registered.read_uow() as uow:
        assert len(uow.packages.receipts()) == 1


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point", ["after_publish", "before_commit"])
def test_a_submit_killed_mid_way_leaves_the_store_consistent_and_can_be_retried(
    cli_env: dict[str, str], tmp_path: Path, point: str
) -> None:
    app = build_application(Settings.from_environment(cli_env))
    app.init_schema()
    assert load(app, write_registry(tmp_path / "r")).loaded
    package = write_package(
        tmp_path / "p", "broker_daily", "B001", DAY, {"client_funds.csv": FUNDS}
    )
    # Only the submit that dies runs in its own process: SIGKILL allows no cleanup at all.
    signed = signed_env(cli_env, "B001", Role.SUBMITTER)
    killed = clearwatch(signed | {CRASH_VARIABLE: point}, "monitor", "submit", str(package))
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout == ""
    with app.read_uow() as uow:
        assert uow.packages.receipts() == []
        assert verify_chain(uow.audit.records()).first_break is None
    retried = submit_as_owner(app, package, context(app))
    assert retried.status is ReceiptStatus.ACCEPTED
    with app.read_uow() as uow:
        [stored] = uow.packages.latest_accepted(DAY)
    assert app.columnar.read_table(stored.parquet_digests["client_funds.csv"]).num_rows == 2000
    app.engine.dispose()


def _an_attempt_killed_before_its_commit(app: Application) -> None:
    """What a submit killed at `before_commit` leaves: its package row inserted, never
    committed. On PostgreSQL the id it drew from the sequence is gone with it."""
    with app.engine.connect() as connection:
        attempt = connection.begin()
        connection.execute(
            insert(packages).values(
                kind="broker_daily",
                institution_id="B001",
                business_date=DAY,
                sequence=1,
                content_sha256="0" * 64,
                encoding="utf-8",
                received_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
                late=True,
            )
        )
        attempt.rollback()


def test_a_late_package_retried_after_a_killed_submit_records_what_a_clean_submit_records(
    registered: Application, tmp_path: Path
) -> None:
    # The crash harness once saw a re-run's LATE occurrence differ from the clean run's: it
    # named the package by its row id ("package 5 received … after the deadline"), and a
    # retry after a kill may be stored under another id than the clean run's.
    assert isinstance(registered.clock, FixedClock)
    registered.clock.at = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)  # Friday's due 09:00
    package = write_package(
        tmp_path / "p", "broker_daily", "B001", DAY, {"client_funds.csv": FUNDS}
    )
    _an_attempt_killed_before_its_commit(registered)
    retried = submit_as_owner(registered, package, context(registered))
    assert retried.status is ReceiptStatus.ACCEPTED and retried.late
    with registered.read_uow() as uow:
        [occurrence] = uow.reporting.occurrences(DAY)
    assert occurrence.category is ReportingCategory.LATE
    assert occurrence.detail == (
        "broker_daily of B001 for 2026-11-20, sequence 1 "
        "received 2026-11-23T09:30:00+08:00 after the deadline"
    )
