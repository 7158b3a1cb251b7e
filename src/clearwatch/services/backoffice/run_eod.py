"""End of day for one broker and date: named steps, logged, resumable, safe to re-run.

Each step is recorded in the append-only step log when it starts and when it completes; a
re-run skips completed steps, except an output step whose files (by the sha256 logged with
it) are missing from the output directory or differ: that one runs again. Steps are
idempotent on their own too: imports are keyed, the CSDC settlement entry is keyed, and
output files are rewritten whole from the books.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.batch_manifest import BatchError, BatchManifest, BatchRejected
from clearwatch.domain.backoffice.journal import EntryKind, JournalEntry, Posting, Source
from clearwatch.domain.shared.errors import ClearwatchError, Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.domain.watch.live import eod_step_event
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.books_check import BooksBreached, check_books
from clearwatch.services.backoffice.eod_outputs import (
    outputs_intact,
    write_csdc_settlement,
    write_package,
    write_reconciliation,
    write_statements,
)
from clearwatch.services.backoffice.import_batch import ImportResult, import_batch, read_manifest
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork
from clearwatch.services.shared.ports import Clock
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher

# Statements last: they post nothing, and reconciliation compares them with the books.
KIND_ORDER = ("static", "trading", "bank", "bank_statement", "csdc_statement")
EOD_ACTOR = "eod"


class EodStep(StrEnum):
    IMPORT = "import"
    SETTLE_CSDC = "settle_csdc"
    CHECK = "check"
    STATEMENTS = "statements"
    CSDC_SETTLEMENT = "csdc_settlement"
    RECONCILIATION = "reconciliation"
    PACKAGE = "package"


EOD_STEPS = tuple(EodStep)
OUTPUT_STEPS = frozenset(
    {EodStep.STATEMENTS, EodStep.CSDC_SETTLEMENT, EodStep.RECONCILIATION, EodStep.PACKAGE}
)
STEP_ACTION = {
    EodStep.IMPORT: AuditAction.EOD_STEP_IMPORT,
    EodStep.SETTLE_CSDC: AuditAction.EOD_STEP_SETTLE_CSDC,
    EodStep.CHECK: AuditAction.EOD_STEP_CHECK,
    EodStep.STATEMENTS: AuditAction.EOD_STEP_STATEMENTS,
    EodStep.CSDC_SETTLEMENT: AuditAction.EOD_STEP_CSDC_SETTLEMENT,
    EodStep.RECONCILIATION: AuditAction.EOD_STEP_RECONCILIATION,
    EodStep.PACKAGE: AuditAction.EOD_STEP_PACKAGE,
}


class EodInterrupted(ClearwatchError):
    """Raised by the `stop_after` hook: the run stops as if it crashed after that step."""


class EodFailed(Refused):
    """A step was refused; the step log shows where, and a re-run resumes there.

    The rule is the first rejection's, else `rule`; `where` names the step first.
    """

    def __init__(
        self,
        step: EodStep,
        message: str,
        rejections: tuple[BatchError, ...] = (),
        rule: str = "eod_step_must_complete",
    ):
        super().__init__(
            rejections[0].rule.value if rejections else rule, f"{step.value}: {message}"
        )
        self.step = step
        self.rejections = rejections


@dataclass
class EodReport:
    broker_id: str
    business_date: date
    out_dir: Path
    steps_run: list[str] = field(default_factory=list)
    steps_skipped: list[str] = field(default_factory=list)
    imports: list[ImportResult] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class EodRequest:
    business_date: date
    inbox: Path | None  # None: nothing to import, the day's batches came by `broker import`
    out_root: Path  # outputs go to <out_root>/<broker_id>/<D>/ unless out_dir is given
    broker_id: str | None = None
    out_dir: Path | None = None
    stop_after: str | None = None


def run_eod(
    *,
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    clock: Clock,
    request: EodRequest,
    actor: str = EOD_ACTOR,
    publisher: EventPublisher = NO_PUBLISHER,
) -> EodReport:
    """The day's steps in order, each once. The watch's `publisher` is told of each batch the
    import step delivers and of each step completed (issue 19)."""
    batches = _inbox_batches(request.inbox, request.business_date)
    broker_id = request.broker_id or _only_broker(batches)
    batches = [(path, m) for path, m in batches if m.broker_id == broker_id]
    day = request.business_date
    out_dir = request.out_dir or request.out_root / broker_id / day.isoformat()
    report = EodReport(broker_id, day, out_dir)
    with uow:
        done = uow.eod.completed_steps(broker_id, day)
    steps: dict[EodStep, Callable[[], dict[str, Any]]] = {
        EodStep.IMPORT: lambda: _import(uow, tools, clock, batches, report, publisher),
        EodStep.SETTLE_CSDC: lambda: _settle_csdc(uow, clock, broker_id, day),
        EodStep.CHECK: lambda: _check(uow, broker_id, day),
        EodStep.STATEMENTS: lambda: write_statements(uow, tools, broker_id, day, out_dir),
        EodStep.CSDC_SETTLEMENT: lambda: write_csdc_settlement(uow, tools, broker_id, day, out_dir),
        EodStep.RECONCILIATION: lambda: write_reconciliation(
            uow, tools, broker_id, day, out_dir, clock.now()
        ),
        EodStep.PACKAGE: lambda: write_package(uow, tools, broker_id, day, out_dir),
    }
    for step in EOD_STEPS:
        if step.value in done and _still_done(step, done[step.value], out_dir):
            report.steps_skipped.append(step.value)
        else:
            report.details[step.value] = _run_step(uow, clock, broker_id, day, step, steps[step])
            report.steps_run.append(step.value)
            publisher.occurred(
                [eod_step_event(broker_id=broker_id, business_date=day, step=step.value,
                                at=clock.now())]
            )  # fmt: skip
        if request.stop_after == step.value:
            raise EodInterrupted(f"stopped after {step.value} as asked")
    with uow:
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.EOD_COMPLETED,
            object_ref=f"eod:{broker_id}:{day}",
            payload={"steps_run": report.steps_run, "steps_skipped": report.steps_skipped},
            recorded_at=clock.now(),
        )
        uow.commit()
    return report


def _still_done(step: EodStep, detail: dict[str, Any], out_dir: Path) -> bool:
    """A completed step stays done, unless it writes outputs and they are not all in
    `out_dir` with the bytes it logged (a deleted package, a new `--out`, an edited file)."""
    if step not in OUTPUT_STEPS:
        return True
    outputs = detail.get("outputs")
    # Logged before outputs were hashed: nothing proves the files, so write them again.
    return isinstance(outputs, dict) and bool(outputs) and outputs_intact(out_dir, outputs)


def _run_step(
    uow: BackOfficeUnitOfWork,
    clock: Clock,
    broker_id: str,
    day: date,
    step: EodStep,
    work: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    with uow:
        uow.eod.record(broker_id, day, step=step.value, event="started", at=clock.now(), detail={})
        uow.commit()
    detail = work()
    with uow:
        uow.eod.record(
            broker_id, day, step=step.value, event="completed", at=clock.now(), detail=detail
        )
        record_audit(
            uow,
            actor=EOD_ACTOR,
            action=STEP_ACTION[step],
            object_ref=f"eod:{broker_id}:{day}",
            payload=detail,
            recorded_at=clock.now(),
        )
        uow.commit()
    return detail


def _inbox_batches(inbox: Path | None, day: date) -> list[tuple[Path, BatchManifest]]:
    """Every batch directory in the inbox (or the inbox itself) for the day, in apply order;
    none without an inbox."""
    if inbox is None:
        return []
    candidates = [inbox] if (inbox / "manifest.json").is_file() else []
    if inbox.is_dir():
        candidates += sorted(p for p in inbox.iterdir() if (p / "manifest.json").is_file())
    found: list[tuple[Path, BatchManifest]] = []
    for path in candidates:
        manifest = read_manifest(path)
        if manifest.business_date == day:
            found.append((path, manifest))
    return sorted(
        found,
        key=lambda item: (KIND_ORDER.index(item[1].kind), item[1].batch_id, str(item[0])),
    )


def _only_broker(batches: list[tuple[Path, BatchManifest]]) -> str:
    brokers = sorted({m.broker_id for _, m in batches})
    if len(brokers) != 1:
        raise EodFailed(
            EodStep.IMPORT,
            f"name the broker (--broker): the inbox holds {brokers or 'none'}",
            rule="inbox_must_hold_one_broker_or_name_it",
        )
    return brokers[0]


def _import(
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    clock: Clock,
    batches: list[tuple[Path, BatchManifest]],
    report: EodReport,
    publisher: EventPublisher,
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for path, manifest in batches:
        try:
            result = import_batch(
                directory=path, uow=uow, tools=tools, at=clock.now(), publisher=publisher
            )
        except BatchRejected as rejected:
            raise EodFailed(
                EodStep.IMPORT, f"batch {manifest.batch_ref} refused", rejected.rejections
            ) from rejected
        report.imports.append(result)
        results.append({"batch": result.batch_ref, "status": result.status.value})
    return {"batches": results}


def _settle_csdc(
    uow: BackOfficeUnitOfWork, clock: Clock, broker_id: str, day: date
) -> dict[str, Any]:
    """Pay what trades before D left in transit (and the fees owed) from or into the reserve."""
    key = f"csdc_settlement:{broker_id}:{day}"
    with uow:
        if uow.books.has_entry(key):
            return {"entry": key, "posted": False}
        previous = day - timedelta(days=1)
        open_items: list[Posting] = []
        for prefix in ("transit:", "payable:"):
            table = uow.books.balances(
                broker_id=broker_id, as_of=previous, account_prefix=prefix, asset=acc.CASH
            )
            for account, quantity in zip(
                table.column("account").to_pylist(),
                table.column("quantity").to_pylist(),
                strict=True,
            ):
                if quantity:
                    open_items.append(Posting(account, acc.CASH, -quantity))
        per_market: dict[str, int] = {}
        for item in open_items:
            market = item.account.rsplit(":", 1)[-1]
            per_market[market] = per_market.get(market, 0) - item.quantity
        if not open_items:
            return {"entry": key, "posted": False}
        reserve = [Posting(acc.reserve(m), acc.CASH, q) for m, q in sorted(per_market.items())]
        entry = JournalEntry(
            broker_id=broker_id,
            business_date=day,
            kind=EntryKind.CSDC_SETTLEMENT,
            idempotency_key=key,
            source=Source(user=EOD_ACTOR),
            postings=tuple(open_items + reserve),
            memo="CSDC net settlement of earlier trade days, from/into the reserve",
        )
        uow.books.post(entry, recorded_at=clock.now())
        uow.commit()
    return {"entry": key, "posted": True, "reserve_change_fen": per_market}


def _check(uow: BackOfficeUnitOfWork, broker_id: str, day: date) -> dict[str, Any]:
    with uow:
        breaches = check_books(uow=uow, broker_id=broker_id, as_of=day, entries_of_date_only=True)
    if breaches:
        raise BooksBreached(tuple(breaches))
    return {"breaches": 0}


def report_json(report: EodReport) -> str:
    return json.dumps(
        {
            "broker_id": report.broker_id,
            "business_date": report.business_date.isoformat(),
            "out_dir": str(report.out_dir),
            "steps_run": report.steps_run,
            "steps_skipped": report.steps_skipped,
            "imports": [
                {"batch": r.batch_ref, "kind": r.kind, "status": r.status.value}
                for r in report.imports
            ],
        },
        indent=2,
        default=str,
    )


def eod_broker(request: EodRequest) -> str:
    """The broker an end of day is for: named, or the one broker of the day's inbox (the
    entrypoint asks the policy for it before anything runs)."""
    if request.broker_id is not None:
        return request.broker_id
    return _only_broker(_inbox_batches(request.inbox, request.business_date))
