"""The monitor's trend over the last days: the market's problem ratio and the warnings per day.

Read from each day's latest stored result, so the trend shows exactly what the days' results
say. The market's ratio is the brokers' problem amounts over their client-fund balances
(Σ P / Σ L, exact), one figure a day; a day without a result has none, and is shown as such
rather than as zero. The whole monitor's view: SIPF's readers only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.money import AMOUNT_PATTERN, parse_fen
from clearwatch.services.access.authorize import Gate
from clearwatch.services.monitor.run_ports import MonitorRunUnitOfWork

_STORED_AMOUNT = re.compile(AMOUNT_PATTERN)
trend_days_max = 90  # a page's trend reads one stored result per day, in one query


@dataclass(frozen=True)
class TrendDay:
    business_date: date
    result_version: int | None  # None: the day was never run
    problem_fen: int = 0
    balance_fen: int = 0
    warnings: int = 0

    @property
    def ratio(self) -> Decimal | None:
        """Σ P / Σ L of the brokers, exact; None without a result or a positive balance."""
        if self.result_version is None or self.balance_fen <= 0:
            return None
        return Decimal(self.problem_fen) / Decimal(self.balance_fen)


def _fen(text: str) -> int:
    """`parse_fen` of an amount the run stored (`format_fen`'s `-?digits.dd`), on the short
    path: a month of a national market is tens of thousands of amounts a page. Anything else
    is left to `parse_fen`, which names what is wrong with it."""
    if _STORED_AMOUNT.fullmatch(text):
        return int(text.replace(".", "", 1))
    return parse_fen(text)


def _summed_day(business_date: date, result_version: int, document_json: str) -> TrendDay:
    document: dict[str, Any] = json.loads(document_json)
    problem_fen = balance_fen = warnings = 0
    for entry in document.get("institutions", []):
        warnings += len(entry.get("warnings", []))
        balance = entry.get("client_fund_balance")
        if entry.get("kind") == "broker" and balance is not None:
            balance_fen += _fen(balance)
            problem_fen += _fen(entry["problem_amount"])
    return TrendDay(business_date, result_version, problem_fen, balance_fen, warnings)


def day_trend(
    *, gate: Gate, uow: MonitorRunUnitOfWork, last_date: date, days: int
) -> tuple[TrendDay, ...]:
    """`days` calendar days ending on `last_date`, oldest first (PolicyDenied unless SIPF)."""
    gate.check(Action.WARNINGS_LIST, Resource())
    days = max(1, min(days, trend_days_max))
    first_date = last_date - timedelta(days=days - 1)
    with uow:
        runs = {
            run.business_date: run for run in uow.monitor_runs.latest_between(first_date, last_date)
        }
    trend = []
    for back in range(days - 1, -1, -1):
        business_date = last_date - timedelta(days=back)
        run = runs.get(business_date)
        if run is None:
            trend.append(TrendDay(business_date, None))
        else:
            trend.append(_summed_day(business_date, run.result_version, run.document_json))
    return tuple(trend)
