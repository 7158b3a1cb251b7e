"""The monitor's trend over the last days: the market's problem ratio and the warnings per day.

Read from each day's latest stored result, so the trend shows exactly what the days' results
say. The market's ratio is the brokers' problem amounts over their client-fund balances
(Σ P / Σ L, exact), one figure a day; a day without a result has none, and is shown as such
rather than as zero. The whole monitor's view: SIPF's readers only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.money import parse_fen
from clearwatch.services.access.authorize import Gate
from clearwatch.services.monitor.run_ports import MonitorRunUnitOfWork

trend_days_max = 90  # a page's trend reads one stored result per day


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


def _trend_day(business_date: date, result_version: int, document: dict[str, Any]) -> TrendDay:
    problem_fen = balance_fen = warnings = 0
    for entry in document.get("institutions", []):
        warnings += len(entry.get("warnings", []))
        balance = entry.get("client_fund_balance")
        if entry.get("kind") == "broker" and balance is not None:
            balance_fen += parse_fen(balance)
            problem_fen += parse_fen(entry["problem_amount"])
    return TrendDay(business_date, result_version, problem_fen, balance_fen, warnings)


def day_trend(
    *, gate: Gate, uow: MonitorRunUnitOfWork, last_date: date, days: int
) -> tuple[TrendDay, ...]:
    """`days` calendar days ending on `last_date`, oldest first (PolicyDenied unless SIPF)."""
    gate.check(Action.WARNINGS_LIST, Resource())
    days = max(1, min(days, trend_days_max))
    trend = []
    with uow:
        for back in range(days - 1, -1, -1):
            business_date = last_date - timedelta(days=back)
            run = uow.monitor_runs.latest(business_date)
            if run is None:
                trend.append(TrendDay(business_date, None))
            else:
                document = json.loads(run.document_json)
                trend.append(_trend_day(business_date, run.result_version, document))
    return tuple(trend)
