"""Daily account features for the learned models, accumulated from the stream.

Amounts are summed in integer fen here; the models see them as floats (log scale), which is
where floats belong: a score, never a balance.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from clearwatch.domain.watch.events import EventKind, WatchEvent

FEATURES = (
    "withdrawals",
    "withdrawals_in_window",  # the most withdrawals within any `WITHDRAWAL_WINDOW_SECONDS`
    "withdrawn_fen",
    "deposited_fen",
    "bought_fen",
    "sold_fen",
    "executions",
    "deducted_fen",
    # Deductions identical (reason, amount) to one the account already had that day: what a
    # batch delivered again looks like, whatever its bytes (bench/README.md, issue 19).
    "deducted_again_fen",
)
_INDEX = {name: i for i, name in enumerate(FEATURES)}
# Counts of money leaving, judged each on its own line (services/watch/models.py).
COUNT_FEATURES = frozenset({"withdrawals", "withdrawals_in_window"})
AccountDay = tuple[str, str, date]  # broker, account, business date
# The withdrawal_burst rule's window (rules/watch.toml). Daily sums hide a burst: six
# withdrawals in four minutes is, on a log scale, near one a day (measured, bench/README.md).
WITHDRAWAL_WINDOW_SECONDS = 600


@dataclass
class DailyFeatures:
    """Per (broker, account, date): the features above, as integers."""

    rows: dict[AccountDay, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0] * len(FEATURES))
    )
    # Withdrawal times (epoch seconds) per account-day, sorted: events need not come in order.
    _withdrawn_at: dict[AccountDay, list[float]] = field(default_factory=lambda: defaultdict(list))
    # The (reason, amount) of each deduction seen per account-day.
    _deductions: dict[AccountDay, set[tuple[str, int]]] = field(
        default_factory=lambda: defaultdict(set)
    )

    def _add(self, event: WatchEvent, name: str, value: int) -> None:
        self.rows[(event.broker_id, event.account, event.business_date)][_INDEX[name]] += value

    def observe(self, event: WatchEvent) -> None:
        kind, amount = event.kind, event.amount_fen
        if kind is EventKind.EXECUTION:
            self._add(event, "executions", 1)
            self._add(event, "sold_fen" if amount > 0 else "bought_fen", abs(amount))
        elif kind is EventKind.BANK_TRANSFER:
            if amount < 0:
                self._add(event, "withdrawals", 1)
                self._add(event, "withdrawn_fen", -amount)
                self._window(event)
            else:
                self._add(event, "deposited_fen", amount)
        elif kind is EventKind.CASH_ADJUSTMENT and amount < 0:
            self._add(event, "deducted_fen", -amount)
            self._deduction(event)
        # Banks' fund actions stay out: a lawful court freeze a day per bank made every
        # baseline flag its client (measured), and the monitor's F8 already judges them.

    def _deduction(self, event: WatchEvent) -> None:
        """A deduction the account already had today, to the fen and for the same reason, is
        counted again. Record ids are not compared: a batch resent with new ids (or other
        bytes) is a new file to `deduction_excess` but the same deductions here. A clean
        simulated day never repeats one (a client's deduction is at most one a day)."""
        seen = self._deductions[(event.broker_id, event.account, event.business_date)]
        same = (event.detail, event.amount_fen)
        if same in seen:
            self._add(event, "deducted_again_fen", -event.amount_fen)
        seen.add(same)

    def _window(self, event: WatchEvent) -> None:
        """Raise the account-day's windowed count with the windows the new withdrawal is in."""
        key = (event.broker_id, event.account, event.business_date)
        times, at = self._withdrawn_at[key], event.occurred_at.timestamp()
        bisect.insort(times, at)
        most = max(
            bisect.bisect_right(times, start + WITHDRAWAL_WINDOW_SECONDS)
            - bisect.bisect_left(times, start)
            for start in times[bisect.bisect_left(times, at - WITHDRAWAL_WINDOW_SECONDS) :]
            if start <= at
        )
        row = self.rows[key]
        row[_INDEX["withdrawals_in_window"]] = max(row[_INDEX["withdrawals_in_window"]], most)

    def dates(self) -> list[date]:
        return sorted({day for _, _, day in self.rows})

    def forget(self, day: date) -> None:
        """Drop a scored day: a week of serving keeps one day in memory."""
        for kept in (self.rows, self._withdrawn_at, self._deductions):
            for key in [key for key in kept if key[2] == day]:
                del kept[key]
