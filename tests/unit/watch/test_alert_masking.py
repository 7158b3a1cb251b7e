"""An alert as shown without the evidence: the accounts it names masked, nothing else."""

from __future__ import annotations

from datetime import date, datetime

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.watch.alert_masking import masked_alert
from clearwatch.domain.watch.alerts import Alert, WatchLevel, alert_to_dict
from clearwatch.domain.watch.events import EventKind, WatchEvent

DAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


def _alert(subject: str, summary: str, *events: WatchEvent) -> Alert:
    return Alert(f"rule/B001/{DAY}/{subject}", "rule", WatchLevel.MAJOR, DAY, "B001", subject,
                 summary, 100, AT, "0" * 64, evidence=events)  # fmt: skip


def test_a_special_accounts_outflow_masks_both_accounts_and_the_key() -> None:
    moved = WatchEvent("B001/2026-11-20/SA-0001/1", EventKind.SPECIAL_ACCOUNT_MOVEMENT, DAY,
                       "B001", "SA-0001", -100, AT, "FA20261120777", "client")  # fmt: skip
    alert = _alert("account:SA-0001", "SA-0001 paid FA20261120777 1.00", moved)
    row = alert_to_dict(alert)
    shown = masked_alert(row)
    assert (shown["subject"], shown["summary"]) == ("account:***001", "***001 paid ***0777 1.00")
    [event] = shown["evidence"]
    assert (event["account"], event["counterparty"], event["key"]) == (
        "***001", "***0777", "B001/2026-11-20/***001/1"
    )  # fmt: skip
    # The key ends with the subject: masked too (a review takes the alert's number).
    assert shown["key"] == f"rule/B001/{DAY}/account:***001"
    assert row["subject"] == "account:SA-0001"  # the row given is left whole


def test_a_reserve_and_a_bank_are_not_clients() -> None:
    reserve = WatchEvent("k", EventKind.RESERVE_BALANCE, DAY, "B001", "RESERVE.SH", 0, AT)
    alert = _alert("reserve:SH", "RESERVE.SH below its floor", reserve)
    shown = masked_alert(alert_to_dict(alert))
    assert (shown["subject"], shown["summary"]) == ("reserve:SH", "RESERVE.SH below its floor")
    assert shown["evidence"][0]["account"] == "RESERVE.SH"
