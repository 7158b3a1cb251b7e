"""Reverse one journal entry (红冲): a new entry negating it and pointing at it, never an edit.

Only through a second person's approval bound to the reversed entry's key and postings
(`reversal_content`): without one, or with one for another entry or other amounts, nothing is
posted. Reversing twice is a no-op: the reversal is keyed by the entry it reverses.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection, ApprovalKind
from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.approval_content import reversal_content
from clearwatch.domain.backoffice.journal import EntryKind, JournalEntry, reversal_of
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.domain.watch.events import WatchEvent
from clearwatch.domain.watch.live import adjustment_events
from clearwatch.services.access.approvals import approved_content_for
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.books_check import check_books
from clearwatch.services.backoffice.ports import BackOfficeUnitOfWork
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher

REVERSAL_KIND = ApprovalKind.REVERSAL.value
# A day's trades and the opening are millions of netted postings: they are corrected by a
# correction batch, not reversed entry by entry.
_NOT_REVERSIBLE = frozenset({EntryKind.OPENING, EntryKind.TRADE_SETTLEMENT, EntryKind.REVERSAL})


class ReversalRule(StrEnum):
    """Why a reversal is refused, in precedence order."""

    ENTRY_MUST_EXIST = "entry_to_reverse_must_exist"
    ENTRY_MUST_BE_REVERSIBLE = "entry_to_reverse_must_be_a_record_entry"
    REVERSAL_MUST_BE_APPROVED = "reversal_must_be_approved"
    APPROVAL_MUST_MATCH_CONTENT = "approval_must_match_content"
    BOOKS_MUST_HOLD = "reversal_must_keep_the_books_holding"


def reversal_subject(entry_key: str) -> str:
    """What a reversal's approval is about: the key of the entry to reverse."""
    return f"reversal:{entry_key}"


def reverse_entry(
    *,
    uow: BackOfficeUnitOfWork,
    entry_key: str,
    business_date: date,
    actor: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> JournalEntry:
    """Post the reversal of `entry_key` on `business_date`, approved for exactly that entry.
    Once committed, the watch's `publisher` hears of each client's cash it moved."""
    with uow:
        entry = uow.books.entry(entry_key)
        if entry is None:
            raise Refused(ReversalRule.ENTRY_MUST_EXIST, entry_key)
        if entry.kind in _NOT_REVERSIBLE:
            raise Refused(ReversalRule.ENTRY_MUST_BE_REVERSIBLE, f"{entry_key} ({entry.kind})")
        reversal = reversal_of(entry, business_date=business_date, user=actor)
        done = uow.books.entry(reversal.idempotency_key)
        if done is not None:
            return done
        request_id = _approval(uow, entry)
        uow.books.post(reversal, recorded_at=at)
        breaches = check_books(
            uow=uow, broker_id=entry.broker_id, as_of=business_date, entries_of_date_only=True
        )
        if breaches:
            # e.g. reversing a deposit already withdrawn: the client's cash would go negative.
            raise Refused(ReversalRule.BOOKS_MUST_HOLD, breaches[0].describe())
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.ENTRY_REVERSED,
            object_ref=f"entry:{reversal.idempotency_key}",
            payload={"reverses": entry_key, "approval": request_id},
            recorded_at=at,
        )
        uow.commit()
    publisher.occurred(_client_cash_events(reversal, at))
    return reversal


def _client_cash_events(reversal: JournalEntry, at: datetime) -> list[WatchEvent]:
    """A manual adjustment as the watch sees it: money into a client's account is +, and a
    client's cash is a liability of the broker, so its credit (−) is money in."""
    prefix = acc.client("")
    moved: dict[str, int] = {}
    for posting in reversal.postings:
        if posting.asset == acc.CASH and posting.account.startswith(prefix):
            account = posting.account.removeprefix(prefix)
            moved[account] = moved.get(account, 0) - posting.quantity
    return adjustment_events(
        broker_id=reversal.broker_id,
        business_date=reversal.business_date,
        entry_key=reversal.idempotency_key,
        reason="reversal",
        client_cash_fen=moved,
        at=at,
    )


def _approval(uow: BackOfficeUnitOfWork, entry: JournalEntry) -> int:
    """The approval of exactly this entry's reversal, or a refusal by name."""
    try:
        approval = approved_content_for(
            uow,
            kind=REVERSAL_KIND,
            subject_ref=reversal_subject(entry.idempotency_key),
            content=reversal_content(entry),
        )
    except AccessRefused as refused:
        rule = (
            ReversalRule.APPROVAL_MUST_MATCH_CONTENT
            if refused.rejection is AccessRejection.APPROVAL_MUST_MATCH_CONTENT
            else ReversalRule.REVERSAL_MUST_BE_APPROVED
        )
        raise Refused(rule, refused.where) from None
    return approval.request_id
