"""Use cases of warning approval: list for review, approve (writing the outbox), withdraw.

A graded warning is `proposed`. A reviewer other than whoever ran the version that carried it
approves it, and in that very transaction the outbox gets one row per recipient and channel;
or withdraws it with a reason, and nothing is ever delivered. Nothing else writes the outbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.cases_notice import (
    CRITERION_TEXT,
    LEVEL_NAMES,
    Channel,
    WarningRule,
    WarningStatus,
    check_approver,
    delivery_key,
    recipients_of,
    user_of,
)
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.domain.shared.money import format_fen
from clearwatch.services.access.authorize import Gate
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.delivery_ports import (
    DeliveryContext,
    DeliveryUnitOfWork,
    NewDelivery,
    NewWarningDecision,
    ReviewWarning,
)


def warning_resource(warning: ReviewWarning, reason: str | None = None) -> Resource:
    """What the policy needs of a warning: whose, where it goes, whether CSRC gets it, and
    whether it is released (approved: proposed and withdrawn ones stay SIPF's)."""
    return Resource(
        institution=warning.institution_id,
        bureau=warning.route_to,
        special_report=warning.special_report,
        reason=reason,
        released=warning.status is WarningStatus.APPROVED,
    )


def review_warnings(
    *,
    gate: Gate,
    context: DeliveryContext,
    business_date: date | None = None,
    status: WarningStatus | None = None,
) -> list[ReviewWarning]:
    """The warnings of each date's latest result version the caller may see, with status."""
    sees = gate.lister(Action.WARNINGS_LIST)
    with context.uow_factory() as uow:
        found = uow.warning_review.warnings(business_date=business_date)
    return [
        w for w in found if sees(warning_resource(w)) and (status is None or w.status is status)
    ]


def _warning_of(uow: DeliveryUnitOfWork, warning_id: int) -> ReviewWarning:
    warning = uow.warning_review.warning(warning_id)
    if warning is None:
        raise Refused(WarningRule.WARNING_MUST_EXIST, f"warning {warning_id}")
    return warning


def _decidable(warning: ReviewWarning, approver: str) -> None:
    if not warning.latest:
        raise Refused(
            WarningRule.WARNING_MUST_BE_OF_LATEST_VERSION,
            f"warning {warning.warning_id} is of version {warning.result_version}",
        )
    if warning.status is not WarningStatus.PROPOSED:
        raise Refused(WarningRule.WARNING_MUST_BE_PROPOSED, f"it is {warning.status}")
    check_approver(user_of(warning.proposed_by), approver)


@dataclass(frozen=True)
class ApprovalOutcome:
    warning: ReviewWarning
    status: WarningStatus
    deliveries: int  # outbox rows written with the approval


def approve_warning(*, warning_id: int, gate: Gate, context: DeliveryContext) -> ApprovalOutcome:
    """Approve a proposed warning; its deliveries enter the outbox in the same transaction."""
    return _decide(warning_id, WarningStatus.APPROVED, "", gate, context)


def withdraw_warning(
    *, warning_id: int, reason: str, gate: Gate, context: DeliveryContext
) -> ApprovalOutcome:
    """Withdraw a proposed warning, with a reason: it is never delivered."""
    if not reason.strip():
        raise Refused(WarningRule.REASON_MUST_BE_GIVEN, "withdrawing a warning")
    return _decide(warning_id, WarningStatus.WITHDRAWN, reason.strip(), gate, context)


def _decide(
    warning_id: int, status: WarningStatus, reason: str, gate: Gate, context: DeliveryContext
) -> ApprovalOutcome:
    with context.uow_factory() as uow:
        warning = _warning_of(uow, warning_id)
    action = (
        Action.WARNINGS_APPROVE if status is WarningStatus.APPROVED else Action.WARNINGS_WITHDRAW
    )
    gate.check(action, warning_resource(warning, reason or None))
    actor = gate.caller.label
    at = context.clock.now()
    with context.uow_factory() as uow:
        warning = _warning_of(uow, warning_id)
        _decidable(warning, gate.user_id)
        decision = NewWarningDecision(warning, status, actor, at, reason)
        if not uow.warning_review.decide(decision):
            raise Refused(WarningRule.WARNING_MUST_BE_PROPOSED, "decided meanwhile")
        rows = (
            _outbox_rows(uow, warning, decision, context)
            if status is WarningStatus.APPROVED
            else []
        )
        written = uow.outbox.add(rows)
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.MONITOR_WARNING_APPROVED
            if status is WarningStatus.APPROVED
            else AuditAction.MONITOR_WARNING_WITHDRAWN,
            object_ref=f"warning:{warning.warning_key}",
            payload={
                "warning_id": warning.warning_id,
                "business_date": warning.business_date.isoformat(),
                "institution_id": warning.institution_id,
                "proposed_by": warning.proposed_by,
                "reason": reason,
                "deliveries": [[r.recipient, r.channel.value] for r in rows],
            },
            recorded_at=at,
        )
        uow.commit()
    return ApprovalOutcome(warning, status, written)


def _outbox_rows(
    uow: DeliveryUnitOfWork,
    warning: ReviewWarning,
    decision: NewWarningDecision,
    context: DeliveryContext,
) -> list[NewDelivery]:
    """One row per recipient and channel: inbox and documents always, a webhook where the
    recipient has an endpoint configured."""
    registry = uow.registry.current()
    rows = []
    for recipient in recipients_of(
        route_to=warning.route_to, cc=warning.cc, special_report=warning.special_report
    ):
        key = delivery_key(warning.warning_key, recipient.organisation)
        payload = notice_payload(warning, decision, registry, recipient.organisation, key)
        payload["notice"] = recipient.notice.value
        payload["title"] = recipient.notice.heading
        channels = [Channel.INBOX, Channel.DOCUMENTS]
        if context.webhooks.endpoint(recipient.organisation) is not None:
            channels.append(Channel.WEBHOOK)
        rows += [
            NewDelivery(key, warning.warning_key, recipient.organisation, channel, recipient.notice,
                        payload, decision.decided_at)
            for channel in channels
        ]  # fmt: skip
    return rows


def notice_payload(
    warning: ReviewWarning,
    decision: NewWarningDecision,
    registry: RegistrySnapshot | None,
    recipient: str,
    key: str,
) -> dict[str, Any]:
    """What every channel delivers: the warning, its findings and evidence, who approved."""
    evidence = json.loads(warning.evidence_json)
    institution = registry.institution(warning.institution_id) if registry else None
    return {
        "delivery_key": key,
        "warning_key": warning.warning_key,
        "recipient": recipient,
        "business_date": warning.business_date.isoformat(),
        "result_version": warning.result_version,
        "institution_id": warning.institution_id,
        "institution_name": institution.name if institution else warning.institution_id,
        "institution_kind": institution.kind.value if institution else "",
        "level": warning.level,
        "level_name": LEVEL_NAMES.get(warning.level, warning.level),
        "criteria": [{"code": c, "text": CRITERION_TEXT.get(c, "")} for c in warning.criteria],
        "route_to": warning.route_to,
        "cc": warning.cc,
        "special_report": warning.special_report,
        "problem_amount": format_fen(warning.problem_amount_fen),
        "problem_amount_fen": warning.problem_amount_fen,
        "problem_ratio": evidence.get("problem_ratio"),
        "findings": evidence.get("findings", []),
        "decisions": evidence.get("decisions", []),
        "reporting_g6": evidence.get("reporting_g6", []),
        "rules_version": warning.rules_version,
        "proposed_by": warning.proposed_by,
        "approved_by": decision.decided_by,
        "approved_at": decision.decided_at.isoformat(),
    }
