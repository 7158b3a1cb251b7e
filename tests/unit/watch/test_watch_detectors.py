"""The watch's rules over hand-made events: each detector fires where its rule draws the line."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from clearwatch.adapters.watch.rules_file import load_watch_rules
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.watch.alerts import WatchLevel
from clearwatch.domain.watch.detectors import WatchEngine
from clearwatch.domain.watch.events import (
    EventFormatError,
    EventKind,
    WatchEvent,
    event_from_dict,
    event_to_dict,
)
from clearwatch.domain.watch.rules import WatchRulesError, watch_rules_from_document

D = date(2026, 11, 17)
RULES = load_watch_rules()


def at(hour: int, minute: int = 0, second: int = 0, day: date = D) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def event(key: str, kind: EventKind, amount: int, when: datetime, **fields: object) -> WatchEvent:
    values: dict[str, object] = {
        "broker_id": "B001",
        "account": "00100000001",
        "business_date": when.date(),
        **fields,
    }
    return WatchEvent(key=key, kind=kind, amount_fen=amount, occurred_at=when, **values)  # type: ignore[arg-type]


def withdrawal(n: int, when: datetime, amount: int = 100_000_00) -> WatchEvent:
    return event(f"w{n}", EventKind.BANK_TRANSFER, -amount, when, detail="out")


def run(events: list[WatchEvent]) -> list[tuple[str, WatchLevel, str]]:
    engine = WatchEngine(RULES)
    return [(a.rule, a.level, a.subject) for e in events for a in engine.observe(e)]


def test_four_withdrawals_from_one_account_within_ten_minutes_are_a_burst() -> None:
    events = [withdrawal(n, at(10, 0) + timedelta(seconds=150 * n)) for n in range(4)]
    assert run(events) == [("withdrawal_burst", WatchLevel.GENERAL, "account:00100000001")]


def test_three_withdrawals_or_four_spread_over_the_day_are_not() -> None:
    assert run([withdrawal(n, at(10, 0) + timedelta(seconds=60 * n)) for n in range(3)]) == []
    assert run([withdrawal(n, at(9 + n, 0)) for n in range(4)]) == []


def test_two_withdrawals_reaching_the_amount_within_the_window_are_a_burst() -> None:
    big = 2_600_000_00
    assert run([withdrawal(1, at(10, 0), big), withdrawal(2, at(10, 5), big)]) != []
    assert run([withdrawal(1, at(10, 0), big), withdrawal(2, at(10, 11), big)]) == []


def test_settlement_outflows_to_csdc_are_never_a_burst_nor_unexpected() -> None:
    outflows = [
        event(f"s{n}", EventKind.SPECIAL_ACCOUNT_MOVEMENT, -5_000_000_00, at(15, 10),
              account=f"6201000{n}", counterparty="CSDC-LENDING", detail="csdc")
        for n in range(6)
    ]  # fmt: skip
    assert run(outflows) == []


def test_an_outflow_to_an_unexpected_kind_is_general_and_above_the_line_major() -> None:
    small = event("o1", EventKind.SPECIAL_ACCOUNT_MOVEMENT, -180_000_00, at(14, 7),
                  account="62010001100001", counterparty="6222", detail="other")  # fmt: skip
    large = event("o2", EventKind.SPECIAL_ACCOUNT_MOVEMENT, -1_000_000_00, at(14, 8),
                  account="62010001100001", counterparty="6222", detail="other")  # fmt: skip
    levels = [level for rule, level, _ in run([small, large]) if rule == "unexpected_counterparty"]
    assert levels == [WatchLevel.GENERAL, WatchLevel.MAJOR]


def _batch(delivery: str, sha: str, total: int) -> WatchEvent:
    return event(
        f"B001/{D}/{delivery}", EventKind.BATCH_RECEIVED, 0, at(15, 30), account="",
        detail="trading",
        extra=(("sha256", sha), ("delivery", delivery), ("adjustments_sha256", sha),
               ("total:lending_dividend_deduction", str(total))),
    )  # fmt: skip


def _deduction(delivery: str, n: int, amount: int) -> WatchEvent:
    return event(f"{delivery}/A{n}", EventKind.CASH_ADJUSTMENT, amount, at(15, 30),
                 detail="lending_dividend_deduction")  # fmt: skip


def test_incident_b_deductions_beyond_the_file_total_escalate_to_major() -> None:
    """272,500.00 in the file; the same file delivered again deducts it again."""
    amounts = [-61_300_00, -52_800_00, -45_100_00, -38_700_00, -31_900_00, -24_600_00, -18_100_00]
    events = []
    for delivery in ("trading", "trading.retry1"):
        events.append(_batch(delivery, "same", sum(amounts)))
        events += [_deduction(delivery, n, a) for n, a in enumerate(amounts)]
    found = run(events)
    assert found == [
        ("batch_again", WatchLevel.ATTENTION, "batch:trading"),
        ("deduction_excess", WatchLevel.GENERAL, "reason:lending_dividend_deduction"),
        ("deduction_excess", WatchLevel.MAJOR, "reason:lending_dividend_deduction"),
    ]


def test_a_second_different_file_counts_in_the_total_and_is_a_general_batch_again() -> None:
    events = [
        _batch("trading", "one", -100_00),
        _deduction("trading", 1, -100_00),
        _batch("trading.fix", "two", -50_00),
        _deduction("trading.fix", 1, -50_00),
    ]
    assert run(events) == [("batch_again", WatchLevel.GENERAL, "batch:trading")]


def _node(key: str, node: str, available: int, central: int) -> WatchEvent:
    return event(key, EventKind.NODE_FUNDS, available, at(9, 15), counterparty=node,
                 detail="start", extra=(("central", str(central)),))  # fmt: skip


def test_two_nodes_holding_one_client_s_money_is_major_one_node_is_not() -> None:
    assert run([_node("n1", "N1", 900_00, 900_00), _node("n1b", "N1", 800_00, 900_00)]) == []
    found = run([_node("n1", "N1", 900_00, 900_00), _node("n3", "N3", 900_00, 900_00)])
    assert found == [("node_divergence", WatchLevel.MAJOR, "account:00100000001")]


def _held(key: str, account: str, node: str, available: int, central: int) -> WatchEvent:
    """A client's cash on a node, with the special account holding its money named."""
    return event(key, EventKind.NODE_FUNDS, available, at(9, 15), account=account,
                 counterparty=node, detail="start",
                 extra=(("central", str(central)), ("special_account", "SA001")))  # fmt: skip


def test_a_special_account_s_clients_held_twice_name_the_special_account_too() -> None:
    found = run([_held("a1", "F1", "N1", 900_00, 900_00), _held("b1", "F2", "N1", 500_00, 500_00),
                 _held("a3", "F1", "N3", 900_00, 900_00)])  # fmt: skip
    assert found == [
        ("node_divergence", WatchLevel.MAJOR, "account:F1"),
        ("node_divergence", WatchLevel.MAJOR, "special_account:SA001"),
    ]


def test_small_excesses_within_the_tolerance_add_up_on_their_special_account() -> None:
    rules = replace(RULES, node=replace(RULES.node, tolerance_fen=1_000_00))
    engine = WatchEngine(rules)
    # Three clients, each 600.00 over on one node: none beyond 1,000.00 alone; 1,800.00 together.
    held = [_held(f"k{i}", f"F{i}", "N1", 10_600_00, 10_000_00) for i in range(3)]
    alerts = [alert for e in held for alert in engine.observe(e)]
    assert [(a.subject, a.amount_fen) for a in alerts] == [("special_account:SA001", 1_200_00)]
    assert [e.key for e in alerts[0].evidence] == ["k0", "k1"]
    # A client's node holding no more than the books frees nothing of the others' excess.
    assert engine.observe(_held("k0b", "F0", "N2", 0, 10_000_00)) == []
    # Without the special account named (a simulated day's nodes), no such alert.
    plain = event("p1", EventKind.NODE_FUNDS, 10_600_00, at(9, 15), counterparty="N1",
                  extra=(("central", str(10_000_00)),))  # fmt: skip
    assert WatchEngine(rules).observe(plain) == []


def _reserve(key: str, day: date, balance: int) -> WatchEvent:
    return event(key, EventKind.RESERVE_BALANCE, balance, at(18, 30, day=day),
                 account="RESERVE.SH", detail="SH")  # fmt: skip


def _trade(key: str, amount: int, day: date) -> WatchEvent:
    return event(key, EventKind.EXECUTION, amount, at(10, day=day), detail="SH")


def test_the_reserve_may_fall_by_the_net_buys_and_their_fees_and_no_more() -> None:
    d2 = D + timedelta(days=1)
    buys = [_trade("e1", -10_000_000_00, D), _trade("e2", 2_000_000_00, D)]  # net due 8,000,000
    explained = 8_000_000_00 + 12_000_000_00 * 564 // 1_000_000  # fees within the allowance
    fine = [_reserve("r1", D, 90_000_000_00), *buys, _reserve("r2", d2, 90_000_000_00 - explained)]
    assert run(fine) == []
    drained = [_reserve("r1", D, 90_000_000_00), *buys,
               _reserve("r2", d2, 90_000_000_00 - 8_000_000_00 - 2_000_000_00)]  # fmt: skip
    assert run(drained) == [("reserve_drain", WatchLevel.GENERAL, "reserve:SH")]


def test_the_engine_raises_an_alert_key_once_however_often_its_events_come() -> None:
    engine = WatchEngine(RULES)
    events = [withdrawal(n, at(10, 0) + timedelta(seconds=10 * n)) for n in range(8)]
    raised = [a for e in events for a in engine.observe(e)]
    assert len(raised) == 1 and len(raised[0].evidence) == 4


def test_every_alert_records_the_rules_file_hash() -> None:
    engine = WatchEngine(RULES)
    events = [withdrawal(n, at(10, 0) + timedelta(seconds=10 * n)) for n in range(4)]
    alert = next(a for e in events for a in engine.observe(e))
    assert alert.rules_sha256 == RULES.content_sha256 and len(alert.rules_sha256) == 64


def test_an_event_survives_its_wire_form_and_refuses_a_float_amount() -> None:
    original = _batch("trading", "x", -5)
    assert event_from_dict(event_to_dict(original)) == original
    broken = {**event_to_dict(original), "amount_fen": 1.5}
    with pytest.raises(EventFormatError, match="event_amount_must_be_integer_fen"):
        event_from_dict(broken)
    with pytest.raises(EventFormatError, match="event_must_have_every_field"):
        event_from_dict({"key": "k"})


def test_a_rules_document_missing_a_section_or_out_of_range_is_named() -> None:
    with pytest.raises(WatchRulesError, match="watch_rules_must_be_complete"):
        watch_rules_from_document({"version": "x"}, content_sha256="0" * 64)
    import tomllib
    from importlib import resources

    text = resources.files("clearwatch.rules").joinpath("watch.toml").read_text("utf-8")
    document = tomllib.loads(text.replace("count_min = 4", "count_min = 1"))
    with pytest.raises(WatchRulesError, match="watch_burst_must_have_a_window"):
        watch_rules_from_document(document, content_sha256="0" * 64)
