"""`clearwatch broker`: import batches, check the books, run end of day, list batches."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.entrypoints.cli.common import application, console, fail, refused, signed_in
from clearwatch.entrypoints.cli.evidence import evidence_option, whole_for
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
from clearwatch.services.backoffice.import_batch import import_batch, read_manifest
from clearwatch.services.backoffice.run_eod import (
    EodFailed,
    EodInterrupted,
    EodRequest,
    eod_broker,
    report_json,
    run_eod,
)

broker_app = typer.Typer(
    help="The broker back office (证券结算后台): batches, books, end of day.",
    no_args_is_help=True,
)

_AT_HELP = "Replay: the business time, ISO 8601 with offset (replay mode only)."
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
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """Import one batch: applied whole or not at all; importing it again changes nothing."""
    wired = application(at)
    gate = signed_in(wired)
    try:
        gate.check_credential(Action.BROKER_IMPORT)
        broker = read_manifest(directory).broker_id
        gate.check(Action.BROKER_IMPORT, Resource(institution=broker))
        result = import_batch(
            directory=directory,
            uow=wired.uow(),
            tools=wired.backoffice_tools,
            at=wired.clock.now(),
            actor=gate.caller.label,
            publisher=wired.watch_publisher(),
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
    signed_in(wired).check(Action.BROKER_CHECK, Resource(institution=broker))
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
    inbox: Annotated[
        Path | None,
        typer.Option(
            "--inbox",
            help="Directory of batch directories to import first (without it: what "
            "`broker import` brought in; name the broker).",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory.")] = None,
    broker: str | None = typer.Option(None, "--broker", help="Broker id (else from the inbox)."),
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """End of day: import, settle, check, statements, CSDC settlement, reconciliation, package."""
    wired = application(at)
    gate = signed_in(wired)
    request = EodRequest(
        business_date=_parse_date(business_date),
        inbox=inbox,
        out_root=wired.settings.home / "out",
        broker_id=broker,
        out_dir=out,
        stop_after=wired.settings.eod_stop_after,  # tests: stop as a crash would
    )
    try:
        gate.check(Action.BROKER_EOD, Resource(institution=eod_broker(request)))
        report = run_eod(
            uow=wired.uow(),
            tools=wired.backoffice_tools,
            clock=wired.clock,
            request=request,
            actor=gate.caller.label,
            publisher=wired.watch_publisher(),
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

    wired = application()
    sees = signed_in(wired).lister(Action.BROKER_BATCHES)
    records = [
        r
        for r in list_batches(uow=wired.read_uow(), broker_id=broker)
        if sees(Resource(institution=r.broker_id))
    ]
    rows = [dataclasses.asdict(r) for r in records]
    print_listing(console, "Batches 批次", BATCH_COLUMNS, rows, wide=wide, as_json=as_json)


BREAK_COLUMNS = (
    Column("id", "break_id", justify="right"),
    Column("broker", "broker_id"),
    Column("date", "business_date"),
    Column("check", "check"),
    Column("subject", "subject"),
    Column("books", "books", justify="right"),
    Column("counterpart", "counterpart", justify="right"),
    Column("difference", "difference", justify="right"),
    Column("state", "state", style=status_style),
    Column("request", "request_id", justify="right", wide=True),
    Column("resolution", "resolution", wide=True),
    Column("reason", "reason", whole=False, wide=True),
    Column("evidence", "evidence", whole=False, wide=True, show=json.dumps),
)


@broker_app.command("breaks")
def breaks_command(
    broker: str | None = typer.Option(None, "--broker", help="Only this broker's breaks."),
    business_date: str | None = typer.Option(None, "--date", help="Only this day's breaks."),
    everything: bool = typer.Option(False, "--all", help="Closed breaks too."),
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: bool = evidence_option,
) -> None:
    """Reconciliation breaks still open (with --all, closed ones too), oldest day first. A
    client's fund account or an account's number is masked, in the subject and the evidence,
    unless asked with `--evidence`."""
    from clearwatch.domain.shared.money import format_fen
    from clearwatch.services.backoffice.breaks import list_breaks, shown_evidence, shown_subject

    wired = application()
    gate = signed_in(wired)
    sees = gate.lister(Action.BROKER_BREAKS)
    whole = whole_for(gate, evidence, read="broker breaks")
    views = list_breaks(
        uow=wired.read_uow(),
        broker_id=broker,
        business_date=None if business_date is None else _parse_date(business_date),
        everything=everything,
    )
    rows = [
        {
            "break_id": v.record.break_pk,
            "broker_id": v.record.broker_id,
            "business_date": v.record.business_date,
            "check": v.record.check,
            "subject": shown_subject(v.record, evidence=whole(v.record.broker_id)),
            "books": format_fen(v.record.books_fen),
            "counterpart": format_fen(v.record.counterpart_fen),
            "difference": format_fen(v.record.books_fen - v.record.counterpart_fen),
            "state": v.state.value,
            "request_id": v.request_id,
            "resolution": v.resolution,
            "reason": v.reason,
            "evidence": shown_evidence(v.record, evidence=whole(v.record.broker_id)),
        }
        for v in views
        if sees(Resource(institution=v.record.broker_id))
    ]
    print_listing(console, "Breaks 对账差异", BREAK_COLUMNS, rows, wide=wide, as_json=as_json)


break_app = typer.Typer(
    help="One reconciliation break: match or explain it, for a checker to approve.",
    no_args_is_help=True,
)
broker_app.add_typer(break_app, name="break")


def _resolve(break_id: int, resolution: str, reason: str) -> None:
    from clearwatch.services.backoffice.breaks import find_break, resolve_break

    wired = application()
    gate = signed_in(wired)
    record = find_break(wired.read_uow(), break_id)
    gate.check(Action.BROKER_BREAK_EXPLAIN, Resource(institution=record.broker_id))
    request = resolve_break(
        uow=wired.uow(),
        break_id=break_id,
        resolution=resolution,
        reason=reason,
        maker=gate.caller.user_id,
        at=wired.clock.now(),
    )
    say(
        console,
        f"break {break_id} {resolution} by {gate.caller.user_id}: approval #{request.request_id} ",
        ("pending", "yellow"),
        " (a checker approves it with `clearwatch approvals approve`)",
    )


@break_app.command("explain")
def break_explain(
    break_id: int = typer.Argument(..., help="The break's id (`clearwatch broker breaks`)."),
    reason: str = typer.Option(..., "--reason", help="Why the sides differ."),
) -> None:
    """Explain a break (a known cause, e.g. a transfer the bank booked a day early)."""
    _resolve(break_id, "explained", reason)


@break_app.command("match")
def break_match(
    break_id: int = typer.Argument(..., help="The break's id (`clearwatch broker breaks`)."),
    reason: str = typer.Option(..., "--reason", help="What it was matched with."),
) -> None:
    """Match a break with what settles it (a later entry, a corrected statement)."""
    _resolve(break_id, "matched", reason)
