"""Run a whole simulation: the market, its days, the faults, and every file they produce."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np

from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.sim.columns import write_json
from clearwatch.sim.day import run_day, settle_previous_day
from clearwatch.sim.faults import FaultHooks, FaultPlan
from clearwatch.sim.market import Books, DayState, ledger_gap_per_broker, opening_books
from clearwatch.sim.nodes import write_node_funds
from clearwatch.sim.oracle import Registry, expected_day
from clearwatch.sim.universe import CSDC_ID, HOLIDAYS, Universe, make_universe, registry_tables
from clearwatch.sim.views import add_court_actions, build_views
from clearwatch.sim.writer import (
    write_bank_batches,
    write_expected,
    write_packages,
    write_registry,
    write_static,
    write_trading,
)

DEFAULT_START = date(2026, 11, 16)
CSDC_SUBMIT = time(18, 30)
BROKER_SUBMIT = time(19, 0)
BROKEN_SUBMIT = time(19, 30)
BANK_SUBMIT = time(20, 0)
RESUBMIT = time(21, 0)
LATE_SUBMIT = time(10, 30)
RUN_DAY_AT = time(11, 0)  # after the late package, so comparisons are complete
BANK_TARGETED = frozenset({"fault_deduction_bank", "late_package", "broken_package"})


@dataclass(frozen=True)
class SimParameters:
    brokers: int
    banks: int
    clients: int
    executions: int
    days: int
    seed: int
    start: date = DEFAULT_START
    faults: tuple[FaultPlan, ...] = ()
    # Also write what the trading nodes hold (`<D>/nodes/`, for the watch); always with a
    # node_divergence fault.
    node_funds: bool = False


@dataclass
class SimSummary:
    out: Path
    business_dates: list[date] = field(default_factory=list)
    executions: list[int] = field(default_factory=list)
    warnings: list[int] = field(default_factory=list)


def calendar() -> BusinessCalendar:
    return BusinessCalendar.with_holidays(date.fromisoformat(d) for d in HOLIDAYS)


def business_dates(start: date, days: int) -> list[date]:
    cal = calendar()
    first = start if cal.is_business_day(start) else cal.next_business_day(start)
    dates = [first]
    while len(dates) < days:
        dates.append(cal.next_business_day(dates[-1]))
    return dates


def _at(day: date, moment: time) -> str:
    return datetime.combine(day, moment, tzinfo=SHANGHAI).isoformat()


def simulate(
    params: SimParameters, out: Path, *, progress: Callable[[str], None] | None = None
) -> SimSummary:
    """Write the registry and every day's batches, packages, expectations and schedule to `out`."""
    rng = np.random.default_rng(params.seed)
    unfiled = frozenset(p.broker for p in params.faults if p.name == "unfiled_account")
    dates = business_dates(params.start, params.days)
    universe = make_universe(
        rng,
        brokers=params.brokers,
        banks=params.banks,
        clients=params.clients,
        start=dates[0],
        unfiled_for=unfiled,
    )
    books = opening_books(universe, rng)
    tables = registry_tables(universe)
    write_registry(out, tables)
    registry = Registry(
        broker_regions=dict(zip(universe.broker_ids, universe.broker_regions, strict=True)),
        bank_regions=dict(zip(universe.bank_ids, universe.bank_regions, strict=True)),
    )
    summary = SimSummary(out)
    year_counts: Counter[tuple[str, str]] = Counter()
    cal = calendar()
    for index, business_date in enumerate(dates):
        day = _simulate_day(params, universe, books, index, business_date, cal)
        assert day.closing is not None and day.executions is not None
        day_out = out / day.day_text
        if index == 0:
            write_static(day_out, day, books)
        warnings = _write_day(day_out, day, registry, year_counts)
        if params.node_funds or any(p.name == "node_divergence" for p in params.faults):
            write_node_funds(day_out, day, params.faults)
        books = day.closing
        summary.business_dates.append(business_date)
        summary.executions.append(len(day.executions))
        summary.warnings.append(warnings)
        if progress is not None:
            progress(day.day_text)
    write_json(out / "sim.json", _description(params, universe, dates))
    return summary


def _simulate_day(
    params: SimParameters,
    universe: Universe,
    books: Books,
    index: int,
    business_date: date,
    cal: BusinessCalendar,
) -> DayState:
    """One market day from the previous day's books, faults injected, books checked."""
    day = DayState(
        index=index,
        business_date=business_date,
        next_business_date=cal.next_business_day(business_date),
        universe=universe,
        opening=settle_previous_day(books),
        rng=np.random.default_rng([params.seed, index + 1]),
    )
    run_day(day, wanted_executions=params.executions, hooks=FaultHooks(params.faults, index))
    add_court_actions(day)
    assert day.closing is not None
    if ledger_gap_per_broker(universe, day.closing).any():  # an invariant, never input
        raise AssertionError(f"simulated books do not balance on {day.day_text}")
    return day


def _description(params: SimParameters, universe: Universe, dates: list[date]) -> dict[str, object]:
    """sim.json: what was simulated, so a reader finds the institutions, days and faults."""
    return {
        "format": "clearwatch.sim/1",
        "seed": params.seed,
        "brokers": universe.broker_ids,
        "banks": universe.bank_ids,
        "csdc": CSDC_ID,
        "clients": params.clients,
        "executions_per_day": params.executions,
        "business_dates": [d.isoformat() for d in dates],
        "faults": [
            {
                "fault": p.name,
                "day": dates[p.day].isoformat(),
                "broker_id": universe.broker_ids[p.broker],
                "bank_id": universe.bank_ids[p.bank],
            }
            for p in params.faults
        ],
    }


def _write_day(
    out: Path, day: DayState, registry: Registry, year_counts: Counter[tuple[str, str]]
) -> int:
    """All files of one day; returns how many warnings the oracle expects."""
    write_trading(out, day)
    write_bank_batches(out, day)
    views = build_views(day)
    write_packages(out, day, views)
    write_expected(out, day, views)
    schedule, categories = _schedule(day)
    write_json(out / "schedule.json", schedule)
    expected = expected_day(views, registry, categories=categories, year_counts=year_counts)
    write_json(
        out / "faults.json",
        {
            "business_date": day.day_text,
            "faults": [_with_expectation(record, expected) for record in day.fault_records],
            "expected": expected,
        },
    )
    institutions = expected["institutions"]
    assert isinstance(institutions, list)
    return sum(len(i["warnings"]) for i in institutions)


def _with_expectation(record: dict[str, object], expected: dict[str, object]) -> dict[str, object]:
    """Attach the oracle's result for the institution the fault targets."""
    target = record["bank_id"] if record["fault"] in BANK_TARGETED else record["broker_id"]
    institutions = expected["institutions"]
    reminders = expected["reminders"]
    assert isinstance(institutions, list) and isinstance(reminders, list)
    return {
        **record,
        "target": target,
        "expected": {
            "institutions": [i for i in institutions if i["institution_id"] == target],
            "reminders": [r for r in reminders if r["institution_id"] == target],
        },
    }


def _schedule(day: DayState) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """When each package is submitted, and the reporting categories that follows from it."""
    universe, today, tomorrow = day.universe, day.business_date, day.next_business_date
    submissions: list[dict[str, object]] = [
        {
            "institution_id": CSDC_ID,
            "kind": PackageKind.CSDC_DAILY,
            "path": f"packages/{CSDC_ID}",
            "submit_at": _at(today, CSDC_SUBMIT),
            "expect": "accepted",
        }
    ]
    submissions += [
        {
            "institution_id": b,
            "kind": PackageKind.BROKER_DAILY,
            "inbox": f"broker/{b}",
            "path": f"expected/{b}",
            "submit_at": _at(today, BROKER_SUBMIT),
            "expect": "accepted",
        }
        for b in universe.broker_ids
    ]
    banks, categories = _bank_submissions(day)
    schedule: dict[str, object] = {
        "business_date": day.day_text,
        "package_deadline_at": _at(tomorrow, time(9, 0)),
        "run_day_at": _at(tomorrow, RUN_DAY_AT),
        "submissions": sorted(
            submissions + banks, key=lambda s: (str(s["submit_at"]), str(s["institution_id"]))
        ),
    }
    return schedule, categories


def _bank_submissions(day: DayState) -> tuple[list[dict[str, object]], list[tuple[str, str]]]:
    """The banks' submissions (a broken one first and its resubmission, or a late one) and the
    reporting categories they earn."""
    today, tomorrow = day.business_date, day.next_business_date
    submissions: list[dict[str, object]] = []
    categories: list[tuple[str, str]] = []
    for k, bank_id in enumerate(day.universe.bank_ids):
        path = f"packages/{bank_id}"
        if k in day.broken_banks:
            submissions.append(
                {
                    "institution_id": bank_id,
                    "kind": PackageKind.BANK_DAILY,
                    "path": f"{path}.broken",
                    "submit_at": _at(today, BROKEN_SUBMIT),
                    "expect": "rejected",
                }
            )
            categories.append((bank_id, "BATCH_ERROR"))
        late = k in day.late_banks
        submit = (
            _at(tomorrow, LATE_SUBMIT)
            if late
            else _at(today, RESUBMIT if k in day.broken_banks else BANK_SUBMIT)
        )
        submissions.append(
            {
                "institution_id": bank_id,
                "kind": PackageKind.BANK_DAILY,
                "path": path,
                "submit_at": submit,
                "expect": "accepted",
            }
        )
        if late:
            categories.append((bank_id, "LATE"))
    return submissions, categories
