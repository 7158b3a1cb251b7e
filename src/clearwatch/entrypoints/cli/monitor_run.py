"""`clearwatch monitor run-day` and `clearwatch monitor warnings`: the daily run and its results."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from clearwatch.adapters.engine.monitor.backends import (
    EngineConfigurationError,
    make_findings_engine,
)
from clearwatch.adapters.reports.monitor_day_html import write_day_report
from clearwatch.adapters.rules_file import load_monitoring_rules
from clearwatch.bootstrap import Application
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.cli.common import application, console, fail
from clearwatch.entrypoints.cli.monitor import monitor_app
from clearwatch.services.monitor.run_day import RunDayContext, RunDayError, RunDayOutcome, run_day
from clearwatch.services.monitor.run_ports import StoredWarning

CLI_ACTOR = "cli"
ENGINE_URL_VARIABLE = "CLEARWATCH_ENGINE_URL"
LEVEL_STYLE = {"major": "bold red", "general": "yellow", "attention": "cyan"}


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from error


def _context(wired: Application, progress: Progress) -> RunDayContext:
    try:
        engine = make_findings_engine(
            wired.settings.engine_backend,
            postgres_url=os.environ.get(ENGINE_URL_VARIABLE) or wired.settings.database_url,
            memory_limit=wired.settings.engine_memory_limit,
            accounts_per_pass=wired.settings.engine_accounts_per_pass,
        )
    except EngineConfigurationError as error:
        raise fail(str(error)) from error
    task = progress.add_task("starting", total=None)
    return RunDayContext(
        clock=wired.clock,
        uow_factory=wired.uow,
        columnar=wired.columnar,
        engine=engine,
        rules=load_monitoring_rules(os.environ.get("CLEARWATCH_MONITOR_RULES") or None),
        progress=lambda step: progress.update(task, description=step),
    )


@monitor_app.command("run-day")
def run_day_command(
    business_date: Annotated[str, typer.Option("--date", help="Business date YYYY-MM-DD.")],
    at: Annotated[
        str | None, typer.Option("--at", help="ISO 8601 moment standing in for the clock.")
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the day's result as JSON here.")
    ] = None,
) -> None:
    """Compare the day's packages, grade and route warnings; print, write JSON and HTML."""
    day = _parse_date(business_date)
    wired = application(at)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        try:
            outcome = run_day(business_date=day, actor=CLI_ACTOR, context=_context(wired, progress))
        except RunDayError as error:
            raise fail(str(error)) from error
        except Exception as error:  # an engine or store failure: say so, exit non-zero
            raise fail(f"run_day_could_not_run: {type(error).__name__}: {error}") from error
    _print_outcome(outcome)
    if json_file is not None:
        json_file.write_text(json.dumps(outcome.document, ensure_ascii=False, indent=2) + "\n")
        console.print(f"JSON written to {json_file}")
    report = write_day_report(outcome.document, wired.settings.home / "reports" / "monitor")
    console.print(f"HTML report: {report}")


def _print_outcome(outcome: RunDayOutcome) -> None:
    document = outcome.document
    table = Table(title=f"Monitor run {document['business_date']} 监控日报", expand=False)
    for column in ("institution", "kind", "client funds", "problem", "ratio", "findings",
                   "warnings", "incomplete"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for inst in document["institutions"]:
        findings = " ".join(f"{f['code']}={f['amount']}" for f in inst["findings"])
        warnings = "\n".join(
            f"[{LEVEL_STYLE[w['level']]}]{w['level']}[/] "
            f"{','.join(w['criteria'])} → {w['route_to']}"
            for w in inst["warnings"]
        )
        incomplete = " ".join(
            f"{m['institution_id']}:{m['kind']}" for i in inst["incomplete"] for m in i["missing"]
        )
        table.add_row(
            inst["institution_id"], inst["kind"], inst["client_fund_balance"] or "–",
            inst["problem_amount"], inst["problem_ratio"] or "–", findings or "–",
            warnings or "–", incomplete or "",
        )  # fmt: skip
    console.print(table)
    state = "recorded as" if outcome.recorded else "unchanged; still"
    console.print(
        f"result {state} version {outcome.result_version} "
        f"(rules {document['rules_version']}); {len(outcome.assessment.warnings)} warning(s); "
        f"{outcome.late_recorded} late package(s) newly recorded"
    )
    for reminder in document["reminders"]:
        console.print(
            f"reminder 口头提醒: {reminder['institution_id']} {reminder['category']} "
            f"({reminder['count_this_year']} this year)"
        )


@monitor_app.command("warnings")
def warnings_command(
    business_date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD.")] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="major, general or attention.")
    ] = None,
    bureau: Annotated[str | None, typer.Option("--bureau", help="Region, e.g. CITY-SZ.")] = None,
) -> None:
    """List the warnings of each day's latest result version."""
    if level is not None and level not in LEVEL_STYLE:
        raise typer.BadParameter("--level must be major, general or attention")
    day = _parse_date(business_date) if business_date else None
    with application().read_uow() as uow:
        found = uow.monitor_runs.warnings(business_date=day, level=level, route_to=bureau)
    _print_warnings(found)


def _print_warnings(found: list[StoredWarning]) -> None:
    table = Table(title="Warnings 预警", expand=False)
    for column in ("date", "v", "institution", "level", "criteria", "bureau", "cc",
                   "special report", "problem amount", "rules"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for w in found:
        table.add_row(
            w.business_date.isoformat(), str(w.result_version), w.institution_id,
            f"[{LEVEL_STYLE.get(w.level, '')}]{w.level}[/]", ",".join(w.criteria), w.route_to,
            w.cc, "yes" if w.special_report else "", format_fen(w.problem_amount_fen),
            w.rules_version,
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(found)} warning(s)")
