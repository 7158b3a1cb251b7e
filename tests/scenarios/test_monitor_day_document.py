"""The typed day result renders the very JSON the dict-built document had, for known days.

`golden/monitor_day_documents.json` holds the run-day documents of three days of
`test_monitor_day.py`, captured before the day's result became typed values: regional F8 parts
summed with `by_region`, F9's count, incomplete comparisons, missing packages and a reminder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clearwatch.domain.monitor.report import day_document
from tests.scenarios.test_monitor_day import Monitor, _earlier_late, clean_world
from tests.scenarios.test_monitor_day import monitor as monitor  # the fixture, re-exported

GOLDEN = json.loads(
    (Path(__file__).parent / "golden" / "monitor_day_documents.json").read_text(encoding="utf-8")
)


def _regional_fault_actions(monitor: Monitor) -> None:
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


def _unfiled_missing_filing_reserve(monitor: Monitor) -> None:
    world = clean_world()
    world["K001"]["special_account_balances.csv"] = [
        ["SA-001", "B001", "client_settlement", "CN-SH", "900.00"],
        ["U-9", "B001", "client_settlement", "CN-SH", "7.00"],
    ]
    world["C001"]["settlement_reserve.csv"][0][2] = "99.00"
    monitor.submit_world(world)


def _fifth_late_package(monitor: Monitor) -> None:
    _earlier_late(monitor, 4)
    monitor.submit_world(clean_world(), skip=("K002",))


def _canonical(document: dict[str, Any]) -> bytes:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


DAYS: dict[str, Callable[[Monitor], None]] = {
    "regional_fault_actions": _regional_fault_actions,
    "unfiled_missing_filing_reserve": _unfiled_missing_filing_reserve,
    "fifth_late_package": _fifth_late_package,
}


@pytest.mark.parametrize("day", sorted(DAYS))
def test_the_typed_result_renders_the_json_of_the_known_day_byte_for_byte(
    monitor: Monitor, day: str
) -> None:
    DAYS[day](monitor)
    outcome = monitor.run()
    expected: dict[str, Any] = GOLDEN[day]
    rendered = day_document(outcome.result)
    assert rendered == expected
    # The canonical text (the one `result_sha256` hashes) is the same bytes as well.
    assert _canonical(rendered) == _canonical(expected)
    assert outcome.document == rendered
