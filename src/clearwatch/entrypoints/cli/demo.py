"""`clearwatch demo`: the main job — simulate a market, run the back offices and the monitor."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.engine.backoffice.row_work import build_backoffice_tools
from clearwatch.adapters.engine.monitor.backends import make_findings_engine
from clearwatch.adapters.files.registry_reader import read_registry_files
from clearwatch.adapters.reports.monitor_day_html import write_day_report
from clearwatch.adapters.rules_file import load_monitoring_rules
from clearwatch.bootstrap import Application, build_application
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.entrypoints.cli.common import console, fail
from clearwatch.entrypoints.cli.monitor import submit_context
from clearwatch.services.backoffice.books_check import BooksBreached
from clearwatch.services.backoffice.run_eod import EodFailed, EodRequest, run_eod
from clearwatch.services.monitor.registry import load_registry
from clearwatch.services.monitor.run_day import RunDayContext, run_day
from clearwatch.services.monitor.submit_package import submit_package
from clearwatch.sim.faults import UnknownFaultError, plan_faults
from clearwatch.sim.simulate import DEFAULT_START, SimParameters, simulate

DEMO_FAULTS = (
    "misappropriation,duplicate_import,unfiled_account,late_package,timing_difference,"
    "fault_deduction_bank,client_mismatch"
)
DEMO_ACTOR = "demo"
EOD_AT = time(17, 30)


@dataclass
class DemoLog:
    """What happened along the way, for the closing summary."""

    eod_refused: list[str] = field(default_factory=list)
    receipts: dict[str, int] = field(default_factory=dict)
    unexpected_receipts: list[str] = field(default_factory=list)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _at(day: str, moment: time) -> datetime:
    return datetime.combine(date.fromisoformat(day), moment, tzinfo=SHANGHAI)


def demo(
    brokers: int = typer.Option(8, "--brokers", min=1, help="How many brokers."),
    banks: int = typer.Option(3, "--banks", min=1, help="How many depository banks."),
    clients: int = typer.Option(50_000, "--clients", min=1, help="Client fund accounts in all."),
    executions: int = typer.Option(500_000, "--executions", min=0, help="Executions per day."),
    days: int = typer.Option(3, "--days", min=1, help="Business days."),
    seed: int = typer.Option(7, "--seed", help="Same seed, same market."),
    faults: str = typer.Option(DEMO_FAULTS, "--faults", help="Faults to inject (sim faults)."),
    skip_eod: bool = typer.Option(
        False, "--skip-eod", help="Submit the simulator's broker_daily instead of running EOD."
    ),
) -> None:
    """Simulate market days, run each broker's end of day, submit every package, run the monitor."""
    try:
        plans = plan_faults(faults, days=days, brokers=brokers, banks=banks)
    except UnknownFaultError as error:
        raise fail(str(error)) from error
    clock = FixedClock(datetime.combine(DEFAULT_START, time(8), tzinfo=SHANGHAI))
    wired = build_application(clock=clock)
    wired.init_schema(actor=DEMO_ACTOR)
    params = SimParameters(
        brokers=brokers,
        banks=banks,
        clients=clients,
        executions=executions,
        days=days,
        seed=seed,
        faults=plans,
    )
    # Same parameters, same bytes: a market already simulated is reused as it is.
    market = wired.settings.home / "demo" / f"market-{_fingerprint(params)}"
    log = DemoLog()
    with _progress() as progress:
        task = progress.add_task("simulating market days", total=days)
        if (market / "sim.json").is_file():
            dates = json.loads((market / "sim.json").read_text(encoding="utf-8"))["business_dates"]
            progress.update(task, completed=days)
        else:
            partial = market.with_name(market.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            simulate(params, partial, progress=lambda _: progress.advance(task))
            partial.rename(market)
            dates = json.loads((market / "sim.json").read_text(encoding="utf-8"))["business_dates"]
        load_market_registry(wired, market)
        for day in dates:
            if not skip_eod:
                run_back_offices(wired, clock, market, day, log, progress)
            submit_day(
                wired, clock, market, day, log, expected_broker_packages=skip_eod, progress=progress
            )
        results = _run_monitor_days(wired, clock, market, dates, progress)
    _print_results(market, dates, results, log)


def _fingerprint(params: SimParameters) -> str:
    """A short, stable name for a market: the hash of everything that shapes it."""
    text = repr(
        (
            params.brokers,
            params.banks,
            params.clients,
            params.executions,
            params.days,
            params.seed,
            params.start.isoformat(),
            [(p.name, p.day, p.broker, p.bank) for p in params.faults],
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_market_registry(wired: Application, market: Path) -> None:
    result = load_registry(
        files=read_registry_files(str(market / "registry")),
        source=str(market / "registry"),
        actor=DEMO_ACTOR,
        uow=wired.uow(),
        clock=wired.clock,
    )
    if not result.loaded:
        raise fail(f"the simulated registry was rejected: {result.errors[:3]}")


def run_back_offices(
    wired: Application,
    clock: FixedClock,
    market: Path,
    day: str,
    log: DemoLog,
    progress: Progress | None = None,
) -> None:
    """Each broker's end of day over its inbox; a refused batch leaves the day unreported."""
    inboxes = sorted((market / day / "broker").iterdir())
    task = progress.add_task(f"end of day {day}", total=len(inboxes)) if progress else None
    tools = build_backoffice_tools(wired.columnar)
    clock.at = _at(day, EOD_AT)
    for inbox in inboxes:
        request = EodRequest(
            business_date=date.fromisoformat(day),
            inbox=inbox,
            out_root=wired.settings.home / "out",
            broker_id=inbox.name,
        )
        try:
            run_eod(uow=wired.uow(), tools=tools, clock=clock, request=request, actor=DEMO_ACTOR)
        except (EodFailed, BooksBreached) as failed:
            log.eod_refused.append(f"{inbox.name} {day}: {failed}")
        if progress is not None and task is not None:
            progress.advance(task)


def submit_day(
    wired: Application,
    clock: FixedClock,
    market: Path,
    day: str,
    log: DemoLog,
    *,
    expected_broker_packages: bool,
    progress: Progress | None = None,
) -> None:
    """Every package of the day, in the order and at the times of the day's schedule.

    Brokers' packages come from their end of day, or from the simulator's `expected/` when
    `expected_broker_packages` (a broker whose own systems booked the day).
    """
    schedule = json.loads((market / day / "schedule.json").read_text(encoding="utf-8"))
    submissions = schedule["submissions"]
    task = progress.add_task(f"submitting {day}", total=len(submissions)) if progress else None
    context = submit_context(wired)
    for item in submissions:
        path = market / day / item["path"]
        if item["kind"] == "broker_daily" and not expected_broker_packages:
            path = wired.settings.home / "out" / item["institution_id"] / day / "package"
        if progress is not None and task is not None:
            progress.advance(task)
        if not (path / "manifest.json").is_file():
            continue  # the back office refused the day: nothing to submit (LATE)
        clock.at = datetime.fromisoformat(item["submit_at"])
        receipt = submit_package(directory=str(path), context=context)
        status = receipt.status.value
        log.receipts[status] = log.receipts.get(status, 0) + 1
        if status != item["expect"] and not (
            receipt.status is ReceiptStatus.DUPLICATE and item["expect"] == "accepted"
        ):
            log.unexpected_receipts.append(f"{item['institution_id']} {day}: {status}")


@dataclass(frozen=True)
class MonitorDay:
    document: dict[str, Any]  # the run-day JSON of monitoring.md §7
    report: Path  # the HTML report


def run_monitor_day(wired: Application, clock: FixedClock, market: Path, day: str) -> MonitorDay:
    """The monitor's daily run at the schedule's time (after the deadline and the late package)."""
    schedule = json.loads((market / day / "schedule.json").read_text(encoding="utf-8"))
    clock.at = datetime.fromisoformat(schedule["run_day_at"])
    context = RunDayContext(
        clock=clock,
        uow_factory=wired.uow,
        columnar=wired.columnar,
        engine=make_findings_engine(
            wired.settings.engine_backend,
            postgres_url=wired.settings.database_url,
            memory_limit=wired.settings.engine_memory_limit,
            accounts_per_pass=wired.settings.engine_accounts_per_pass,
        ),
        rules=load_monitoring_rules(),
    )
    outcome = run_day(business_date=date.fromisoformat(day), actor=DEMO_ACTOR, context=context)
    report = write_day_report(outcome.document, wired.settings.home / "reports" / "monitor")
    return MonitorDay(outcome.document, report)


def _run_monitor_days(
    wired: Application, clock: FixedClock, market: Path, dates: list[str], progress: Progress
) -> dict[str, MonitorDay]:
    task = progress.add_task("monitor daily runs", total=len(dates))
    results = {}
    for day in dates:
        results[day] = run_monitor_day(wired, clock, market, day)
        progress.advance(task)
    return results


LEVEL_STYLE = {"major": "bold red", "general": "yellow", "attention": "cyan"}


def warning_rows(document: dict[str, Any]) -> list[tuple[str, str, str, str, bool, str]]:
    """(institution, level, criteria, route, special report, problem amount) of each warning."""
    return [
        (
            institution["institution_id"],
            warning["level"],
            ",".join(warning["criteria"]),
            warning["route_to"],
            bool(warning.get("special_report")),
            str(institution.get("problem_amount", "")),
        )
        for institution in document["institutions"]
        for warning in institution["warnings"]
    ]


def _print_results(
    market: Path, dates: list[str], results: dict[str, MonitorDay], log: DemoLog
) -> None:
    table = Table(title="Warnings 预警 (monitor run-day)")
    for column in (
        "date",
        "institution",
        "level",
        "criteria",
        "route to",
        "special report",
        "problem amount",
    ):
        table.add_column(column)
    for day in dates:
        for institution, level, criteria, route, special, problem in warning_rows(
            results[day].document
        ):
            style = LEVEL_STYLE.get(level, "")
            table.add_row(
                day,
                institution,
                f"[{style}]{level}[/]",
                criteria,
                route,
                "yes" if special else "",
                problem,
            )
    console.print(table)
    _print_fault_check(market, dates, results)
    reminders = [(d, r) for d in dates for r in results[d].document.get("reminders", [])]
    for day, reminder in reminders:
        console.print(
            f"reminder {day}: {reminder['institution_id']} {reminder['category']} "
            f"({reminder['count_this_year']} this year)"
        )
    for refused in log.eod_refused:
        console.print(f"[yellow]end of day refused[/]: {refused}")
    for unexpected in log.unexpected_receipts:
        console.print(f"[red]unexpected receipt[/]: {unexpected}")
    console.print(f"receipts: {log.receipts}")
    for day in dates:
        console.print(f"HTML report {day}: {results[day].report}")
    console.print(f"market files: {market}")


def _found(document: dict[str, Any], institution_id: str) -> list[tuple[str, str, str]]:
    return [
        (w["level"], ",".join(w["criteria"]), w["route_to"])
        for i in document["institutions"]
        if i["institution_id"] == institution_id
        for w in i["warnings"]
    ]


def _print_fault_check(market: Path, dates: list[str], results: dict[str, MonitorDay]) -> None:
    """Each injected fault: what the spec's oracle expected against what the monitor found."""
    table = Table(title="Injected faults: expected vs found")
    for column in ("date", "fault", "target", "expected", "found", ""):
        table.add_column(column)
    for day in dates:
        faults = json.loads((market / day / "faults.json").read_text(encoding="utf-8"))
        for record in faults["faults"]:
            target = record["target"]
            expected = [
                (w["level"], ",".join(w["criteria"]), w["route_to"])
                for i in record["expected"]["institutions"]
                for w in i["warnings"]
            ]
            found = _found(results[day].document, target)
            same = sorted(expected) == sorted(found)
            table.add_row(
                day,
                record["fault"],
                target,
                _describe(expected),
                _describe(found),
                "[green]✓[/]" if same else "[red]✗[/]",
            )
    console.print(table)


def _describe(warnings: list[tuple[str, str, str]]) -> str:
    return "; ".join(f"{level} {criteria} → {route}" for level, criteria, route in warnings) or "—"
