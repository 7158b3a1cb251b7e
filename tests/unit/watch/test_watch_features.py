"""The models' daily features over hand-made events: deductions seen again, a day forgotten."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.domain.watch.features import FEATURES, DailyFeatures

D = date(2026, 11, 17)
ACCOUNT = "00100000001"
AGAIN = FEATURES.index("deducted_again_fen")
DEDUCTED = FEATURES.index("deducted_fen")


def deduction(
    key: str, amount_fen: int, *, reason: str = "lending_dividend", day: date = D
) -> WatchEvent:
    return WatchEvent(
        key=key,
        kind=EventKind.CASH_ADJUSTMENT,
        business_date=day,
        broker_id="B001",
        account=ACCOUNT,
        amount_fen=-amount_fen,
        occurred_at=datetime(day.year, day.month, day.day, 15, 30, tzinfo=SHANGHAI),
        detail=reason,
    )


def features_of(*events: WatchEvent) -> DailyFeatures:
    features = DailyFeatures()
    for event in events:
        features.observe(event)
    return features


def test_the_same_deduction_delivered_four_times_counts_three_times_again() -> None:
    """Incident B: the trading batch four times, under four delivery names (four keys)."""
    features = features_of(
        *(deduction(f"B001/{D}/trading.retry{n}/A1", 390_000_00) for n in range(4))
    )
    row = features.rows[("B001", ACCOUNT, D)]
    assert row[DEDUCTED] == 4 * 390_000_00
    assert row[AGAIN] == 3 * 390_000_00


def test_deductions_that_differ_in_amount_reason_or_day_are_not_again() -> None:
    features = features_of(
        deduction("a", 390_000_00),
        deduction("b", 390_000_01),
        deduction("c", 390_000_00, reason="interest"),
        deduction("d", 390_000_00, day=D + timedelta(days=1)),
    )
    assert [row[AGAIN] for row in features.rows.values()] == [0, 0]


def test_a_forgotten_day_is_dropped_and_its_deductions_are_new_again() -> None:
    features = features_of(
        deduction("a", 100_00), deduction("b", 100_00, day=D + timedelta(days=1))
    )
    features.forget(D)
    assert features.dates() == [D + timedelta(days=1)]
    features.observe(deduction("c", 100_00))  # a late event of a scored day starts afresh
    assert features.rows[("B001", ACCOUNT, D)][AGAIN] == 0
