"""Whole market days from the simulator through the back office and the monitor.

Each fault kind runs one short simulated day (two for the timing difference) and the outcome is
checked against the expectation the simulator's oracle wrote from the spec.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clearwatch.domain.shared.calendar import BusinessCalendar
from clearwatch.sim.faults import CATALOGUE
from tests.scenarios.market import Run, csv_rows, outcome, run_market

BROKER_FILES = (
    "client_funds.csv",
    "special_accounts.csv",
    "settlement_reserve.csv",
    "fee_income.csv",
)


def _same_package(produced: Path, expected: Path) -> None:
    for name in BROKER_FILES:
        assert sorted(map(sorted, (r.items() for r in csv_rows(produced / name)))) == sorted(
            map(sorted, (r.items() for r in csv_rows(expected / name)))
        ), f"{produced / name} differs from the simulator's expectation"


def _produced(run: Run, broker: str, day: str) -> Path:
    return run.app.settings.home / "out" / broker / day / "package"


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_market(tmp_path_factory.mktemp("clean"), days=3, size={"brokers": 3, "banks": 3})


def test_the_back_office_books_a_clean_market_exactly_as_the_simulator_expects(
    clean_run: Run,
) -> None:
    assert clean_run.log.eod_refused == []
    for day in clean_run.dates:
        for broker in ("B001", "B002", "B003"):
            _same_package(
                _produced(clean_run, broker, day), clean_run.market / day / "expected" / broker
            )


def test_every_package_of_a_clean_market_is_accepted(clean_run: Run) -> None:
    assert clean_run.log.unexpected_receipts == []
    assert clean_run.log.receipts == {"accepted": 3 * (3 + 3 + 1)}


def test_a_batch_delivered_four_times_is_booked_once(tmp_path: Path) -> None:
    run = run_market(tmp_path, faults="duplicate_import")
    day = run.dates[-1]
    _same_package(_produced(run, "B001", day), run.market / day / "expected" / "B001")


def test_a_deposit_booked_across_the_cut_off_is_booked_by_the_broker_the_next_day(
    tmp_path: Path,
) -> None:
    run = run_market(tmp_path, faults="timing_difference", days=2)
    for day in run.dates:
        _same_package(_produced(run, "B001", day), run.market / day / "expected" / "B001")


@pytest.mark.parametrize("fault", ["phantom_funds", "overdraft"])
def test_clearwatch_s_back_office_books_an_overdrawing_batch_and_advances_own_funds(
    tmp_path: Path, fault: str
) -> None:
    """The exchange filled the trades: the books take them, own funds cover the shortfall
    (垫付), and the package shows the negative balances the simulator expects."""
    run = run_market(tmp_path, faults=fault)
    assert run.log.eod_refused == []
    day = run.dates[-1]
    _same_package(_produced(run, "B001", day), run.market / day / "expected" / "B001")
    injected = run.faults(day)["faults"][0]["injected"]
    with run.app.uow() as uow:
        halted = uow.intraday.halted(broker_id="B001", business_date=_next_business_day(day))
    assert halted == set(injected["fund_accounts"])


def _next_business_day(day: str) -> date:
    return BusinessCalendar().next_business_day(date.fromisoformat(day))


def test_a_clean_multi_day_market_raises_no_warning_at_all(clean_run: Run) -> None:
    for day in clean_run.dates:
        found = outcome(clean_run.monitor(day).document)
        assert found == {"institutions": {}, "reminders": []}, day


@pytest.mark.parametrize("fault", [kind.name for kind in CATALOGUE])
def test_each_fault_gives_the_monitor_s_expected_findings_levels_amounts_and_routes(
    tmp_path: Path, fault: str
) -> None:
    """Books → packages → monitor, against the expectation the simulator wrote from the spec."""
    days = 2 if fault == "timing_difference" else 1
    run = run_market(tmp_path, faults=fault, days=days)
    assert run.log.eod_refused == [] and run.log.unexpected_receipts == []
    for day in run.dates:
        expected = outcome(run.faults(day)["expected"])
        found = outcome(run.monitor(day).document)
        assert found == expected, f"{fault} on {day}"
    injected_day = run.dates[0]
    assert [f["fault"] for f in run.faults(injected_day)["faults"]] == [fault]


def test_an_overdrawn_broker_is_on_time_and_warned_for_the_overdraft_and_the_pool_gap(
    tmp_path: Path,
) -> None:
    """The broker that advanced its own funds files on time: the monitor sees F2 (G3) and, as
    the advance moves no money into the reserve on D, F3 — never a missing package."""
    run = run_market(tmp_path, faults="phantom_funds")
    document = run.monitor(run.dates[0]).document
    assert outcome(document)["reminders"] == []
    assert document.get("missing_packages", []) == []
    found = outcome(document)["institutions"]["B001"]
    assert [code for code, _ in found["findings"]] == ["F2", "F3"]
    assert any("G3" in criteria for _, criteria, _, _ in found["warnings"])
