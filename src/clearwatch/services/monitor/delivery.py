"""The delivery worker over the outbox, and what recipients and operators read of it.

Each outbox row is claimed (an event with the next seq: two workers never both claim it),
tried, and its outcome appended: delivered, failed (retried after a doubling back-off), or
parked once `attempts_max` attempts failed. A claim left without an outcome by a worker that
died counts as an attempt and is tried again after `claim_lease`. A webhook may therefore
arrive twice after a crash, always under the same delivery key, which the receiver
deduplicates; the inbox is filed once per (recipient, key) by the database itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from clearwatch.domain.access.organisations import CSRC_ID
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.cases_notice import Channel, DeliveryEvent, retry_at
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.delivery_ports import (
    Delivery,
    DeliveryContext,
    DeliveryFailed,
    InboxMessage,
)


@dataclass(frozen=True)
class DeliveryRound:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    parked: int = 0


def deliver_due(*, context: DeliveryContext, worker: str) -> DeliveryRound:
    """One round: every due delivery (up to `batch_max`) tried once."""
    now = context.clock.now()
    with context.uow_factory() as uow:
        due = uow.outbox.due(now=now, claim_lease=context.claim_lease, limit=context.batch_max)
    done = DeliveryRound()
    for delivery in due:
        if delivery.attempts >= context.attempts_max:  # a dead worker's claims used them up
            _park(delivery, context, worker, delivery.error or "claims without an outcome")
            done = replace(done, parked=done.parked + 1)
            continue
        with context.uow_factory() as uow:
            claimed = uow.outbox.append_event(
                delivery, DeliveryEvent.CLAIMED, at=now, worker=worker
            )
            uow.commit()
        if not claimed:
            continue  # another worker has it
        context.crash_point(f"{delivery.channel.value}_claimed")
        claim = replace(
            delivery, last_event=DeliveryEvent.CLAIMED, last_seq=delivery.last_seq + 1,
            attempts=delivery.attempts + 1, last_at=now,
        )  # fmt: skip
        done = replace(done, attempted=done.attempted + 1)
        outcome = _attempt(claim, context, worker)
        done = replace(done, **{outcome: getattr(done, outcome) + 1})
    return done


def _attempt(delivery: Delivery, context: DeliveryContext, worker: str) -> str:
    """Try the delivery once and record the outcome: `delivered`, `failed` or `parked`."""
    try:
        detail = _send(delivery, context) if delivery.channel is not Channel.INBOX else {}
    except DeliveryFailed as failure:
        if delivery.attempts >= context.attempts_max:
            _park(delivery, context, worker, str(failure))
            return "parked"
        at = context.clock.now()
        later = retry_at(at, attempts=delivery.attempts, base=context.backoff_base)
        with context.uow_factory() as uow:
            uow.outbox.append_event(
                delivery, DeliveryEvent.FAILED, at=at, worker=worker, error=str(failure),
                retry_at=later,
            )  # fmt: skip
            uow.commit()
        return "failed"
    context.crash_point(f"{delivery.channel.value}_sent")
    _delivered(delivery, context, worker, detail)
    return "delivered"


def _send(delivery: Delivery, context: DeliveryContext) -> dict[str, Any]:
    """The external part of a webhook or documents delivery; what it left, as detail."""
    payload = delivery.payload
    if delivery.channel is Channel.WEBHOOK:
        endpoint = context.webhooks.endpoint(delivery.recipient)
        if endpoint is None:
            raise DeliveryFailed(f"no webhook endpoint configured for {delivery.recipient}")
        context.sender.send(endpoint, key=delivery.delivery_key, body=notice_body(payload))
        return {"url": endpoint.url}
    stem = (
        f"{payload['business_date']}_{payload['institution_id']}_{delivery.notice.value}_"
        f"{delivery.warning_key[:12]}"
    )
    return {
        "pdf": context.shelf.put(delivery.recipient, f"{stem}.pdf", context.renderer.pdf(payload)),
        "xlsx": context.shelf.put(
            delivery.recipient, f"{stem}.xlsx", context.renderer.workbook(payload)
        ),
    }


def notice_body(payload: Mapping[str, Any]) -> bytes:
    """The webhook's body: the payload as canonical JSON (the same bytes on every attempt)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _delivered(
    delivery: Delivery, context: DeliveryContext, worker: str, detail: dict[str, Any]
) -> None:
    at = context.clock.now()
    with context.uow_factory() as uow:
        if delivery.channel is Channel.INBOX:
            uow.outbox.put_inbox(_message(delivery, at))
        uow.outbox.append_event(
            delivery, DeliveryEvent.DELIVERED, at=at, worker=worker, detail=detail
        )
        record_audit(
            uow,
            actor=worker,
            action=AuditAction.MONITOR_DELIVERY_DELIVERED,
            object_ref=f"delivery:{delivery.delivery_key}:{delivery.channel.value}",
            payload={"attempt": delivery.attempts, **detail},
            recorded_at=at,
        )
        uow.commit()


def _park(delivery: Delivery, context: DeliveryContext, worker: str, error: str) -> None:
    at = context.clock.now()
    with context.uow_factory() as uow:
        if uow.outbox.append_event(
            delivery, DeliveryEvent.PARKED, at=at, worker=worker, error=error
        ):
            record_audit(
                uow,
                actor=worker,
                action=AuditAction.MONITOR_DELIVERY_PARKED,
                object_ref=f"delivery:{delivery.delivery_key}:{delivery.channel.value}",
                payload={"attempts": delivery.attempts, "error": error},
                recorded_at=at,
            )
        uow.commit()


def _message(delivery: Delivery, at: datetime) -> InboxMessage:
    payload = delivery.payload
    return InboxMessage(
        message_id=0,
        recipient=delivery.recipient,
        delivery_key=delivery.delivery_key,
        business_date=datetime.fromisoformat(str(payload["business_date"])).date(),
        institution_id=str(payload["institution_id"]),
        level=str(payload["level"]),
        notice=delivery.notice,
        special_report=bool(payload["special_report"]),
        body=payload,
        delivered_at=at,
    )


def inbox_resource(recipient: str) -> Resource:
    """An inbox belongs to its recipient organisation: a bureau, an institution, or CSRC. What
    is in it was delivered, so released: the outbox is written only with an approval."""
    return Resource(
        institution=recipient, bureau=recipient, special_report=recipient == CSRC_ID, released=True
    )


def read_inbox(*, gate: Gate, context: DeliveryContext) -> list[InboxMessage]:
    """The messages of the inboxes the caller may read: their own organisation's."""
    sees = gate.lister(Action.INBOX_READ)
    with context.uow_factory() as uow:
        messages = uow.outbox.inbox()
    return [m for m in messages if sees(inbox_resource(m.recipient))]


def list_deliveries(
    *, gate: Gate, context: DeliveryContext, parked_only: bool = False
) -> list[Delivery]:
    """The outbox as an operator sees it: every delivery and where it stands."""
    gate.check(Action.DELIVERIES_LIST, Resource())
    with context.uow_factory() as uow:
        found = uow.outbox.deliveries()
    return [d for d in found if not parked_only or d.last_event is DeliveryEvent.PARKED]


def run_worker(*, gate: Gate, context: DeliveryContext, worker: str) -> DeliveryRound:
    """`deliver`: the caller must be allowed to run deliveries; then one round."""
    gate.check(Action.DELIVER, Resource())
    return deliver_due(context=context, worker=worker)
