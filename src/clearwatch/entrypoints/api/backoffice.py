"""A broker's back office over HTTP: batch import, batches received, the books' check, end of day.

Only the broker's own back office (`BO:<broker>`) reaches its books. End of day reads batches
from a folder on the server: the request names it, and it must lie inside the configured
`CLEARWATCH_INBOX_ROOT` (links resolved first), so a caller cannot point the server anywhere
else on its disk.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearwatch.bootstrap import Application
from clearwatch.config import INBOX_ROOT
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.entrypoints.api.problems import ProblemError, problems, status_of
from clearwatch.entrypoints.api.security import CallerGate, Wired, may_ask
from clearwatch.entrypoints.api.uploads import received_upload, upload_body
from clearwatch.entrypoints.api.values import BusinessDate
from clearwatch.services.access.authorize import Gate
from clearwatch.services.backoffice.batches import list_batches
from clearwatch.services.backoffice.books_check import BooksBreached, check_books_committed
from clearwatch.services.backoffice.import_batch import ImportResult, import_batch, read_manifest
from clearwatch.services.backoffice.run_eod import EodFailed, EodRequest, report_json, run_eod

router = APIRouter(prefix="/backoffice", tags=["back office"])
BOOKS_MUST_HOLD = "books_must_hold"
INBOX_ROOT_MUST_BE_CONFIGURED = "inbox_root_must_be_configured"
INBOX_MUST_BE_INSIDE_ROOT = "inbox_must_be_inside_inbox_root"
INBOX_MUST_BE_A_DIRECTORY = "inbox_must_be_a_directory"
BrokerId = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9_]{0,31}$")]


class Imported(BaseModel):
    batch: str
    kind: str
    business_date: str
    status: str = Field(description="applied or already_imported.")
    files_applied: list[str]
    files_already_imported: list[str]
    files_kept: list[str]
    records_skipped: int
    entries_posted: int


class BatchOut(BaseModel):
    broker_id: str
    batch_id: str
    kind: str
    business_date: date
    content_sha256: str
    corrects_batch_id: str | None
    received_at: str
    status: str
    files: int


class BooksChecked(BaseModel):
    broker_id: str
    as_of: date
    holds: bool
    breaches: list[str]


class EodOrder(BaseModel):
    business_date: BusinessDate
    inbox: str = Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description=f"A folder of batch folders, inside {INBOX_ROOT} (relative to it, or not).",
    )


class EodDone(BaseModel):
    broker_id: str
    business_date: date
    out_dir: str
    steps_run: list[str]
    steps_skipped: list[str]
    imports: list[dict[str, Any]]


def _books_breached(breached: BooksBreached) -> ProblemError:
    errors = [{"breach": breach.describe()} for breach in breached.breaches[:100]]
    return ProblemError(409, BOOKS_MUST_HOLD, str(breached)[:2000], errors=errors)


def _batch_refused(rejected: BatchRejected) -> ProblemError:
    errors = [rejection.as_json() for rejection in rejected.rejections]
    return ProblemError(status_of(rejected), rejected.rule, str(rejected)[:2000], errors=errors)


@router.post("/batches", responses=problems(403, 409, 413), openapi_extra=upload_body("a batch"))
async def batches_import(request: Request, gate: CallerGate, wired: Wired) -> Imported:
    """Import one batch (a tar of its folder): applied whole or not at all; again, nothing."""
    # Whoever may import into no books is refused before a byte of the upload is read.
    await run_in_threadpool(may_ask, gate, Action.BROKER_IMPORT)
    async with received_upload(request, wired) as upload:
        result = await run_in_threadpool(_import, gate, wired, upload.directory)
    return Imported(
        batch=result.batch_ref,
        kind=result.kind,
        business_date=result.business_date,
        status=result.status.value,
        files_applied=list(result.files_applied),
        files_already_imported=list(result.files_already_imported),
        files_kept=list(result.files_kept),
        records_skipped=result.records_skipped,
        entries_posted=result.entries_posted,
    )


def _import(gate: Gate, wired: Application, directory: FilePath) -> ImportResult:
    try:
        broker = read_manifest(directory).broker_id
        gate.check(Action.BROKER_IMPORT, Resource(institution=broker))
        return import_batch(
            directory=directory,
            uow=wired.uow(),
            tools=wired.backoffice_tools,
            at=wired.clock.now(),
            actor=gate.caller.label,
            # In a worker thread (run_in_threadpool): the NATS publisher runs its own loop.
            publisher=wired.watch_publisher(),
        )
    except BatchRejected as rejected:
        raise _batch_refused(rejected) from rejected
    except BooksBreached as breached:
        raise _books_breached(breached) from breached


@router.get("/{broker_id}/batches", responses=problems(403))
def batches_list(broker_id: BrokerId, gate: CallerGate, wired: Wired) -> list[BatchOut]:
    """The broker's batches received, with the status the importer gave them."""
    gate.check(Action.BROKER_BATCHES, Resource(institution=broker_id))
    return [
        BatchOut(**{k: v for k, v in dataclasses.asdict(r).items() if k != "batch_pk"})
        for r in list_batches(uow=wired.read_uow(), broker_id=broker_id)
    ]


@router.get("/{broker_id}/check", responses=problems(403))
def books_check(
    broker_id: BrokerId,
    gate: CallerGate,
    wired: Wired,
    as_of: Annotated[BusinessDate, Query(alias="date")],
) -> BooksChecked:
    """Check the invariants of the books and name every breach."""
    gate.check(Action.BROKER_CHECK, Resource(institution=broker_id))
    breaches = check_books_committed(uow=wired.read_uow(), broker_id=broker_id, as_of=as_of)
    return BooksChecked(
        broker_id=broker_id,
        as_of=as_of,
        holds=not breaches,
        breaches=[breach.describe() for breach in breaches],
    )


@router.post("/{broker_id}/eod", responses=problems(403, 409))
def eod(broker_id: BrokerId, order: EodOrder, gate: CallerGate, wired: Wired) -> EodDone:
    """End of day: import the inbox's batches of the date, settle, check, write the outputs."""
    gate.check(Action.BROKER_EOD, Resource(institution=broker_id))
    request = EodRequest(
        business_date=order.business_date,
        inbox=inbox_inside_root(wired, order.inbox),
        out_root=wired.settings.home / "out",
        broker_id=broker_id,
    )
    try:
        report = run_eod(
            uow=wired.uow(),
            tools=wired.backoffice_tools,
            clock=wired.clock,
            request=request,
            actor=gate.caller.label,
            publisher=wired.watch_publisher(),
        )
    except EodFailed as failed:
        errors = [rejection.as_json() for rejection in failed.rejections]
        raise ProblemError(422, failed.rule, str(failed)[:2000], errors=errors) from failed
    except BooksBreached as breached:
        raise _books_breached(breached) from breached
    return EodDone(**json.loads(report_json(report)))


def inbox_inside_root(wired: Application, inbox: str) -> FilePath:
    """The inbox named, links resolved, if it is a folder inside the configured root."""
    root = wired.settings.inbox_root
    if root is None:
        raise ProblemError(
            409, INBOX_ROOT_MUST_BE_CONFIGURED, f"set {INBOX_ROOT} on the server to run eod here"
        )
    resolved_root = root.resolve()
    resolved = (resolved_root / inbox).resolve()  # an absolute `inbox` replaces the root
    if not resolved.is_relative_to(resolved_root):
        raise ProblemError(422, INBOX_MUST_BE_INSIDE_ROOT, f"{inbox!r} is outside {INBOX_ROOT}")
    if not resolved.is_dir():
        raise ProblemError(422, INBOX_MUST_BE_A_DIRECTORY, f"{inbox!r}")
    return resolved
