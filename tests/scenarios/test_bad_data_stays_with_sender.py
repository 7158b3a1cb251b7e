"""Bad data stays with its sender: one institution's data cannot stop the day for the market."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearwatch.adapters.rules_file import load_monitoring_rules
from clearwatch.domain.monitor.findings import EngineRequest, EngineResult
from clearwatch.domain.shared.money import format_fen
from clearwatch.services.monitor.run_day import RunDayContext, RunDayError, run_day
from clearwatch.services.monitor.run_ports import ComparisonFailed
from tests.scenarios.test_monitor_day import (
    AFTER_DEADLINE,
    DAY,
    Monitor,
    amounts,
    clean_world,
    entry,
    monitor,
)

__all__ = ["monitor"]  # the fixture, used by name

LARGEST_VALUE = "9999999999999999.99"  # 16 integer digits: the grammar's largest amount


def test_thirteen_accounts_at_the_largest_value_mark_only_their_broker(monitor: Monitor) -> None:
    world = clean_world()
    world["B002"]["client_funds.csv"] += [
        [f"X{n:02}", f"x{n}", "normal", "K002", LARGEST_VALUE] for n in range(13)
    ]
    world["B001"]["client_funds.csv"].append(["A9", "c9", "normal", "K001", "-30.00"])
    monitor.submit_world(world)
    outcome = monitor.run()
    b002 = entry(outcome, "B002")
    # Summed exactly (13 × the largest amount + Z1's 2000.00), beyond what a result holds.
    exact = format_fen(13 * 999_999_999_999_999_999 + 200_000)
    assert b002["could_not_compare"].startswith("figures_must_fit_a_64_bit_result")
    assert exact in b002["could_not_compare"]
    assert b002["findings"] == [] and b002["warnings"] == []
    assert b002["client_fund_balance"] is None
    assert amounts(outcome, "B001") == {"F2": "30.00"}
    assert entry(outcome, "B001")["warnings"][0]["criteria"] == ["G3"]
    assert "could_not_compare" not in entry(outcome, "B001")


def _stored_file(monitor: Monitor, institution: str, name: str) -> Path:
    with monitor.app.uow() as uow:
        package = next(
            p for p in uow.packages.latest_accepted(DAY) if p.institution_id == institution
        )
    return Path(monitor.app.columnar.uri(package.parquet_digests[name]))


def test_a_damaged_stored_file_marks_its_sender_and_the_others_get_their_results(
    monitor: Monitor,
) -> None:
    world = clean_world()
    world["B001"]["client_funds.csv"].append(["A9", "c9", "normal", "K001", "-30.00"])
    monitor.submit_world(world)
    damaged = _stored_file(monitor, "K002", "client_depository.csv")
    damaged.chmod(0o644)
    damaged.write_bytes(b"not parquet")
    outcome = monitor.run()
    k002 = entry(outcome, "K002")
    assert k002["could_not_compare"].startswith("bank_daily: ")
    assert k002["incomplete"][0]["findings"] == ["F8"]
    assert amounts(outcome, "B001") == {"F2": "30.00"}
    # B002's clients bank at K002, whose data was left out: not compared, no false mismatch.
    b002 = entry(outcome, "B002")
    assert b002["findings"] == [] and "could_not_compare" not in b002
    assert [i["missing"] for i in b002["incomplete"]] == [
        [{"institution_id": "K002", "kind": "bank_daily"}],
        [{"institution_id": "K002", "kind": "bank_daily"}],
    ]
    # Submitted, so not late: no reminder for K002.
    assert outcome.document["reminders"] == []


class _BrokenEngine:
    """An engine that fails whatever it is given: the engine, not one sender, is at fault."""

    backend = "broken"

    def compute(self, request: EngineRequest) -> EngineResult:
        raise ComparisonFailed("the engine is broken")


def test_a_comparison_that_fails_for_every_package_stops_the_run(monitor: Monitor) -> None:
    monitor.submit_world(clean_world())
    monitor.clock.at = AFTER_DEADLINE
    context = RunDayContext(
        clock=monitor.clock,
        uow_factory=monitor.app.uow,
        columnar=monitor.app.columnar,
        engine=_BrokenEngine(),
        rules=load_monitoring_rules(),
    )
    with pytest.raises(RunDayError, match="comparison_must_complete: the engine is broken"):
        run_day(business_date=DAY, actor="tester", context=context)
