"""The durable alert log numbers its alerts by their place among their broker's: stable
across opens, a torn last line (a process killed mid-write) no alert and no number."""

from __future__ import annotations

from pathlib import Path

from clearwatch.adapters.watch.alert_log import JsonlAlertLog
from tests.unit.watch.test_alert_numbers import _alert


def test_an_alert_s_number_is_its_place_and_does_not_change_when_more_are_raised(
    tmp_path: Path,
) -> None:
    path = tmp_path / "alerts.jsonl"
    log = JsonlAlertLog(path)
    assert log.add(_alert("F100001")) and log.add(_alert("F100002"))
    assert not log.add(_alert("F100001"))  # raised again: nothing new, no new number
    with path.open("ab") as handle:
        handle.write(b'{"key": "torn')  # a write cut short
    reopened = JsonlAlertLog(path)
    assert [(a.number, a.subject) for a in reopened.recorded()] == [
        (1, "account:F100001"),
        (2, "account:F100002"),
    ]
    reopened.add(_alert("F100003"))
    assert [a.number for a in JsonlAlertLog(path).recorded()] == [1, 2, 3]


def test_another_broker_s_alerts_between_take_no_number_of_this_broker_s(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    log = JsonlAlertLog(path)
    for account, broker in [("F1", "B001"), ("F2", "B002"), ("F3", "B002"), ("F4", "B001")]:
        log.add(_alert(account, broker))
    assert [(a.broker_id, a.number) for a in JsonlAlertLog(path).recorded()] == [
        ("B001", 1), ("B002", 1), ("B002", 2), ("B001", 2),
    ]  # fmt: skip
