"""Drills: incidents A (phantom funds) and B (duplicate import) replayed on the real code paths.

Each drill builds its inputs (batch directories with the incident's figures), drives the same
use cases the CLI drives — the batch importer, the books, trading nodes with leases and fencing,
maker-checker — against the store it is given (normally a fresh temporary one), and reports a
narrative of what happened, which control acted, and the checks that decide PASS or FAIL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from clearwatch.domain.access.approvals import AccessRefused
from clearwatch.domain.access.organisations import back_office
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.batch_files import BATCH_FORMAT, BATCH_KINDS
from clearwatch.domain.shared.money import format_fen
from clearwatch.services.access import approvals
from clearwatch.services.access.users import add_user
from clearwatch.services.audit.audit_log import verify_audit
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork
from clearwatch.services.intraday.ports import IntradayUnitOfWork

DRILL_DAY = date(2026, 11, 20)
DRILL_BROKER = "B001"
DRILL_BANK = "K001"
MAKER = "ops-wang"
CHECKER = "chk-li"
ADMIN = "root"


class HandEdit(Protocol):
    """A statement typed at a database console; returns the database's refusal, or None."""

    def __call__(self, statement: str) -> str | None: ...


class DrillUnitOfWork(BackOfficeUnitOfWork, IntradayUnitOfWork, Protocol):
    """The drills touch the books, the batches, the nodes and the approvals."""


@dataclass(frozen=True)
class DrillStore:
    uow: Callable[[], DrillUnitOfWork]
    read_uow: Callable[[], DrillUnitOfWork]
    tools: BackOfficeTools
    hand_edit: HandEdit
    workdir: Path


class DrillClock:
    """The drill's own time, moved by the script so leases expire when the story says."""

    def __init__(self, start: datetime) -> None:
        self._at = start

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


@dataclass(frozen=True)
class DrillCheck:
    name: str
    passed: bool
    detail: str


@dataclass
class DrillLog:
    lines: list[str] = field(default_factory=list)
    checks: list[DrillCheck] = field(default_factory=list)
    # The client fund accounts the narrative names: masked wherever it is printed.
    clients: frozenset[str] = frozenset()

    def say(self, text: str, *, control: str | None = None) -> None:
        self.lines.append(text if control is None else f"{text}  [control: {control}]")

    def check(self, name: str, passed: bool, detail: str) -> None:
        self.checks.append(DrillCheck(name, passed, detail))


@dataclass(frozen=True)
class DrillReport:
    name: str
    narrative: tuple[str, ...]
    checks: tuple[DrillCheck, ...]
    clients: frozenset[str] = frozenset()  # masked when printed (`masking.mask_in`)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)


def money(fen: int) -> str:
    """Thousands-separated yuan for the narrative, e.g. 195,000,000.00."""
    text = format_fen(fen)
    sign = "-" if text.startswith("-") else ""
    whole, _, cents = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}.{cents}"


def write_batch(
    directory: Path,
    *,
    kind: str,
    batch_id: str,
    files: Mapping[str, Sequence[Sequence[str]]],
    business_date: date = DRILL_DAY,
    corrects_batch_id: str | None = None,
    damaged: str | None = None,
) -> Path:
    """A `clearwatch.batch/1` directory; `damaged` names a file truncated after hashing."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, rows in files.items():
        spec = BATCH_KINDS[kind].file(name)
        header = spec.column_names if spec is not None else ("record_no", "value")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        data = buffer.getvalue().encode("utf-8")
        entries.append(
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": len(rows)}
        )
        (directory / name).write_bytes(data[: len(data) // 2] if name == damaged else data)
    manifest: dict[str, object] = {
        "format": BATCH_FORMAT,
        "kind": kind,
        "broker_id": DRILL_BROKER,
        "business_date": business_date.isoformat(),
        "batch_id": batch_id,
        "encoding": "utf-8",
        "files": entries,
    }
    if corrects_batch_id is not None:
        manifest["corrects_batch_id"] = corrects_batch_id
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    return directory


def static_batch(directory: Path, *, cash_by_client: Mapping[str, int]) -> Path:
    """Clients with opening cash, all held in one special account at one bank."""
    total = sum(cash_by_client.values())
    return write_batch(
        directory,
        kind="static",
        batch_id="STATIC-1",
        files={
            "special_accounts.csv": [["SA001", DRILL_BANK, "client_settlement"]],
            "clients.csv": [
                [account, f"C-{account}", "normal", DRILL_BANK, "", "active"]
                for account in cash_by_client
            ],
            "opening.csv": [
                *([account, "CASH", format_fen(cash)] for account, cash in cash_by_client.items()),
                ["SA001", "CASH", format_fen(total)],
            ],
        },
    )


def register_people(store: DrillStore, at: datetime) -> None:
    """An admin, a maker and a checker of the drill broker's back office."""
    add_user(
        uow=store.uow(),
        user_id=ADMIN,
        roles=[Role.ADMIN],
        organisation=back_office(DRILL_BROKER),
        actor="bootstrap",
        at=at,
    )
    for user_id, role in ((MAKER, Role.OPERATOR), (CHECKER, Role.CHECKER)):
        add_user(
            uow=store.uow(),
            user_id=user_id,
            roles=[role],
            organisation=back_office(DRILL_BROKER),
            actor=ADMIN,
            at=at,
        )


def approve_with_segregation(
    store: DrillStore,
    log: DrillLog,
    *,
    kind: str,
    subject_ref: str,
    at: datetime,
    content: Mapping[str, Any] | None = None,
) -> int:
    """The maker asks for exactly `content` (what the approval is bound to), fails to approve
    her own request, and a checker approves."""
    request = approvals.request_approval_committed(
        uow=store.uow(),
        kind=kind,
        subject_ref=subject_ref,
        payload=dict(content) if content is not None else {"drill": True},
        maker=MAKER,
        at=at,
    )
    log.say(f"{MAKER} requests approval #{request.request_id}: {kind} {subject_ref}")
    try:
        approvals.approve_committed(
            uow=store.uow(), request_id=request.request_id, checker=MAKER, at=at
        )
        log.check("the maker cannot approve her own request", False, "it was approved")
    except AccessRefused as refusal:
        log.say(f"{MAKER} tries to approve it herself: refused", control=refusal.rejection.value)
        log.check("the maker cannot approve her own request", True, refusal.rejection.value)
    approvals.approve_committed(
        uow=store.uow(), request_id=request.request_id, checker=CHECKER, at=at
    )
    log.say(f"{CHECKER} (checker) approves #{request.request_id}", control="maker-checker 双人复核")
    return request.request_id


def audit_intact(store: DrillStore, log: DrillLog) -> None:
    verdict = verify_audit(uow=store.read_uow())
    log.check(
        "the audit chain verifies",
        verdict.first_break is None,
        f"{verdict.records_checked} records",
    )
