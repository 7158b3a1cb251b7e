"""`clearwatch drill`: replay incidents A and B on the real code paths; PASS or FAIL."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import typer
from rich.markup import escape

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.entrypoints.cli.common import EXIT_FAILED, console
from clearwatch.services.drills.harness import DrillReport, DrillStore

drill_app = typer.Typer(
    help="Incident drills: replay what happened, show which control acted, PASS or FAIL.",
    no_args_is_help=True,
)

_HOME_HELP = "Store to run in (default: a fresh temporary CLEARWATCH_HOME, removed afterwards)."


def _run(home: str | None, drill: Callable[..., DrillReport]) -> None:
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
        report = drill(store=store)
        wired.dispose()
    _print(report)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


def _print(report: DrillReport) -> None:
    console.print(f"[bold]Drill {report.name}[/]")
    for number, line in enumerate(report.narrative, start=1):
        console.print(f"{number:>2}. {escape(line)}", highlight=False)
    console.print("Checks:")
    for check in report.checks:
        mark = "[green]ok[/]  " if check.passed else "[red]FAIL[/]"
        console.print(f"  {mark} {escape(check.name)} ({escape(check.detail)})", highlight=False)
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
