"""The intake repositories on SQLite and PostgreSQL: registry versions, packages, reporting."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from tests.integration.monitor.conftest import context, load
from tests.support.identities import submit_as_owner
from tests.support.packages import DEFAULT_INSTITUTIONS, write_package, write_registry

DAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, 18, tzinfo=SHANGHAI)


def test_loading_a_changed_registry_adds_a_version_and_keeps_history(
    app: Application, tmp_path: Path
) -> None:
    first = load(app, write_registry(tmp_path / "r1"))
    same = load(app, write_registry(tmp_path / "r1b"))
    extra = (*DEFAULT_INSTITUTIONS, ("B003", "broker", "新证券", "CITY-NB"))
    changed = load(app, write_registry(tmp_path / "r2", institutions=extra, holidays=[DAY]))
    assert (first.version, first.changed) == (1, True)
    assert (same.version, same.changed) == (1, False)
    assert (changed.version, changed.changed) == (2, True)
    with app.read_uow() as uow:
        current = uow.registry.current()
        history = uow.registry.history()
        actions = [record.action for record in uow.audit.latest(limit=3)]
    assert current is not None and current.version == 2
    assert current.institution("B003") is not None
    assert current.holidays == (DAY,)
    assert [(v.version, v.institutions, v.holidays) for v in history] == [(1, 5, 0), (2, 6, 1)]
    assert actions == ["monitor.registry.load"] * 3


def test_a_bad_registry_loads_nothing_and_is_audited(app: Application, tmp_path: Path) -> None:
    bad = (*DEFAULT_INSTITUTIONS, ("B003", "broker", "新证券", "Mars"))
    result = load(app, write_registry(tmp_path / "r", institutions=bad))
    assert not result.loaded and result.errors[0].line == 7
    with app.read_uow() as uow:
        assert uow.registry.current() is None
        assert uow.audit.latest(limit=1)[0].action == "monitor.registry.reject"


def test_packages_round_trip_and_latest_accepted_picks_the_highest_sequence(
    app: Application, tmp_path: Path
) -> None:
    load(app, write_registry(tmp_path / "r"))
    header = "broker_id,market,balance\n"
    one = write_package(
        tmp_path / "a",
        "csdc_daily",
        "C001",
        DAY,
        {"settlement_reserve.csv": header + "B001,SH,1.00\n"},
    )
    two = write_package(
        tmp_path / "b",
        "csdc_daily",
        "C001",
        DAY,
        {"settlement_reserve.csv": header + "B001,SH,2.00\n"},
        sequence=2,
    )
    first = submit_as_owner(app, one, context(app))
    second = submit_as_owner(app, two, context(app))
    assert first.status is second.status is ReceiptStatus.ACCEPTED
    with app.read_uow() as uow:
        [latest] = uow.packages.latest_accepted(DAY)
        receipts = uow.packages.receipts(business_date=DAY, institution_id="C001")
        nothing = uow.packages.receipts(institution_id="B001")
    assert latest.package_id == second.package_id
    assert latest.supersedes_package_id == first.package_id
    assert latest.row_counts == {"settlement_reserve.csv": 1}
    assert latest.received_at == app.clock.now()
    assert [(r.status, r.sequence, r.rows) for r in receipts] == [
        ("superseded", 1, 1),
        ("accepted", 2, 1),
    ]
    assert nothing == []


def test_packages_are_append_only_at_the_database(app: Application, tmp_path: Path) -> None:
    load(app, write_registry(tmp_path / "r"))
    package = write_package(
        tmp_path / "a",
        "csdc_daily",
        "C001",
        DAY,
        {"settlement_reserve.csv": "broker_id,market,balance\n"},
    )
    submit_as_owner(app, package, context(app))
    with pytest.raises(DBAPIError), app.uow() as uow:
        uow.connection.execute(text("UPDATE monitor_packages SET late = true"))


def test_an_occurrence_is_recorded_once_per_institution_date_kind_and_category(
    app: Application,
) -> None:
    with app.uow() as uow:
        args = dict(institution_id="B001", business_date=DAY, occurred_at=AT, detail="d")
        first = uow.reporting.record_occurrence(
            category=ReportingCategory.LATE, package_kind="broker_daily", **args
        )
        again = uow.reporting.record_occurrence(
            category=ReportingCategory.LATE, package_kind="broker_daily", **args
        )
        other_kind = uow.reporting.record_occurrence(
            category=ReportingCategory.LATE, package_kind="bank_daily", **args
        )
        other_category = uow.reporting.record_occurrence(
            category=ReportingCategory.BATCH_ERROR, package_kind="broker_daily", **args
        )
        next_year = uow.reporting.record_occurrence(
            category=ReportingCategory.LATE,
            package_kind="broker_daily",
            **(args | {"business_date": date(2027, 1, 4)}),
        )
        uow.commit()
    assert (first, again, other_kind, other_category, next_year) == (True, False, True, True, True)
    with app.read_uow() as uow:
        late_2026 = uow.reporting.count_occurrences(
            institution_id="B001", category=ReportingCategory.LATE, year=2026
        )
        assert len(uow.reporting.occurrences(DAY)) == 3
        assert len(uow.reporting.reminders()) == 4
    assert late_2026 == 2


def test_a_second_insert_of_the_same_identity_is_a_conflict_not_a_second_row(
    app: Application, tmp_path: Path
) -> None:
    from clearwatch.domain.monitor.manifest import Manifest, ManifestFile
    from clearwatch.services.monitor.ports import NewPackage, PackageConflictError

    manifest = Manifest(
        "csdc_daily",
        "C001",
        DAY,
        1,
        "utf-8",
        (ManifestFile("settlement_reserve.csv", "a" * 64, 0),),
    )
    package = NewPackage(
        manifest,
        AT,
        False,
        None,
        None,
        {"settlement_reserve.csv": "b" * 64},
        {"settlement_reserve.csv": 0},
    )
    with app.uow() as uow:
        uow.packages.add_accepted(package)
        uow.commit()
    with pytest.raises(PackageConflictError), app.uow() as uow:
        uow.packages.add_accepted(package)
    with app.read_uow() as uow:
        assert len(uow.packages.latest_accepted(DAY)) == 1


def test_a_rejection_then_a_late_acceptance_record_one_occurrence_each(
    registered: Application, tmp_path: Path
) -> None:
    from clearwatch.adapters.clock import FixedClock

    assert isinstance(registered.clock, FixedClock)
    registered.clock.at = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
    header = "broker_id,market,balance\n"
    bad = write_package(
        tmp_path / "bad",
        "csdc_daily",
        "C001",
        DAY,
        {"settlement_reserve.csv": header + "B001,HK,1.00\n"},
    )
    good = write_package(
        tmp_path / "good",
        "csdc_daily",
        "C001",
        DAY,
        {"settlement_reserve.csv": header + "B001,SH,1.00\n"},
    )
    rejected = submit_as_owner(registered, bad, context(registered))
    accepted = submit_as_owner(registered, good, context(registered))
    assert rejected.status is ReceiptStatus.REJECTED
    assert accepted.status is ReceiptStatus.ACCEPTED and accepted.late is True
    with registered.read_uow() as uow:
        categories = sorted(o.category.value for o in uow.reporting.occurrences(DAY))
        reminders = uow.reporting.reminders(DAY)
        rows = {row.status: row for row in uow.packages.receipts(business_date=DAY)}
    assert categories == ["BATCH_ERROR", "LATE"]
    assert len(reminders) == 2
    assert rows["rejected"].first_error == "value_must_be_one_of_choices"
    assert rows["accepted"].late is True


@pytest.mark.parametrize("file_name", ["fund_actions.csv", "special_account_balances.csv"])
def test_a_bank_s_branch_region_must_be_a_bureau_s_code(
    registered: Application, tmp_path: Path, file_name: str
) -> None:
    """A bank's warning goes to the bureau of the branch region its rows name: a region no
    bureau has would route a warning nobody can read, so the package is refused there."""
    rows = {
        "fund_actions.csv": "action_id,broker_id,fund_account,action,amount,initiator,"
        "legal_basis,branch_region\nX1,B001,A1,freeze,10.00,bank,,CN-SH\n"
        "X2,B001,A2,deduct,20.00,bank,,shanghai\n",
        "special_account_balances.csv": "account_no,broker_id,purpose,branch_region,balance\n"
        "S1,B001,client_settlement,CN-XX,1.00\n",
    }
    bad = write_package(tmp_path / "bad", "bank_daily", "K001", DAY, {file_name: rows[file_name]})
    receipt = submit_as_owner(registered, bad, context(registered))
    assert receipt.status is ReceiptStatus.REJECTED
    [error] = receipt.errors
    line = 3 if file_name == "fund_actions.csv" else 2
    assert (error.code, error.file, error.line, error.column) == (
        "value_must_be_one_of_choices", file_name, line, "branch_region"
    )  # fmt: skip
