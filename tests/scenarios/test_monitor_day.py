"""Monitor days end to end: packages through the real submit path, then `run_day` on DuckDB.

Each test starts from a clean market of two brokers (one in Shanghai, one in Shenzhen), two
banks and CSDC, changes what one scenario needs, and checks levels, criteria, amounts, routes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.engine.monitor.backends import DuckDBFindingsEngine
from clearwatch.adapters.rules_file import load_monitoring_rules
from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS
from clearwatch.services.monitor.run_day import RunDayContext, RunDayOutcome, run_day
from tests.integration.monitor.conftest import context as submit_context
from tests.integration.monitor.conftest import load
from tests.support.identities import submit_as_owner
from tests.support.packages import csv_text, write_package, write_registry

DAY = date(2026, 11, 20)  # a Friday: packages are due Monday 2026-11-23 09:00
SUBMITTED_AT = datetime(2026, 11, 20, 18, 0, tzinfo=SHANGHAI)
AFTER_DEADLINE = datetime(2026, 11, 23, 9, 0, 1, tzinfo=SHANGHAI)
BEFORE_DEADLINE = datetime(2026, 11, 23, 8, 59, tzinfo=SHANGHAI)

INSTITUTIONS = (
    ("B001", "broker", "上海证券", "CN-SH"),
    ("B002", "broker", "深圳证券", "CITY-SZ"),
    ("K001", "bank", "第一银行", "CN-BJ"),
    ("K002", "bank", "第二银行", "CN-GD"),
    ("C001", "csdc", "中国结算", "CN-BJ"),
)
FILINGS = (
    ("SA-001", "K001", "B001", "client_settlement", "CN-SH", "2026-01-05"),
    ("SA-002", "K001", "B001", "credit_guarantee", "CN-SH", "2026-01-05"),
    ("SA-003", "K002", "B002", "client_settlement", "CITY-SZ", "2026-02-02"),
)
KIND_OF = {"B": "broker_daily", "K": "bank_daily", "C": "csdc_daily"}

Rows = list[list[str]]


def clean_world() -> dict[str, dict[str, Rows]]:
    """Every balance agrees: no finding for anyone."""
    return {
        "B001": {
            "client_funds.csv": [
                ["A1", "c1", "normal", "K001", "1000.00"],
                ["A2", "c2", "credit", "K001", "500.00"],
            ],
            "special_accounts.csv": [
                ["SA-001", "K001", "client_settlement", "900.00"],
                ["SA-002", "K001", "credit_guarantee", "500.00"],
            ],
            "settlement_reserve.csv": [["SH", "100.00", "0.00"]],
            "fee_income.csv": [["normal", "0.00"]],
        },
        "B002": {
            "client_funds.csv": [["Z1", "z1", "normal", "K002", "2000.00"]],
            "special_accounts.csv": [["SA-003", "K002", "client_settlement", "2000.00"]],
            "settlement_reserve.csv": [["SH", "0.00", "0.00"]],
            "fee_income.csv": [],
        },
        "K001": {
            "special_account_balances.csv": [
                ["SA-001", "B001", "client_settlement", "CN-SH", "900.00"],
                ["SA-002", "B001", "credit_guarantee", "CN-SH", "500.00"],
            ],
            "special_account_transactions.csv": [],
            "client_depository.csv": [
                ["B001", "A1", "c1", "1000.00"],
                ["B001", "A2", "c2", "500.00"],
            ],
            "fund_actions.csv": [],
        },
        "K002": {
            "special_account_balances.csv": [
                ["SA-003", "B002", "client_settlement", "CITY-SZ", "2000.00"]
            ],
            "special_account_transactions.csv": [],
            "client_depository.csv": [["B002", "Z1", "z1", "2000.00"]],
            "fund_actions.csv": [],
        },
        "C001": {
            "settlement_reserve.csv": [
                ["B001", "SH", "100.00", "0.00"],
                ["B002", "SH", "0.00", "0.00"],
            ]
        },
    }


@dataclass
class Monitor:
    app: Application
    clock: FixedClock
    root: Path
    packages: int = 0
    sequence: dict[str, int] = field(default_factory=dict)

    def submit(self, institution: str, files: dict[str, Rows]) -> None:
        kind = KIND_OF[institution[0]]
        headers = {f.name: ",".join(f.column_names) for f in PACKAGE_SPECS[kind].files}
        self.packages += 1
        sequence = self.sequence.get(institution, 0) + 1
        self.sequence[institution] = sequence
        directory = write_package(
            self.root / f"p{self.packages}",
            kind,
            institution,
            DAY,
            {name: csv_text(headers[name], rows) for name, rows in files.items()},
            sequence=sequence,
        )
        self.clock.at = SUBMITTED_AT
        receipt = submit_as_owner(self.app, directory, submit_context(self.app))
        assert receipt.status.value == "accepted", receipt

    def submit_world(
        self, world: dict[str, dict[str, Rows]], *, skip: tuple[str, ...] = ()
    ) -> None:
        for institution, files in world.items():
            if institution not in skip:
                self.submit(institution, files)

    def run(self, at: datetime = AFTER_DEADLINE) -> RunDayOutcome:
        self.clock.at = at
        return run_day(
            business_date=DAY,
            actor="tester",
            context=RunDayContext(
                clock=self.clock,
                uow_factory=self.app.uow,
                columnar=self.app.columnar,
                engine=DuckDBFindingsEngine(),
                rules=load_monitoring_rules(),
            ),
        )


@pytest.fixture
def monitor(sqlite_app: Application, clock: FixedClock, tmp_path: Path) -> Iterator[Monitor]:
    result = load(sqlite_app, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS))
    assert result.loaded, result.errors
    yield Monitor(sqlite_app, clock, tmp_path / "packages")


@pytest.fixture
def monitor_on_both(app: Application, clock: FixedClock, tmp_path: Path) -> Iterator[Monitor]:
    """The monitor on SQLite and on PostgreSQL (when configured)."""
    result = load(app, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS))
    assert result.loaded, result.errors
    yield Monitor(app, clock, tmp_path / "packages")


def entry(outcome: RunDayOutcome, institution: str) -> dict[str, Any]:
    return next(i for i in outcome.document["institutions"] if i["institution_id"] == institution)


def amounts(outcome: RunDayOutcome, institution: str) -> dict[str, str]:
    return {f["code"]: f["amount"] for f in entry(outcome, institution)["findings"]}


def only_warning(outcome: RunDayOutcome, institution: str) -> dict[str, Any]:
    warnings = entry(outcome, institution)["warnings"]
    assert len(warnings) == 1, warnings
    return warnings[0]  # type: ignore[no-any-return]


def test_a_clean_day_lists_every_institution_and_warns_no_one(monitor: Monitor) -> None:
    monitor.submit_world(clean_world())
    outcome = monitor.run()
    document = outcome.document
    assert [i["institution_id"] for i in document["institutions"]] == [
        "B001", "B002", "C001", "K001", "K002",
    ]  # fmt: skip
    assert all(i["warnings"] == [] and i["findings"] == [] for i in document["institutions"])
    assert entry(outcome, "B001")["client_fund_balance"] == "1500.00"
    assert entry(outcome, "B001")["problem_ratio"] == "0.000000"
    assert document["missing_packages"] == [] and document["reminders"] == []
    json.dumps(document)  # the document is plain JSON


def test_a_gap_left_by_misappropriation_is_major_and_raises_a_special_report(
    monitor: Monitor,
) -> None:
    world = clean_world()
    world["K001"]["special_account_balances.csv"][0][4] = "800.00"
    world["K001"]["special_account_transactions.csv"] = [
        ["T1", "SA-001", "2026-11-20T10:00:00+08:00", "out", "100.00", "X9", "other"]
    ]
    monitor.submit_world(world)
    outcome = monitor.run()
    assert amounts(outcome, "B001") == {"F3": "100.00", "F4": "100.00", "F6": "100.00"}
    assert entry(outcome, "B001")["problem_amount"] == "100.00"  # the gap and its cause once
    assert entry(outcome, "B001")["problem_ratio"] == "0.066667"
    warning = only_warning(outcome, "B001")
    assert warning == {
        "level": "major", "criteria": ["M1", "G1", "A1"], "route_to": "CN-SH", "cc": "B001",
        "special_report": True, "problem_amount": "100.00",
    }  # fmt: skip
    f4 = next(f for f in entry(outcome, "B001")["findings"] if f["code"] == "F4")
    assert f4["evidence"]["largest"][0]["ref"] == "T1"


@pytest.mark.parametrize(
    ("overdraft", "ratio", "criteria", "level"),
    [
        ("500.00", "0.250000", ["M2", "G3"], "major"),
        ("499.99", "0.249995", ["G3"], "general"),
    ],
)
def test_a_problem_ratio_of_exactly_25_percent_is_major_and_just_below_is_not(
    monitor: Monitor, overdraft: str, ratio: str, criteria: list[str], level: str
) -> None:
    world = clean_world()
    world["B002"]["client_funds.csv"].append(["Z2", "z2", "normal", "K002", f"-{overdraft}"])
    monitor.submit_world(world)
    outcome = monitor.run()
    assert amounts(outcome, "B002") == {"F2": overdraft}
    assert entry(outcome, "B002")["problem_ratio"] == ratio
    warning = only_warning(outcome, "B002")
    assert warning["criteria"] == criteria and warning["level"] == level
    assert warning["route_to"] == "CITY-SZ"  # a Shenzhen broker goes to Shenzhen, not CN-GD


def _large_broker(world: dict[str, dict[str, Rows]], bank_balance: str) -> None:
    """B001 holds 400,000,000.00 for A1; the bank's depository says `bank_balance`."""
    world["B001"]["client_funds.csv"][0][4] = "400000000.00"
    world["B001"]["special_accounts.csv"][0][3] = "399999900.00"
    world["K001"]["special_account_balances.csv"][0][4] = "399999900.00"
    world["K001"]["client_depository.csv"][0][3] = bank_balance


@pytest.mark.parametrize(
    ("bank_balance", "difference", "criteria", "level"),
    [
        ("300000000.00", "100000000.00", ["G2", "A4", "A5"], "general"),
        ("300000000.01", "99999999.99", ["A4", "A5"], "attention"),
    ],
)
def test_a_problem_amount_of_100_million_is_general_and_a_fen_less_is_not(
    monitor: Monitor, bank_balance: str, difference: str, criteria: list[str], level: str
) -> None:
    world = clean_world()
    _large_broker(world, bank_balance)
    monitor.submit_world(world)
    outcome = monitor.run()
    assert amounts(outcome, "B001") == {"F1": difference}
    warning = only_warning(outcome, "B001")
    assert (warning["criteria"], warning["level"]) == (criteria, level)
    assert warning["problem_amount"] == difference


@pytest.mark.parametrize(
    ("bank_balance", "criteria"),
    [("399000000.00", ["A4", "A5"]), ("399000000.01", ["A4"])],
)
def test_a_problem_amount_of_one_million_needs_attention_and_a_fen_less_only_a4(
    monitor: Monitor, bank_balance: str, criteria: list[str]
) -> None:
    world = clean_world()
    _large_broker(world, bank_balance)
    monitor.submit_world(world)
    assert only_warning(monitor.run(), "B001")["criteria"] == criteria


@pytest.mark.parametrize(("clients", "criteria"), [(100, ["A4"]), (101, ["A4", "A6"])])
def test_more_than_100_clients_concerned_needs_attention(
    monitor: Monitor, clients: int, criteria: list[str]
) -> None:
    world = clean_world()
    # The bank holds one fen for clients the broker does not list: one F1 account each.
    world["K001"]["client_depository.csv"] += [
        ["B001", f"X{n:03d}", f"x{n}", "0.01"] for n in range(clients)
    ]
    monitor.submit_world(world)
    outcome = monitor.run()
    finding = entry(outcome, "B001")["findings"][0]
    assert (finding["code"], finding["evidence"]["items_count"]) == ("F1", clients)
    assert only_warning(outcome, "B001")["criteria"] == criteria


def test_fault_actions_warn_the_initiator_and_a_bank_once_per_branch_region(
    monitor: Monitor,
) -> None:
    world = clean_world()
    world["K001"]["fund_actions.csv"] = [
        ["X1", "B001", "A1", "freeze", "10.00", "bank", "", "CN-SH"],
        ["X2", "B001", "A2", "deduct", "20.00", "bank", "", "CITY-SZ"],
        ["X3", "B001", "A1", "freeze", "30.00", "bank", "", "CN-SH"],
        ["X4", "B001", "A1", "stop_payment", "40.00", "broker", "", "CN-SH"],
        ["X5", "B001", "A2", "freeze", "50.00", "court", "", "CN-SH"],
        ["X6", "B001", "A2", "freeze", "60.00", "bank", "(2026)沪01执12号", "CN-SH"],
    ]
    monitor.submit_world(world)
    outcome = monitor.run()
    bank = entry(outcome, "K001")
    assert {(w["route_to"], w["level"], tuple(w["criteria"]), w["problem_amount"])
            for w in bank["warnings"]} == {
        ("CN-SH", "general", ("G4",), "40.00"),
        ("CITY-SZ", "general", ("G4",), "20.00"),
    }  # fmt: skip
    assert all(w["cc"] == "K001" and not w["special_report"] for w in bank["warnings"])
    assert bank["problem_amount"] == "60.00" and bank["problem_ratio"] is None
    [f8] = bank["findings"]
    assert (f8["code"], f8["amount"], f8["evidence"]["by_region"]) == (
        "F8", "60.00", {"CITY-SZ": "20.00", "CN-SH": "40.00"},
    )  # fmt: skip
    assert [i["ref"] for i in f8["evidence"]["largest"]] == ["X3", "X2", "X1"]
    assert amounts(outcome, "B001") == {"F8": "40.00"}
    assert only_warning(outcome, "B001")["criteria"] == ["G4"]


def test_an_unfiled_account_a_missing_filing_and_a_reserve_difference_are_each_graded(
    monitor: Monitor,
) -> None:
    world = clean_world()
    world["K001"]["special_account_balances.csv"] = [
        ["SA-001", "B001", "client_settlement", "CN-SH", "900.00"],
        ["U-9", "B001", "client_settlement", "CN-SH", "7.00"],
    ]  # SA-002 (filed) is not reported; U-9 is not filed
    world["C001"]["settlement_reserve.csv"][0][2] = "99.00"
    monitor.submit_world(world)
    outcome = monitor.run()
    found = amounts(outcome, "B001")
    assert found["F5"] == "7.00" and found["F9"] == "1" and found["F7"] == "1.00"
    assert found["F3"] == "500.00"  # credit 500.00 uncovered; normal covered by U-9 and CSDC
    warning = only_warning(outcome, "B001")
    assert warning["criteria"] == ["M2", "G1", "G5", "A1", "A2", "A3"]


def test_a_day_is_judged_by_the_accounts_filed_by_then(
    sqlite_app: Application, clock: FixedClock, tmp_path: Path
) -> None:
    """Filed after D (the day is re-graded long after, at every case decision): U-9, which K001
    reported on D, is still unfiled that day (F5), and SA-009, which no bank could report on
    D, is not missing (no F9)."""
    later = (
        ("U-9", "K001", "B001", "client_settlement", "CN-SH", "2026-11-25"),
        ("SA-009", "K001", "B001", "client_settlement", "CN-SH", "2026-11-25"),
    )
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS + later)
    assert load(sqlite_app, registry).loaded
    monitor = Monitor(sqlite_app, clock, tmp_path / "packages")
    world = clean_world()
    world["K001"]["special_account_balances.csv"].append(
        ["U-9", "B001", "client_settlement", "CN-SH", "7.00"]
    )
    monitor.submit_world(world)
    found = amounts(monitor.run(), "B001")
    assert found.get("F5") == "7.00" and "F9" not in found


def test_outflows_to_the_broker_beyond_its_fees_without_a_gap_are_g7(monitor: Monitor) -> None:
    world = clean_world()
    world["B001"]["fee_income.csv"] = [["normal", "3.00"]]
    world["K001"]["special_account_transactions.csv"] = [
        ["T1", "SA-001", "2026-11-20T10:00:00+08:00", "out", "5.00", "OWN", "broker_own"],
        ["T2", "SA-001", "2026-11-20T11:00:00+08:00", "out", "9.00", "C", "client_bank"],
    ]
    monitor.submit_world(world)
    outcome = monitor.run()
    assert amounts(outcome, "B001") == {"F4": "2.00"}
    assert only_warning(outcome, "B001")["criteria"] == ["G7"]


def test_a_missing_bank_package_is_incomplete_late_and_no_false_mismatch(
    monitor: Monitor,
) -> None:
    monitor.submit_world(clean_world(), skip=("K002",))
    outcome = monitor.run(at=AFTER_DEADLINE)
    b002 = entry(outcome, "B002")
    assert b002["findings"] == [] and b002["warnings"] == []  # Z1 is not a mismatch
    missing = {(m["institution_id"], m["kind"]) for i in b002["incomplete"] for m in i["missing"]}
    assert missing == {("K002", "bank_daily")}
    assert {c for i in b002["incomplete"] for c in i["findings"]} >= {"F1", "F3", "F4"}
    assert entry(outcome, "K002")["incomplete"][0]["reason"] == "bank_daily not received"
    assert outcome.document["missing_packages"] == [
        {"institution_id": "K002", "kind": "bank_daily",
         "deadline_at": "2026-11-23T09:00:00+08:00", "late": True}
    ]  # fmt: skip
    assert outcome.document["reminders"] == [
        {"institution_id": "K002", "category": "LATE", "count_this_year": 1}
    ]
    assert outcome.late_recorded == 1


def test_a_missing_package_is_not_late_before_the_deadline(monitor: Monitor) -> None:
    monitor.submit_world(clean_world(), skip=("K002",))
    outcome = monitor.run(at=BEFORE_DEADLINE)
    assert outcome.document["missing_packages"][0]["late"] is False
    assert outcome.document["reminders"] == [] and outcome.late_recorded == 0


def _earlier_late(monitor: Monitor, count: int) -> None:
    with monitor.app.uow() as uow:
        for n in range(count):
            uow.reporting.record_occurrence(
                institution_id="K002",
                category=ReportingCategory.LATE,
                business_date=date(2026, 3, 2 + n),
                package_kind="bank_daily",
                occurred_at=datetime(2026, 3, 10, tzinfo=SHANGHAI),
                detail="earlier",
            )
        uow.commit()


@pytest.mark.parametrize(("earlier", "warned"), [(3, False), (4, True)])
def test_the_fifth_late_package_of_the_year_is_a_general_warning(
    monitor: Monitor, earlier: int, warned: bool
) -> None:
    _earlier_late(monitor, earlier)
    monitor.submit_world(clean_world(), skip=("K002",))
    outcome = monitor.run()
    assert outcome.document["reminders"][0]["count_this_year"] == earlier + 1
    warnings = entry(outcome, "K002")["warnings"]
    if warned:
        assert warnings == [
            {"level": "general", "criteria": ["G6"], "route_to": "CN-GD", "cc": "K002",
             "special_report": False, "problem_amount": "0.00"}
        ]  # fmt: skip
    else:
        assert warnings == []


def test_rerunning_a_day_is_idempotent_and_a_superseding_package_makes_a_new_version(
    monitor_on_both: Monitor,
) -> None:
    monitor = monitor_on_both
    world = clean_world()
    world["B002"]["client_funds.csv"].append(["Z2", "z2", "normal", "K002", "-1.00"])
    monitor.submit_world(world)
    first = monitor.run()
    again = monitor.run()
    assert (first.result_version, first.recorded) == (1, True)
    assert (again.result_version, again.recorded) == (1, False)
    with monitor.app.read_uow() as uow:
        assert len(uow.monitor_runs.warnings(business_date=DAY)) == 1
    corrected = copy.deepcopy(world["B002"])
    corrected["client_funds.csv"][1][4] = "0.00"
    monitor.submit("B002", corrected)
    third = monitor.run()
    assert (third.result_version, third.recorded) == (2, True)
    assert entry(third, "B002")["warnings"] == []
    with monitor.app.read_uow() as uow:
        assert uow.monitor_runs.warnings(business_date=DAY) == []  # the latest version
        assert uow.monitor_runs.latest(DAY).result_version == 2  # type: ignore[union-attr]
        actions = [r.action for r in uow.audit.latest(limit=50)]
    assert actions.count("monitor.run_day") == 2


def test_stored_results_and_warnings_refuse_update_and_delete(monitor: Monitor) -> None:
    world = clean_world()
    world["B002"]["client_funds.csv"].append(["Z2", "z2", "normal", "K002", "-1.00"])
    monitor.submit_world(world)
    monitor.run()
    for statement in (
        "UPDATE monitor_runs SET engine = 'x'",
        "DELETE FROM monitor_warnings",
    ):
        with (
            pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"),
            monitor.app.engine.begin() as connection,
        ):
            connection.execute(sqlalchemy.text(statement))
