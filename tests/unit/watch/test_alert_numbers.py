"""An alert is named by its number, its place among its broker's alerts in the log: found by
it among the brokers the caller sees (or by its key, still taken), and a refusal names the
alert by it, never by the key that ends with the client."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.alerts import Alert, WatchLevel, alert_label
from clearwatch.domain.watch.reviews import ReviewDecision, new_review
from clearwatch.services.watch.consume import AlertsInMemory
from clearwatch.services.watch.review import find_alert

DAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


B001_ONLY = {"B001"}.__contains__


def _alert(account: str, broker: str = "B001") -> Alert:
    return Alert(f"withdrawal_burst/{broker}/{DAY}/account:{account}", "withdrawal_burst",
                 WatchLevel.MAJOR, DAY, broker, f"account:{account}", "burst", 100, AT,
                 "0" * 64)  # fmt: skip


def _log(*accounts: str) -> AlertsInMemory:
    log = AlertsInMemory()
    for account in accounts:
        broker, _, account_id = account.rpartition(":")
        log.add(_alert(account_id, broker or "B001"))
    return log


def test_alerts_are_numbered_in_the_order_raised_and_found_by_number_or_key() -> None:
    log = _log("F100001", "F100002")
    assert [(a.number, a.subject) for a in log.recorded()] == [
        (1, "account:F100001"),
        (2, "account:F100002"),
    ]
    assert find_alert(log, "2", sees=B001_ONLY).subject == "account:F100002"
    key = f"withdrawal_burst/B001/{DAY}/account:F100001"
    assert find_alert(log, key, sees=B001_ONLY).number == 1


def test_each_broker_s_alerts_are_numbered_on_their_own_so_gaps_count_no_one_else_s() -> None:
    log = _log("B001:F1", "B002:F2", "B002:F3", "B001:F4", "B003:F5", "B001:F6")
    assert [(a.broker_id, a.number) for a in log.recorded()] == [
        ("B001", 1), ("B002", 1), ("B002", 2), ("B001", 2), ("B003", 1), ("B001", 3),
    ]  # fmt: skip
    assert find_alert(log, "3", sees=B001_ONLY).subject == "account:F6"
    assert find_alert(log, "1", sees={"B002"}.__contains__).subject == "account:F2"


def test_a_number_only_another_broker_has_is_no_alert_of_the_caller_s() -> None:
    log = _log("B001:F1", "B002:F2", "B002:F3")
    with pytest.raises(Refused) as refused:
        find_alert(log, "2", sees=B001_ONLY)
    assert refused.value.rule == "alert_must_exist" and refused.value.where == "alert #2"


def test_a_number_several_seen_brokers_share_is_refused_until_named_by_key() -> None:
    log = _log("B001:F1", "B002:F2")
    with pytest.raises(Refused) as refused:
        find_alert(log, "1", sees=lambda broker: True)
    assert refused.value.rule == "alert_number_must_name_one_alert"
    assert "F1" not in str(refused.value) and "F2" not in str(refused.value)
    key = f"withdrawal_burst/B002/{DAY}/account:F2"
    assert find_alert(log, key, sees=lambda broker: True).broker_id == "B002"


@pytest.mark.parametrize(
    ("handle", "named"),
    [("3", "alert #3"), (f"withdrawal_burst/B001/{DAY}/account:F100009", "***0009")],
)
def test_an_unknown_alert_is_refused_by_name_without_the_client(handle: str, named: str) -> None:
    with pytest.raises(Refused) as refused:
        find_alert(_log("F100001"), handle, sees=B001_ONLY)
    assert refused.value.rule == "alert_must_exist" and refused.value.where == named
    assert "F100009" not in str(refused.value)


def test_a_refusal_about_a_known_alert_names_its_number() -> None:
    [alert] = _log("F100001").recorded()
    assert alert_label(alert) == "alert #1"
    with pytest.raises(Refused) as refused:
        new_review(alert, decision=ReviewDecision.DISMISSED, reason=" ", reviewer="op", at=AT,
                   earlier=None)  # fmt: skip
    assert refused.value.where == "alert #1" and "F100001" not in str(refused.value)
