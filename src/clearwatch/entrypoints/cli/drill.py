"""`clearwatch drill`: replay incidents A and B on the real code paths; PASS or FAIL."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from clearwatch.bootstrap import FixedClock, build_application
from clearwatch.config import Settings
from clearwatch.domain.monitor.report import day_document
from clearwatch.domain.shared.masking import mask_in
from clearwatch.entrypoints.cli.common import EXIT_FAILED, console
from clearwatch.entrypoints.cli.demo_people import DemoPeople
from clearwatch.services.drills.harness import DrillReport, DrillStore
from clearwatch.services.monitor.registry import load_registry
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.submit_package import submit_package

drill_app = typer.Typer(
    help="Incident drills: replay what happened, show which control acted, PASS or FAIL.",
    no_args_is_help=True,
)

_HOME_HELP = "Store to run in (default: a fresh temporary CLEARWATCH_HOME, removed afterwards)."


class _SeparateMonitor:
    """The regulator's monitor in a store of its own beside the drill's (a deployment of its
    own in real life): each institution's reporting system submits, an analyst runs the day."""

    def __init__(self, home: Path) -> None:
        self._home = home

    def judge(
        self, *, registry: Path, packages: Sequence[Path], business_date: date, at: datetime
    ) -> Mapping[str, Any]:
        clock = FixedClock(at)
        wired = build_application(
            Settings.from_environment({"CLEARWATCH_HOME": str(self._home)}), clock
        )
        try:
            wired.init_schema()
            people = DemoPeople(wired)
            people.admit()
            load_registry(
                files=wired.read_registry_files(registry),
                source=str(registry),
                actor=people.analyst().caller.label,
                uow=wired.uow(),
                clock=clock,
            )
            context = wired.submit_context()
            for package in packages:
                institution = _institution_of(package)
                gate = people.reporting_system(institution)
                submit_package(directory=str(package), context=context, gate=gate)
            analyst = people.analyst()
            outcome = run_day(
                business_date=business_date,
                actor=analyst.caller.label,
                context=wired.run_day_context(),
            )
            return day_document(outcome.result)
        finally:
            wired.dispose()


def _institution_of(package: Path) -> str:
    return str(json.loads((package / "manifest.json").read_text("utf-8"))["institution_id"])


def _run(home: str | None, drill: Callable[..., DrillReport], *, monitor: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="clearwatch-drill-") as scratch:
        root = Path(home) if home else Path(scratch) / "home"
        # A drill never touches the configured store: only the given or temporary home.
        wired = build_application(Settings.from_environment({"CLEARWATCH_HOME": str(root)}))
        wired.init_schema()
        store = DrillStore(
            uow=wired.uow,
            read_uow=wired.read_uow,
            tools=wired.backoffice_tools,
            hand_edit=wired.hand_edit,
            workdir=Path(scratch) / "inputs",
        )
        extra = {"monitor": _SeparateMonitor(Path(scratch) / "monitor-home")} if monitor else {}
        report = drill(store=store, **extra)
        wired.dispose()
    _print(report)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


def _print(report: DrillReport) -> None:
    def shown(text: str) -> str:  # the clients' accounts masked, as everywhere on a screen
        return escape(mask_in(text, report.clients))

    console.print(f"[bold]Drill {report.name}[/]")
    for number, line in enumerate(report.narrative, start=1):
        console.print(f"{number:>2}. {shown(line)}", highlight=False)
    console.print("Checks:")
    for check in report.checks:
        mark = "[green]ok[/]  " if check.passed else "[red]FAIL[/]"
        console.print(f"  {mark} {shown(check.name)} ({shown(check.detail)})", highlight=False)
    console.print(
        "PASS" if report.passed else "FAIL", style="bold green" if report.passed else "bold red"
    )


@drill_app.command("phantom-funds")
def phantom_funds(home: str | None = typer.Option(None, "--home", help=_HOME_HELP)) -> None:
    """Incident A: a switch with the old primary up and a re-sync; no phantom money."""
    from clearwatch.services.drills.phantom_funds import run_phantom_funds_drill

    _run(home, run_phantom_funds_drill)


@drill_app.command("duplicate-import")
def duplicate_import(home: str | None = typer.Option(None, "--home", help=_HOME_HELP)) -> None:
    """Incident B: a 26-file return batch retried four times; each file applied once."""
    from clearwatch.services.drills.duplicate_import import run_duplicate_import_drill

    _run(home, run_duplicate_import_drill)


@drill_app.command("overdraft-advance")
def overdraft_advance(home: str | None = typer.Option(None, "--home", help=_HOME_HELP)) -> None:
    """Fills beyond a client's cash: booked, covered by own funds (垫付), halted, F2/G3."""
    from clearwatch.services.drills.overdraft_advance import run_overdraft_advance_drill

    _run(home, run_overdraft_advance_drill, monitor=True)


@drill_app.command("disaster-recovery")
def disaster_recovery(
    encrypted: bool = typer.Option(
        False, "--encrypted", help="Columnar objects encrypted at rest (a master key in escrow)."
    ),
) -> None:
    """A market day, a live backup, the home destroyed, a verified restore elsewhere, the day
    run again: the same result, timed against PFMI principle 17's two hours."""
    from clearwatch.entrypoints.cli.recovery_drill import DisasterRecoverySites
    from clearwatch.services.drills.disaster_recovery import run_disaster_recovery_drill

    with tempfile.TemporaryDirectory(prefix="clearwatch-drill-") as scratch:
        sites = DisasterRecoverySites(Path(scratch), encrypted=encrypted)
        try:
            report = run_disaster_recovery_drill(site=sites)
        finally:
            sites.close()
    _print(report)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)
