"""Ports of warning approval and delivery: decisions, the outbox, inboxes, the channels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from clearwatch.domain.monitor.cases_notice import (
    Channel,
    DeliveryEvent,
    NoticeKind,
    WarningStatus,
)
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.services.monitor.cases_ports import CasesRunUnitOfWork
from clearwatch.services.shared.ports import Clock


class DeliveryFailed(ClearwatchError):
    """A channel could not deliver this time (refused, unreachable, timed out): retried."""


@dataclass(frozen=True)
class ReviewWarning:
    """A stored warning with what its approval needs: who proposed it, its key, its status."""

    warning_id: int
    business_date: date
    result_version: int
    latest: bool  # of the latest result version of its date
    institution_id: str
    level: str
    criteria: tuple[str, ...]
    route_to: str
    cc: str
    special_report: bool
    problem_amount_fen: int
    rules_version: str
    evidence_json: str
    proposed_by: str  # who ran the version that carried it first
    warning_key: str
    status: WarningStatus
    decided_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class NewWarningDecision:
    warning: ReviewWarning
    status: WarningStatus
    decided_by: str
    decided_at: datetime
    reason: str


class WarningReviewRepository(Protocol):
    def warnings(
        self, *, business_date: date | None = None, latest_only: bool = True
    ) -> list[ReviewWarning]: ...

    def warning(self, warning_id: int) -> ReviewWarning | None: ...

    def decide(self, decision: NewWarningDecision) -> bool:
        """Record the decision; False when the warning (its key) was decided already."""
        ...


@dataclass(frozen=True)
class NewDelivery:
    delivery_key: str
    warning_key: str
    recipient: str
    channel: Channel
    notice: NoticeKind
    payload: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    """An outbox row with where it stands: its last event, attempts made, when it is due."""

    delivery_id: int
    delivery_key: str
    warning_key: str
    recipient: str
    channel: Channel
    notice: NoticeKind
    payload: Mapping[str, Any]
    created_at: datetime
    last_event: DeliveryEvent | None
    last_seq: int
    attempts: int  # claims made
    last_at: datetime | None
    retry_at: datetime | None
    error: str


@dataclass(frozen=True)
class InboxMessage:
    message_id: int
    recipient: str
    delivery_key: str
    business_date: date
    institution_id: str
    level: str
    notice: NoticeKind
    special_report: bool
    body: Mapping[str, Any]
    delivered_at: datetime


class OutboxRepository(Protocol):
    def add(self, deliveries: list[NewDelivery]) -> int:
        """Insert; rows whose (warning, recipient, channel) exist are skipped. How many new."""
        ...

    def due(self, *, now: datetime, claim_lease: timedelta, limit: int) -> list[Delivery]:
        """Deliveries to try now, oldest first: never tried, failed and past their retry time,
        or claimed longer than `claim_lease` ago by a worker that never said how it went."""
        ...

    def deliveries(self) -> list[Delivery]: ...

    def append_event(
        self,
        delivery: Delivery,
        event: DeliveryEvent,
        *,
        at: datetime,
        worker: str,
        error: str = "",
        retry_at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        """Append the delivery's next event (seq `last_seq + 1`); False when another worker
        took that seq first."""
        ...

    def put_inbox(self, message: InboxMessage) -> bool:
        """File the message in its recipient's inbox; False when it is there already."""
        ...

    def inbox(self, *, recipient: str | None = None) -> list[InboxMessage]: ...


class DeliveryUnitOfWork(CasesRunUnitOfWork, Protocol):
    @property
    def warning_review(self) -> WarningReviewRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...


class DeliveryUnitOfWorkFactory(Protocol):
    def __call__(self) -> DeliveryUnitOfWork: ...


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: bytes = b""


class WebhookDirectory(Protocol):
    """Where each recipient takes webhooks, and its secret; None: it takes none."""

    def endpoint(self, recipient: str) -> Endpoint | None: ...


class WebhookSender(Protocol):
    def send(self, endpoint: Endpoint, *, key: str, body: bytes) -> None:
        """POST the body signed at the sender's real time (what the receiver's replay window
        is checked against); `DeliveryFailed` unless the receiver answered 2xx."""
        ...


class NoticeRenderer(Protocol):
    """The notice as documents: same payload, same bytes."""

    def pdf(self, payload: Mapping[str, Any]) -> bytes: ...

    def workbook(self, payload: Mapping[str, Any]) -> bytes: ...


class DocumentShelf(Protocol):
    """Where a recipient's documents are left for it (owner-only files, content-addressed)."""

    def put(self, recipient: str, name: str, data: bytes) -> str: ...


@dataclass(frozen=True)
class DeliveryContext:
    clock: Clock  # real time: retries and signatures are not a replay's business
    uow_factory: DeliveryUnitOfWorkFactory
    webhooks: WebhookDirectory
    sender: WebhookSender
    renderer: NoticeRenderer
    shelf: DocumentShelf
    attempts_max: int  # after this many failed attempts a delivery is parked
    backoff_base: timedelta
    # A claim without an outcome for this long belongs to a worker that died: tried again.
    claim_lease: timedelta
    batch_max: int = 200
    # Named instants the crash harness may kill the worker at (`CLEARWATCH_CRASH_AT`):
    # `<channel>_claimed` (the claim committed, nothing sent) and `<channel>_sent` (the
    # channel's outside act done, its outcome not yet recorded). Wired by bootstrap; none here.
    crash_point: Callable[[str], None] = lambda _point: None
