"""`clearwatch monitor run-day` and `clearwatch monitor warnings`: the daily run and its results."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from clearwatch.bootstrap import Application
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.evidence_masking import masked_day_document
from clearwatch.domain.monitor.report import DayResult, InstitutionResult, finding_figure_text
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.cli.cases import sweep_command
from clearwatch.entrypoints.cli.common import application, console, fail, signed_in
from clearwatch.entrypoints.cli.monitor import monitor_app
from clearwatch.entrypoints.cli.output import (
    JSON_HELP,
    WIDE_HELP,
    Column,
    level_style,
    listing_table,
    print_listing,
    say,
)
from clearwatch.services.monitor.run_day import RunDayContext, RunDayOutcome, run_day
from clearwatch.services.monitor.run_ports import StoredWarning
from clearwatch.services.monitor.warning_release import readable_warnings

# `monitor sweep` is the cases module's sweep under the name the issue gives it: the monitor's
# deadlines (LATE packages, overdue cases) are the monitor's business.
monitor_app.command("sweep")(sweep_command)

EVIDENCE_HELP = (
    "Write the findings' client and account numbers unmasked (policy: monitor.evidence)."
)
LEVEL_STYLE = {"major": "bold red", "general": "yellow", "attention": "cyan"}


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from error


def _context(wired: Application, progress: Progress) -> RunDayContext:
    """The application's run-day context (the demo's too), reporting steps on the spinner."""
    task = progress.add_task("starting", total=None)
    return wired.run_day_context(progress=lambda step: progress.update(task, description=step))


@monitor_app.command("run-day")
def run_day_command(
    business_date: Annotated[str, typer.Option("--date", help="Business date YYYY-MM-DD.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="Replay: the run's business time, ISO 8601 (replay mode only)."),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the day's result as JSON here.")
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help=WIDE_HELP)] = False,
    evidence: Annotated[bool, typer.Option("--evidence", help=EVIDENCE_HELP)] = False,
) -> None:
    """Compare the day's packages, grade and route warnings; print, write JSON and HTML."""
    day = _parse_date(business_date)
    wired = application(at)
    gate = signed_in(wired)
    gate.check(Action.RUN_DAY, Resource())
    if evidence:  # asked before the run, so that a refusal changes nothing
        gate.check_evidence(Action.MONITOR_EVIDENCE, Resource(), read=f"monitor run-day {day}")
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=console, transient=True,
    ) as progress:  # fmt: skip
        try:
            outcome = run_day(
                business_date=day, actor=gate.caller.label, context=_context(wired, progress)
            )
        except ClearwatchError:
            raise  # a refusal or a configuration error: the root group prints its one line
        except Exception as error:  # an engine or store failure: say so, exit non-zero
            raise fail(f"run_day_could_not_run: {type(error).__name__}: {error}") from error
    _print_outcome(outcome, wide=wide)
    if json_file is not None:
        shown = outcome.document if evidence else masked_day_document(outcome.document)
        json_file.write_text(json.dumps(shown, ensure_ascii=False, indent=2) + "\n")
        say(console, f"JSON written to {json_file}", whole=True)
    report = wired.write_day_report(outcome.result)
    say(console, f"HTML report: {report}", whole=True)


RUN_DAY_COLUMNS = (
    Column("institution", "institution_id"),
    Column("kind", "kind"),
    Column("client funds", "client_fund_balance", wide=True, justify="right"),
    Column("problem", "problem_amount", justify="right"),
    Column("ratio", "problem_ratio", justify="right"),
    Column("findings", "findings", whole=False, wide=True),
    Column("warnings", "warnings", whole=False),
    Column("incomplete", "incomplete", whole=False),
)


def _outcome_rows(result: DayResult) -> list[dict[str, Any]]:
    """One row per institution of the day's result; warnings as styled lines."""
    return [
        {
            "institution_id": inst.institution_id,
            "kind": inst.kind.value,
            "client_fund_balance": None
            if inst.client_fund_balance_fen is None
            else format_fen(inst.client_fund_balance_fen),
            "problem_amount": format_fen(inst.problem_amount_fen),
            "problem_ratio": inst.problem_ratio,
            "findings": " ".join(
                f"{f.finding.code.value}={finding_figure_text(f.finding)}" for f in inst.findings
            ),
            "warnings": Text("\n").join(
                Text.assemble(
                    (w.level.value, level_style(w.level.value)),
                    f" {', '.join(c.value for c in w.criteria)} → {w.route_to}",
                )
                for w in inst.warnings
            ),
            "incomplete": _incomplete_text(inst),
        }
        for inst in result.institutions
    ]


def _incomplete_text(inst: InstitutionResult) -> str:
    """The packages missing for the institution's comparison; or that its own data was not
    compared at all (the reason is printed in full below the table)."""
    if inst.could_not_compare is not None:
        return "could_not_compare"
    return " ".join(
        f"{institution_id}:{kind}" for i in inst.incomplete for institution_id, kind in i.missing
    )


def _print_outcome(outcome: RunDayOutcome, *, wide: bool = False) -> None:
    result = outcome.result
    title = f"Monitor run {result.business_date.isoformat()} 监控日报"
    console.print(listing_table(title, RUN_DAY_COLUMNS, _outcome_rows(result), wide=wide))
    state = "recorded as" if outcome.recorded else "unchanged; still"
    say(
        console,
        f"result {state} version {outcome.result_version} "
        f"(rules {result.rules_version}); {len(result.warnings)} warning(s); "
        f"{outcome.late_recorded} late package(s) newly recorded",
    )
    for inst in result.institutions:
        if inst.could_not_compare is not None:
            say(console, f"could_not_compare {inst.institution_id}: {inst.could_not_compare}")
    for reminder in result.reminders:
        say(
            console,
            f"reminder 口头提醒: {reminder.institution_id} {reminder.category.value} "
            f"({reminder.count_this_year} this year)",
        )


@monitor_app.command("warnings")
def warnings_command(
    business_date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD.")] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="major, general or attention.")
    ] = None,
    bureau: Annotated[str | None, typer.Option("--bureau", help="Region, e.g. CITY-SZ.")] = None,
    wide: Annotated[bool, typer.Option("--wide", help=WIDE_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List the warnings of each day's latest result version."""
    if level is not None and level not in LEVEL_STYLE:
        raise typer.BadParameter("--level must be major, general or attention")
    day = _parse_date(business_date) if business_date else None
    wired = application()
    gate = signed_in(wired)
    with wired.read_uow() as uow:  # a bureau, CSRC or an institution: approved ones only
        found = readable_warnings(
            gate, uow.monitor_runs.warnings, business_date=day, level=level, route_to=bureau
        )
    _print_warnings(found, wide=wide, as_json=as_json)


WARNING_COLUMNS = (
    Column("date", "business_date"),
    Column("v", "result_version", wide=True, justify="right"),
    Column("institution", "institution_id"),
    Column("level", "level", style=level_style),
    Column("criteria", "criteria", whole=False),
    Column("bureau", "route_to"),
    Column("cc", "cc", wide=True),
    Column("special", "special_report"),
    Column("released", "released", wide=True),
    Column("problem amount", "problem_amount", justify="right"),
    Column("rules", "rules_version", wide=True),
)


def _print_warnings(found: list[StoredWarning], *, wide: bool, as_json: bool) -> None:
    rows = [
        {
            "business_date": w.business_date.isoformat(),
            "result_version": w.result_version,
            "institution_id": w.institution_id,
            "level": w.level,
            "criteria": list(w.criteria),
            "route_to": w.route_to,
            "cc": w.cc,
            "special_report": w.special_report,
            "released": w.released,
            "problem_amount": format_fen(w.problem_amount_fen),
            "rules_version": w.rules_version,
        }
        for w in found
    ]
    print_listing(console, "Warnings 预警", WARNING_COLUMNS, rows, wide=wide, as_json=as_json)
    if not as_json:
        console.print(f"{len(found)} warning(s)")
