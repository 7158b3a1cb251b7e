"""`clearwatch sim`: simulate market days into files, and list the fault catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from clearwatch.entrypoints.cli.common import EXIT_USAGE, console, fail
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    level_style,
    print_listing,
    say,
    wide_option,
)
from clearwatch.sim.faults import CATALOGUE, FaultPlan, UnknownFaultError, plan_faults
from clearwatch.sim.simulate import DEFAULT_START, SimParameters, SimSummary, simulate

sim_app = typer.Typer(
    help="Market-day simulator (模拟市场): batches, packages and injected faults.",
    no_args_is_help=True,
)


@sim_app.command("day")
def day(
    out: str = typer.Option(..., "--out", help="Directory to write the simulated market into."),
    brokers: int = typer.Option(8, "--brokers", min=1, help="How many brokers."),
    banks: int = typer.Option(3, "--banks", min=1, help="How many depository banks."),
    clients: int = typer.Option(50_000, "--clients", min=1, help="Client fund accounts in all."),
    executions: int = typer.Option(
        500_000,
        "--executions",
        min=0,
        help="Executions per day (at most; the clean-day rules drop a few).",
    ),
    days: int = typer.Option(1, "--days", min=1, help="Business days to simulate."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same bytes."),
    faults: str = typer.Option(
        "",
        "--faults",
        help="Comma-separated fault names, each optionally @DAY (1-based); "
        "see `clearwatch sim faults`.",
    ),
    start: str = typer.Option(
        DEFAULT_START.isoformat(), "--start", help="First business date (YYYY-MM-DD) or after."
    ),
) -> None:
    """Simulate consistent market days: registry, broker batches, bank and CSDC packages."""
    try:
        first = date.fromisoformat(start)
    except ValueError as error:
        raise fail(f"--start {start!r} is not a date YYYY-MM-DD", EXIT_USAGE) from error
    try:
        plans = plan_faults(faults, days=days, brokers=brokers, banks=banks)
    except UnknownFaultError as error:
        raise fail(str(error), EXIT_USAGE) from error
    if clients < brokers:
        raise fail("--clients must be at least --brokers", EXIT_USAGE)
    if Path(out).exists() and any(Path(out).iterdir()):
        raise fail(f"--out {out} is not empty: simulate into a new directory", EXIT_USAGE)
    params = SimParameters(
        brokers=brokers,
        banks=banks,
        clients=clients,
        executions=executions,
        days=days,
        seed=seed,
        start=first,
        faults=plans,
    )
    _print_summary(_simulate_with_progress(params, Path(out)), out, plans)


def _simulate_with_progress(params: SimParameters, out: Path) -> SimSummary:
    """Run the simulator with a progress bar of market days that vanishes when done."""
    with Progress(
        TextColumn("[bold]simulating[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("market days", total=params.days)
        return simulate(
            params, out, progress=lambda d: progress.update(task, advance=1, description=d)
        )


def _print_summary(summary: SimSummary, out: str, plans: Sequence[FaultPlan]) -> None:
    """One row per simulated day, then the faults injected and where their outcomes are."""
    table = Table(title=Text(f"Simulated market in {out}"))
    for column in ("business date", "executions", "expected warnings"):
        table.add_column(column, justify="right")
    for business_date, count, warnings in zip(
        summary.business_dates, summary.executions, summary.warnings, strict=True
    ):
        table.add_row(business_date.isoformat(), f"{count:,}", str(warnings))
    console.print(table)
    if plans:
        say(
            console,
            f"faults injected: {', '.join(p.name for p in plans)} "
            "(expected outcomes in <day>/faults.json)",
        )


FAULT_COLUMNS = (
    Column("name", "name"),
    Column("label", "label", wide=True),
    Column("lives in", "lives_in", whole=False, wide=True),
    Column("level", "level", style=level_style),
    Column("criteria", "criteria", whole=False),
    Column("route", "route", whole=False),
    Column("what is injected", "injected", whole=False),
)


@sim_app.command("faults")
def faults_table(wide: bool = wide_option, as_json: bool = json_option) -> None:
    """List the fault catalogue: what each injects and the warning the spec says it must raise."""
    rows = [
        {column.key: getattr(kind, column.key) for column in FAULT_COLUMNS} for kind in CATALOGUE
    ]
    title = "Fault catalogue 故障目录"
    print_listing(console, title, FAULT_COLUMNS, rows, wide=wide, as_json=as_json)
