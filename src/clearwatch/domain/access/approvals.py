"""Maker-checker (双人复核): requests, decisions, and the rules a decision must pass."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.access.roles import APPROVER_ROLES, MAKER_ROLES, Role
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.money import MoneyFormatError, format_fen, parse_fen


class ApprovalKind(StrEnum):
    """What needs a second person."""

    MANUAL_ADJUSTMENT = "manual_adjustment"
    CORRECTION_BATCH = "correction_batch"
    TRANSFER = "transfer"
    OVERRIDE = "override"
    EMERGENCY_GRANT = "emergency_grant"
    REVERSAL = "reversal"
    ACCOUNT_STATUS = "account_status"  # an account made active, frozen or closed
    AMOUNT_FREEZE = "amount_freeze"  # an amount freeze (司法冻结) placed or lifted
    BREAK_RESOLUTION = "break_resolution"  # a reconciliation break matched or explained
    # The monitor accepts a broker's audit heads under a new key (the pinned one was lost or
    # rotated): SIPF's admin asks, a SIPF reviewer approves. Subject `institution:<id>`.
    WITNESS_KEY_ROTATION = "witness_key_rotation"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalDecision(StrEnum):
    """A checker's answer to a pending request (not the monitor's intake of a package)."""

    APPROVE = "approve"
    REJECT = "reject"


class AccessRejection(StrEnum):
    """Why a request or a decision is refused, in precedence order."""

    KIND_MUST_BE_KNOWN = "kind_must_be_known"
    SUBJECT_MUST_NOT_BE_EMPTY = "subject_must_not_be_empty"
    MAKER_MUST_BE_REGISTERED = "maker_must_be_registered"
    MAKER_MUST_HOLD_OPERATOR_OR_ADMIN_ROLE = "maker_must_hold_operator_or_admin_role"
    REQUEST_MUST_NOT_DUPLICATE_PENDING = "request_must_not_duplicate_pending"
    REQUEST_MUST_EXIST = "request_must_exist"
    REQUEST_MUST_BE_PENDING = "request_must_be_pending"
    CHECKER_MUST_BE_REGISTERED = "checker_must_be_registered"
    CHECKER_MUST_NOT_BE_MAKER = "checker_must_not_be_maker"
    ADMIN_MUST_NOT_APPROVE = "admin_must_not_approve"
    GRANTEE_MUST_NOT_APPROVE_OWN_GRANT = "grantee_must_not_approve_own_grant"
    EMERGENCY_GRANT_MUST_NOT_BE_EXPIRED = "emergency_grant_must_not_be_expired"
    CHECKER_MUST_HOLD_CHECKER_ROLE = "checker_must_hold_checker_role"
    REJECTION_MUST_HAVE_REASON = "rejection_must_have_reason"
    USER_MUST_BE_REGISTERED = "user_must_be_registered"
    TOKEN_MUST_BE_FOR_A_MACHINE = "token_must_be_for_a_machine"  # a user with no password
    USER_MUST_NOT_EXIST_ALREADY = "user_must_not_exist_already"
    USER_ID_MUST_BE_PLAIN = "user_id_must_be_plain"
    GRANT_MUST_END_AFTER_IT_STARTS = "grant_must_end_after_it_starts"
    GRANT_MUST_NOT_EXCEED_HOURS_MAX = "grant_must_not_exceed_hours_max"
    APPROVAL_MUST_EXIST = "approval_must_exist"
    APPROVAL_MUST_MATCH_CONTENT = "approval_must_match_content"


class AccessRefused(Refused):
    """An expected refusal with its named rule; nothing was changed."""

    def __init__(self, rejection: AccessRejection, detail: str = "") -> None:
        super().__init__(rejection.value, detail)
        self.rejection = rejection
        self.detail = detail


@dataclass(frozen=True)
class ApprovalRequest:
    """A maker's request and, once decided, the checker's decision."""

    request_id: int
    kind: ApprovalKind
    subject_ref: str
    payload: Mapping[str, Any]
    maker: str
    requested_at: datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    checker: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    # sha256 of exactly what is approved (`content_sha256` of the payload), None when the
    # kind binds no content or the payload does not spell all of it: then it approves nothing
    # that must match content.
    content_sha256: str | None = None


# What a request of each kind approves, by payload field: applying anything else is refused.
# `amount` is exact text (`-1.00`); lists (a batch's files, an entry's postings) are sets.
CONTENT_FIELDS: Mapping[ApprovalKind, tuple[str, ...]] = {
    ApprovalKind.MANUAL_ADJUSTMENT: ("fund_account", "amount", "reason"),
    ApprovalKind.TRANSFER: ("fund_account", "direction", "amount", "bank_id"),
    ApprovalKind.CORRECTION_BATCH: ("corrects_batch_id", "files"),
    ApprovalKind.REVERSAL: ("reverses", "postings"),
    ApprovalKind.ACCOUNT_STATUS: ("fund_account", "status"),
    ApprovalKind.AMOUNT_FREEZE: ("fund_account", "amount", "action"),
    ApprovalKind.BREAK_RESOLUTION: ("break_id", "difference", "resolution", "reason"),
    ApprovalKind.WITNESS_KEY_ROTATION: ("institution_id", "key_sha256"),
}


def content_sha256(kind: ApprovalKind, payload: Mapping[str, Any]) -> str | None:
    """The sha256 of the canonical JSON of what a request of `kind` approves, read from its
    payload; None when the kind binds no content or the payload lacks or garbles a field."""
    fields = CONTENT_FIELDS.get(kind)
    if fields is None or any(name not in payload for name in fields):
        return None
    content: dict[str, Any] = {"kind": kind.value}
    for name in fields:
        value = payload[name]
        if name == "amount":
            try:
                value = format_fen(parse_fen(str(value)))
            except MoneyFormatError:
                return None
        elif isinstance(value, list | tuple):
            # Order carries no meaning in a set of files or postings; the canonical form sorts.
            value = sorted((json.loads(json.dumps(item)) for item in value), key=json.dumps)
        content[name] = value
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_content(
    request: ApprovalRequest | None, *, content: Mapping[str, Any], subject_ref: str
) -> ApprovalRequest:
    """The approved request itself if it approves exactly `content`; a named refusal if
    there is none, or if it approves something else (another amount, other files)."""
    if request is None:
        raise AccessRefused(AccessRejection.APPROVAL_MUST_EXIST, subject_ref)
    actual = content_sha256(request.kind, content)
    if actual is None or request.content_sha256 != actual:
        raise AccessRefused(
            AccessRejection.APPROVAL_MUST_MATCH_CONTENT,
            f"approval #{request.request_id} for {subject_ref} approves other content",
        )
    return request


def parse_kind(text: str) -> ApprovalKind:
    try:
        return ApprovalKind(text)
    except ValueError as error:
        raise AccessRefused(AccessRejection.KIND_MUST_BE_KNOWN, repr(text)) from error


def check_request(
    *, kind: str, subject_ref: str, maker_roles: Collection[Role] | None, pending_exists: bool
) -> ApprovalKind:
    """The rules a new request must pass; `maker_roles` is None for an unknown maker."""
    parsed = parse_kind(kind)
    if not subject_ref.strip():
        raise AccessRefused(AccessRejection.SUBJECT_MUST_NOT_BE_EMPTY)
    if maker_roles is None:
        raise AccessRefused(AccessRejection.MAKER_MUST_BE_REGISTERED)
    if not MAKER_ROLES & set(maker_roles):
        raise AccessRefused(AccessRejection.MAKER_MUST_HOLD_OPERATOR_OR_ADMIN_ROLE)
    if pending_exists:
        raise AccessRefused(
            AccessRejection.REQUEST_MUST_NOT_DUPLICATE_PENDING, f"{parsed.value} {subject_ref}"
        )
    return parsed


@dataclass(frozen=True)
class CheckerStanding:
    """What the rules need to know about the would-be checker at the moment of deciding."""

    user_id: str
    registered: bool
    permanent_roles: frozenset[Role]
    granted_roles: frozenset[Role]  # from emergency grants in force now
    expired_grant_roles: frozenset[Role]  # from emergency grants that have run out


def decide(
    request: ApprovalRequest | None,
    *,
    decision: ApprovalDecision,
    checker: CheckerStanding,
    at: datetime,
    reason: str | None = None,
) -> ApprovalRequest:
    """Apply a checker's decision; every segregation-of-duties rule is checked here, in order."""
    if request is None:
        raise AccessRefused(AccessRejection.REQUEST_MUST_EXIST)
    if request.status is not ApprovalStatus.PENDING:
        raise AccessRefused(AccessRejection.REQUEST_MUST_BE_PENDING, request.status.value)
    if not checker.registered:
        raise AccessRefused(AccessRejection.CHECKER_MUST_BE_REGISTERED, checker.user_id)
    if checker.user_id == request.maker:
        raise AccessRefused(AccessRejection.CHECKER_MUST_NOT_BE_MAKER, checker.user_id)
    roles = checker.permanent_roles | checker.granted_roles
    if Role.ADMIN in roles:
        raise AccessRefused(AccessRejection.ADMIN_MUST_NOT_APPROVE, checker.user_id)
    if (
        request.kind is ApprovalKind.EMERGENCY_GRANT
        and request.payload.get("user") == checker.user_id
    ):
        raise AccessRefused(AccessRejection.GRANTEE_MUST_NOT_APPROVE_OWN_GRANT, checker.user_id)
    if not roles & APPROVER_ROLES:
        if APPROVER_ROLES & checker.expired_grant_roles:
            raise AccessRefused(AccessRejection.EMERGENCY_GRANT_MUST_NOT_BE_EXPIRED)
        raise AccessRefused(AccessRejection.CHECKER_MUST_HOLD_CHECKER_ROLE, checker.user_id)
    match decision:
        case ApprovalDecision.APPROVE:
            status = ApprovalStatus.APPROVED
        case ApprovalDecision.REJECT:
            if not (reason or "").strip():
                raise AccessRefused(AccessRejection.REJECTION_MUST_HAVE_REASON)
            status = ApprovalStatus.REJECTED
    return replace(
        request, status=status, checker=checker.user_id, decided_at=at, reason=reason or None
    )
