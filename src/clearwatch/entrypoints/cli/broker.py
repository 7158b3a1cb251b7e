"""`clearwatch broker`: import batches, check the books, run end of day, list batches."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearwatch.adapters.engine.backoffice.row_work import build_backoffice_tools
from clearwatch.bootstrap import Application
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.entrypoints.cli.common import EXIT_REJECTED, application, console, fail
from clearwatch.services.backoffice.books_check import BooksBreached, check_books_committed
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.run_eod import (
    EodFailed,
    EodInterrupted,
    EodRequest,
    report_json,
    run_eod,
)

broker_app = typer.Typer(
    help="The broker back office (证券结算后台): batches, books, end of day.",
    no_args_is_help=True,
)

STOP_AFTER_VARIABLE = "CLEARWATCH_EOD_STOP_AFTER"  # tests: end the process after this step
EXIT_INTERRUPTED = 75
EXIT_BREACHED = 4


def _tools(wired: Application) -> BackOfficeTools:
    return build_backoffice_tools(wired.columnar)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from error


def _print_rejections(rejected: BatchRejected) -> None:
    for rejection in rejected.rejections:
        console.print(json.dumps(rejection.as_json(), ensure_ascii=False))


@broker_app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="A batch directory with manifest.json.")],
    at: str | None = typer.Option(None, "--at", help="ISO 8601 time standing in for the clock."),
) -> None:
    """Import one batch: applied whole or not at all; importing it again changes nothing."""
    wired = application(at)
    try:
        result = import_batch(
            directory=directory, uow=wired.uow(), tools=_tools(wired), at=wired.clock.now()
        )
    except BatchRejected as rejected:
        _print_rejections(rejected)
        raise fail(f"batch refused: {rejected}", EXIT_REJECTED) from rejected
    console.print(
        json.dumps(
            {
                "batch": result.batch_ref,
                "status": result.status.value,
                "files_applied": list(result.files_applied),
                "files_already_imported": list(result.files_already_imported),
                "records_skipped": result.records_skipped,
                "entries_posted": result.entries_posted,
            }
        )
    )


@broker_app.command("check")
def check_command(
    broker: str = typer.Option(..., "--broker", help="Broker id."),
    as_of: str = typer.Option(..., "--date", help="Business date YYYY-MM-DD."),
) -> None:
    """Check the invariants of the books and name every breach."""
    wired = application()
    breaches = check_books_committed(
        uow=wired.read_uow(), broker_id=broker, as_of=_parse_date(as_of)
    )
    for breach in breaches:
        console.print(breach.describe())
    if breaches:
        raise fail(f"{len(breaches)} breach(es) of the books' invariants", EXIT_BREACHED)
    console.print(f"[green]books hold[/]: {broker} as of {as_of}")


@broker_app.command("eod")
def eod_command(
    business_date: Annotated[str, typer.Option("--date", help="Business date YYYY-MM-DD.")],
    inbox: Annotated[Path, typer.Option("--inbox", help="Directory of batch directories.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output directory.")] = None,
    broker: str | None = typer.Option(None, "--broker", help="Broker id (else from the inbox)."),
    at: str | None = typer.Option(None, "--at", help="ISO 8601 time standing in for the clock."),
) -> None:
    """End of day: import, settle, check, statements, CSDC settlement, reconciliation, package."""
    wired = application(at)
    request = EodRequest(
        business_date=_parse_date(business_date),
        inbox=inbox,
        out_root=wired.settings.home / "out",
        broker_id=broker,
        out_dir=out,
        stop_after=os.environ.get(STOP_AFTER_VARIABLE) or None,
    )
    try:
        report = run_eod(uow=wired.uow(), tools=_tools(wired), clock=wired.clock, request=request)
    except EodInterrupted as stopped:
        # Ends the process at once, as a crash would: nothing after the step runs.
        error = f"eod interrupted: {stopped}"
        typer.echo(error, err=True)
        os._exit(EXIT_INTERRUPTED)
    except EodFailed as failed:
        for rejection in failed.rejections:
            console.print(json.dumps(rejection.as_json(), ensure_ascii=False))
        raise fail(str(failed), EXIT_REJECTED) from failed
    except BooksBreached as breached:
        raise fail(f"books breached: {breached}", EXIT_BREACHED) from breached
    console.print(report_json(report))


@broker_app.command("batches")
def batches_command(
    broker: str | None = typer.Option(None, "--broker", help="Only this broker's batches."),
) -> None:
    """Batches received, with the status the importer gave them."""
    from clearwatch.services.backoffice.batches import list_batches

    records = list_batches(uow=application().read_uow(), broker_id=broker)
    table = Table(title="Batches 批次", expand=False)
    for column in ("broker", "batch", "kind", "date", "status", "files", "received", "content"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(
            r.broker_id,
            r.batch_id,
            r.kind,
            r.business_date.isoformat(),
            r.status,
            str(r.files),
            r.received_at[:19],
            r.content_sha256[:12],
        )
    console.print(table)
