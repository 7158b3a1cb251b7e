"""`clearwatch broker`: import batches, check the books, run end of day, list batches."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.entrypoints.cli.common import application, console, fail, refused
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
    print_listing,
    say,
    status_style,
    wide_option,
)
from clearwatch.services.backoffice.books_check import BooksBreached, check_books_committed
from clearwatch.services.backoffice.import_batch import import_batch
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

EXIT_INTERRUPTED = 75
EXIT_BREACHED = 4


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from error


def _print_rejections(rejected: BatchRejected) -> None:
    for rejection in rejected.rejections:
        typer.echo(json.dumps(rejection.as_json(), ensure_ascii=False))


@broker_app.command("import")
def import_command(
    directory: Annotated[Path, typer.Argument(help="A batch directory with manifest.json.")],
    at: str | None = typer.Option(None, "--at", help="ISO 8601 time standing in for the clock."),
) -> None:
    """Import one batch: applied whole or not at all; importing it again changes nothing."""
    wired = application(at)
    try:
        result = import_batch(
            directory=directory, uow=wired.uow(), tools=wired.backoffice_tools, at=wired.clock.now()
        )
    except BatchRejected as rejected:
        _print_rejections(rejected)
        raise refused(rejected) from rejected
    typer.echo(
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
        say(console, breach.describe())
    if breaches:
        raise fail(f"{len(breaches)} breach(es) of the books' invariants", EXIT_BREACHED)
    say(console, ("books hold", "green"), f": {broker} as of {as_of}")


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
        stop_after=wired.settings.eod_stop_after,  # tests: stop as a crash would
    )
    try:
        report = run_eod(
            uow=wired.uow(), tools=wired.backoffice_tools, clock=wired.clock, request=request
        )
    except EodInterrupted as stopped:
        # Ends the process at once, as a crash would: nothing after the step runs.
        error = f"eod interrupted: {stopped}"
        typer.echo(error, err=True)
        os._exit(EXIT_INTERRUPTED)
    except EodFailed as failed:
        for rejection in failed.rejections:
            typer.echo(json.dumps(rejection.as_json(), ensure_ascii=False))
        raise refused(failed) from failed
    except BooksBreached as breached:
        raise fail(f"books breached: {breached}", EXIT_BREACHED) from breached
    typer.echo(report_json(report))


BATCH_COLUMNS = (
    Column("broker", "broker_id"),
    Column("batch", "batch_id"),
    Column("kind", "kind"),
    Column("date", "business_date"),
    Column("status", "status", style=status_style),
    Column("files", "files", justify="right"),
    Column("received", "received_at", wide=True, show=local_time),
    Column("corrects", "corrects_batch_id", wide=True),
    Column("content", "content_sha256", wide=True, show=lambda digest: digest[:12]),
)


@broker_app.command("batches")
def batches_command(
    broker: str | None = typer.Option(None, "--broker", help="Only this broker's batches."),
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """Batches received, with the status the importer gave them."""
    from clearwatch.services.backoffice.batches import list_batches

    records = list_batches(uow=application().read_uow(), broker_id=broker)
    rows = [dataclasses.asdict(r) for r in records]
    print_listing(console, "Batches 批次", BATCH_COLUMNS, rows, wide=wide, as_json=as_json)
