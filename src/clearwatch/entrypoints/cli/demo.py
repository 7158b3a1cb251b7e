"""`clearwatch demo`: the main job — simulate a market, run the back offices and the monitor,
then the Measures past run-day: explanations, review, sweep, approvals, delivery."""

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
from rich.text import Text

from clearwatch.bootstrap import Application, FixedClock, build_application, replay_clock
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.monitor.report import DayResult, day_document
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.cli.common import EXIT_USAGE, console, fail
from clearwatch.entrypoints.cli.demo_cases import (
    continue_past_run_day,
    print_cases_summary,
)
from clearwatch.entrypoints.cli.demo_people import DemoPeople
from clearwatch.entrypoints.cli.demo_serve import (
    check_demo_store,
    check_port_free,
    mark_demo_store,
    serve_demo,
)
from clearwatch.entrypoints.cli.output import Column, level_style, listing_table, say
from clearwatch.services.backoffice.books_check import BooksBreached
from clearwatch.services.backoffice.run_eod import EodFailed, EodRequest, run_eod
from clearwatch.services.monitor.registry import load_registry
from clearwatch.services.monitor.run_day import run_day
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
    serve: bool = typer.Option(
        False, "--serve", help="Then serve the web pages on the demo's data, one login per role."
    ),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="The --serve port."),
) -> None:
    """Simulate market days, run each broker's end of day, submit every package, run the monitor.

    Then explain, review and sweep the cases, approve the warnings and deliver them. With
    --serve, then serve the platform on 127.0.0.1 with one person per role (demo only)."""
    try:
        plans = plan_faults(faults, days=days, brokers=brokers, banks=banks)
    except UnknownFaultError as error:
        raise fail(str(error), EXIT_USAGE) from error
    if serve:
        check_port_free(port)
    clock = replay_clock(datetime.combine(DEFAULT_START, time(8), tzinfo=SHANGHAI))
    wired, people = _demo_store(clock)
    if serve:  # before the two minutes of the demo: a store not the demo's gets no logins
        check_demo_store(wired)
    params = SimParameters(
        brokers=brokers,
        banks=banks,
        clients=clients,
        executions=executions,
        days=days,
        seed=seed,
        faults=plans,
    )
    _run_demo(wired, clock, people, params, skip_eod=skip_eod)
    if serve:
        wired.dispose()
        serve_demo(port)


def _run_demo(
    wired: Application,
    clock: FixedClock,
    people: DemoPeople,
    params: SimParameters,
    *,
    skip_eod: bool,
) -> None:
    """The market days, end to end, then what came of them on the console."""
    # Same parameters, same bytes: a market already simulated is reused as it is.
    market = wired.settings.home / "demo" / f"market-{_fingerprint(params)}"
    log = DemoLog()
    with _progress() as progress:
        dates = _simulated(params, market, progress)
        load_market_registry(wired, market)
        for day in dates:
            if not skip_eod:
                run_back_offices(wired, clock, market, day, log, progress)
            submit_day(
                wired,
                clock,
                market,
                day,
                log,
                people=people,
                expected_broker_packages=skip_eod,
                progress=progress,
            )
        results = _run_monitor_days(wired, clock, market, dates, people, progress)
        task = progress.add_task("cases, approvals, delivery", total=1)
        cases_log = continue_past_run_day(wired, clock, people, dates)
        progress.advance(task)
    _print_results(market, dates, results, log)
    # After the run-day's results, what came of them: cases by state, deliveries by channel.
    print_cases_summary(wired, people, cases_log)


def _simulated(params: SimParameters, market: Path, progress: Progress) -> list[str]:
    """The market's business dates, simulating it first unless this very market is on disk."""
    task = progress.add_task("simulating market days", total=params.days)
    if not (market / "sim.json").is_file():
        partial = market.with_name(market.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        simulate(params, partial, progress=lambda _: progress.advance(task))
        partial.rename(market)
    progress.update(task, completed=params.days)
    dates: list[str] = json.loads((market / "sim.json").read_text(encoding="utf-8"))[
        "business_dates"
    ]
    return dates


def _demo_store(clock: FixedClock) -> tuple[Application, DemoPeople]:
    """The store in the home, replaying on `clock`, with the demo's people admitted."""
    wired = build_application(clock=clock)
    wired.init_schema(actor=DEMO_ACTOR)
    people = DemoPeople(wired)
    if people.admit():  # an empty store: the demo's own, which `--serve` may give logins
        mark_demo_store(wired)
    return wired, people


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
        files=wired.read_registry_files(market / "registry"),
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
    tools = wired.backoffice_tools
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
    people: DemoPeople,
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
    context = wired.submit_context()
    for item in submissions:
        path = market / day / item["path"]
        if item["kind"] == PackageKind.BROKER_DAILY and not expected_broker_packages:
            path = wired.settings.home / "out" / item["institution_id"] / day / "package"
        if progress is not None and task is not None:
            progress.advance(task)
        if not (path / "manifest.json").is_file():
            continue  # the back office refused the day: nothing to submit (LATE)
        clock.at = datetime.fromisoformat(item["submit_at"])
        gate = people.reporting_system(item["institution_id"])
        receipt = submit_package(directory=str(path), context=context, gate=gate)
        status = receipt.status.value
        log.receipts[status] = log.receipts.get(status, 0) + 1
        if status != item["expect"] and not (
            receipt.status is ReceiptStatus.DUPLICATE and item["expect"] == "accepted"
        ):
            log.unexpected_receipts.append(f"{item['institution_id']} {day}: {status}")


@dataclass(frozen=True)
class MonitorDay:
    result: DayResult  # the day's result, as `monitor run-day` shows it
    report: Path  # the HTML report

    @property
    def document(self) -> dict[str, Any]:
        """The run-day JSON of monitoring.md §7."""
        return day_document(self.result)


def run_monitor_day(
    wired: Application, clock: FixedClock, market: Path, day: str, people: DemoPeople
) -> MonitorDay:
    """The monitor's daily run at the schedule's time (after the deadline and the late package)."""
    schedule = json.loads((market / day / "schedule.json").read_text(encoding="utf-8"))
    clock.at = datetime.fromisoformat(schedule["run_day_at"])
    analyst = people.analyst()
    analyst.check(Action.RUN_DAY, Resource())
    # The same context as `monitor run-day`: engine, rules and stores from the settings.
    context = wired.run_day_context()
    outcome = run_day(
        business_date=date.fromisoformat(day), actor=analyst.caller.label, context=context
    )
    report = wired.write_day_report(outcome.result)
    return MonitorDay(outcome.result, report)


def _run_monitor_days(
    wired: Application,
    clock: FixedClock,
    market: Path,
    dates: list[str],
    people: DemoPeople,
    progress: Progress,
) -> dict[str, MonitorDay]:
    task = progress.add_task("monitor daily runs", total=len(dates))
    results = {}
    for day in dates:
        results[day] = run_monitor_day(wired, clock, market, day, people)
        progress.advance(task)
    return results


def warning_rows(result: DayResult) -> list[tuple[str, str, str, str, bool, str]]:
    """(institution, level, criteria, route, special report, problem amount) of each warning."""
    return [
        (
            institution.institution_id,
            warning.level.value,
            ", ".join(c.value for c in warning.criteria),
            warning.route_to,
            warning.special_report,
            format_fen(institution.problem_amount_fen),
        )
        for institution in result.institutions
        for warning in institution.warnings
    ]


DEMO_WARNING_COLUMNS = (
    Column("date", "date"),
    Column("institution", "institution_id"),
    Column("level", "level", style=level_style),
    Column("criteria", "criteria", whole=False),
    Column("route to", "route_to"),
    Column("special", "special"),
    Column("problem amount", "problem", justify="right"),
)
DEMO_WARNING_KEYS = tuple(column.key for column in DEMO_WARNING_COLUMNS)
FAULT_COLUMNS = (
    Column("date", "date"),
    Column("fault", "fault"),
    Column("target", "target"),
    Column("expected", "expected", whole=False),
    Column("found", "found", whole=False),
    Column("", "same"),
)


def _print_results(
    market: Path, dates: list[str], results: dict[str, MonitorDay], log: DemoLog
) -> None:
    rows = [
        dict(zip(DEMO_WARNING_KEYS, (day, *row), strict=True))
        for day in dates
        for row in warning_rows(results[day].result)
    ]
    console.print(listing_table("Warnings 预警 (monitor run-day)", DEMO_WARNING_COLUMNS, rows))
    _print_fault_check(market, dates, results)
    reminders = [(d, r) for d in dates for r in results[d].result.reminders]
    for day, reminder in reminders:
        say(
            console,
            f"reminder {day}: {reminder.institution_id} {reminder.category.value} "
            f"({reminder.count_this_year} this year)",
        )
    for refused in log.eod_refused:
        say(console, ("end of day refused", "yellow"), f": {refused}")
    for unexpected in log.unexpected_receipts:
        say(console, ("unexpected receipt", "red"), f": {unexpected}")
    say(console, f"receipts: {log.receipts}")
    for day in dates:
        say(console, f"HTML report {day}: {results[day].report}", whole=True)
    say(console, f"market files: {market}", whole=True)


def _found(result: DayResult, institution_id: str) -> list[tuple[str, str, str]]:
    return [
        (w.level.value, ",".join(c.value for c in w.criteria), w.route_to)
        for i in result.institutions
        if i.institution_id == institution_id
        for w in i.warnings
    ]


def _print_fault_check(market: Path, dates: list[str], results: dict[str, MonitorDay]) -> None:
    """Each injected fault: what the spec's oracle expected against what the monitor found."""
    rows = []
    for day in dates:
        faults = json.loads((market / day / "faults.json").read_text(encoding="utf-8"))
        for record in faults["faults"]:
            target = record["target"]
            expected = [
                (w["level"], ",".join(w["criteria"]), w["route_to"])
                for i in record["expected"]["institutions"]
                for w in i["warnings"]
            ]
            found = _found(results[day].result, target)
            same = sorted(expected) == sorted(found)
            rows.append(
                {
                    "date": day,
                    "fault": record["fault"],
                    "target": target,
                    "expected": _describe(expected),
                    "found": _describe(found),
                    "same": Text("✓", "green") if same else Text("✗", "red"),
                }
            )
    console.print(listing_table("Injected faults: expected vs found", FAULT_COLUMNS, rows))


def _describe(warnings: list[tuple[str, str, str]]) -> str:
    return "; ".join(f"{level} {criteria} → {route}" for level, criteria, route in warnings) or "—"
