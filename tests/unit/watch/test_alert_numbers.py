"""An alert is named by its number, its place in the log: found by it (or by its key, still
taken), and a refusal names the alert by it, never by the key that ends with the client."""

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


def _alert(account: str) -> Alert:
    return Alert(f"withdrawal_burst/B001/{DAY}/account:{account}", "withdrawal_burst",
                 WatchLevel.MAJOR, DAY, "B001", f"account:{account}", "burst", 100, AT,
                 "0" * 64)  # fmt: skip


def _log(*accounts: str) -> AlertsInMemory:
    log = AlertsInMemory()
    for account in accounts:
        log.add(_alert(account))
    return log


def test_alerts_are_numbered_in_the_order_raised_and_found_by_number_or_key() -> None:
    log = _log("F100001", "F100002")
    assert [(a.number, a.subject) for a in log.recorded()] == [
        (1, "account:F100001"),
        (2, "account:F100002"),
    ]
    assert find_alert(log, "2").subject == "account:F100002"
    assert find_alert(log, f"withdrawal_burst/B001/{DAY}/account:F100001").number == 1


@pytest.mark.parametrize(
    ("handle", "named"),
    [("3", "alert #3"), (f"withdrawal_burst/B001/{DAY}/account:F100009", "***0009")],
)
def test_an_unknown_alert_is_refused_by_name_without_the_client(handle: str, named: str) -> None:
    with pytest.raises(Refused) as refused:
        find_alert(_log("F100001"), handle)
    assert refused.value.rule == "alert_must_exist" and refused.value.where == named
    assert "F100009" not in str(refused.value)


def test_a_refusal_about_a_known_alert_names_its_number() -> None:
    [alert] = _log("F100001").recorded()
    assert alert_label(alert) == "alert #1"
    with pytest.raises(Refused) as refused:
        new_review(alert, decision=ReviewDecision.DISMISSED, reason=" ", reviewer="op", at=AT,
                   earlier=None)  # fmt: skip
    assert refused.value.where == "alert #1" and "F100001" not in str(refused.value)
