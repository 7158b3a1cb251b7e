"""Use cases of special-account filings (账户报备): file, close, list, approve, reject.

An institution's officer files a new special account or asks to close a filed one; SIPF's
registry officer approves (a new registry version, recorded with the filing that made it) or
rejects with a reason. Every filing and decision is audited in its own transaction; a denial
changes nothing and is audited (`denials_audited`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from clearwatch.domain.access.policy import Action, Denied, Resource
from clearwatch.domain.monitor.filings import (
    Filing,
    FilingAudit,
    FilingKind,
    FilingRule,
    FilingStatus,
    check_decidable,
    check_new_account,
    check_own_institution,
    checked_reason,
    filed_account,
    filer_side,
    not_filed,
    registry_after,
)
from clearwatch.domain.monitor.registry import RegistrySnapshot, SpecialAccountFiling
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate, PolicyDenied, denials_audited
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.filings_ports import (
    FilingConflict,
    FilingsContext,
    FilingsUnitOfWork,
    NewFiling,
    NewFilingDecision,
)


def _registry(uow: FilingsUnitOfWork) -> RegistrySnapshot:
    registry = uow.registry.current()
    if registry is None:
        raise Refused(FilingRule.REGISTRY_MUST_BE_LOADED, "no registry version to file against")
    return registry


def _read(context: FilingsContext) -> FilingsUnitOfWork:
    return (context.read_uow_factory or context.uow_factory)()


def _check_filer(
    gate: Gate, action: Action, own: str, account: SpecialAccountFiling, registry: RegistrySnapshot
) -> None:
    """Deny, audited, an officer asking for an account that is not their institution's (a
    broker's officer for another broker's account): nothing changes but the audit log."""
    try:
        check_own_institution(own, registry, account)
    except Refused as broken:
        resource = Resource(institution=filer_side(own, registry, account))
        with denials_audited(gate.uow_factory(), at=gate.clock.now()):
            raise PolicyDenied(
                Denied(broken.rule, broken.where),
                user_id=gate.caller.label,
                action=action,
                resource=resource,
            ) from broken


def file_account(*, account: SpecialAccountFiling, gate: Gate, context: FilingsContext) -> Filing:
    """An institution's officer files a new special account; it waits for SIPF's approval."""
    own = gate.check_own(Action.FILINGS_FILE).organisation.code
    with _read(context) as uow:
        registry = _registry(uow)
    _check_filer(gate, Action.FILINGS_FILE, own, account, registry)
    with context.uow_factory() as uow:
        uow.filings.lock()
        checked = check_new_account(account, _registry(uow), uow.filings.pending_accounts())
        return _add(uow, FilingKind.OPEN, checked, own, "", gate, context.clock.now())


def close_account(*, account_no: str, reason: str, gate: Gate, context: FilingsContext) -> Filing:
    """An institution's officer asks to take a filed account out of the registry."""
    own = gate.check_own(Action.FILINGS_CLOSE).organisation.code
    why = checked_reason(reason, "why the account closes")
    with _read(context) as uow:
        registry = _registry(uow)
    account = filed_account(account_no, registry, ())
    try:
        _check_filer(gate, Action.FILINGS_CLOSE, own, account, registry)
    except PolicyDenied as denied:  # audited; answered as an account never filed, so that
        # closing cannot tell who owns an account number (they are masked everywhere else)
        raise not_filed(account_no, registry) from denied
    with context.uow_factory() as uow:
        uow.filings.lock()
        account = filed_account(account_no, _registry(uow), uow.filings.pending_accounts())
        return _add(uow, FilingKind.CLOSE, account, own, why, gate, context.clock.now())


def _add(
    uow: FilingsUnitOfWork,
    kind: FilingKind,
    account: SpecialAccountFiling,
    institution_id: str,
    reason: str,
    gate: Gate,
    at: datetime,
) -> Filing:
    actor = gate.caller.label
    new = NewFiling(kind, account, institution_id, reason, actor, at)
    filing_id = uow.filings.add(new)
    filing = Filing(filing_id, kind, account, institution_id, reason, actor, at)
    record_audit(
        uow,
        actor=actor,
        action=FilingAudit.FILED,
        object_ref=filing.reference,
        payload={"kind": kind.value, "institution_id": institution_id, "reason": reason}
        | _account_payload(account),
        recorded_at=at,
    )
    uow.commit()
    return filing


def _account_payload(account: SpecialAccountFiling) -> dict[str, str]:
    return {
        "account_no": account.account_no,
        "bank_id": account.bank_id,
        "broker_id": account.broker_id,
        "purpose": account.purpose,
        "branch_region": account.branch_region,
        "filed_on": account.filed_on.isoformat(),
    }


def list_filings(
    *,
    gate: Gate,
    context: FilingsContext,
    institution_id: str | None = None,
    status: FilingStatus | None = None,
) -> list[Filing]:
    """The filings the caller may see: their institution's own, or all for SIPF."""
    sees = gate.lister(Action.FILINGS_LIST)
    with _read(context) as uow:
        found = uow.filings.filings(institution_id=institution_id, status=status)
    return [f for f in found if sees(Resource(institution=f.institution_id))]


def _decidable(gate: Gate, action: Action, filing_id: int, context: FilingsContext) -> Filing:
    """The filing, once the policy lets the caller decide it (denials audited)."""
    gate.lister(action)  # who may decide nothing learns nothing, not even whether it exists
    with _read(context) as uow:
        filing = uow.filings.get(filing_id)
    if filing is None:
        raise Refused(FilingRule.FILING_MUST_EXIST, f"no filing {filing_id}")
    gate.check(action, Resource(institution=filing.institution_id))
    check_decidable(filing, gate.caller.label)
    return filing


def approve_filing(*, filing_id: int, gate: Gate, context: FilingsContext) -> Filing:
    """SIPF's registry officer approves: the registry's next version holds the change."""
    _decidable(gate, Action.FILINGS_APPROVE, filing_id, context)
    actor, at = gate.caller.label, context.clock.now()
    with context.uow_factory() as uow:
        uow.filings.lock()
        filing = _pending(uow, filing_id, actor)
        content = registry_after(filing, _registry(uow))
        version = uow.registry.save_version(content, loaded_at=at, loaded_by=actor)
        _decide(uow, filing, FilingStatus.APPROVED, actor, at, "", version)
        account = _account_payload(filing.account)
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.MONITOR_REGISTRY_LOAD,
            object_ref=f"registry:{version}",
            payload={"source": filing.reference, "changed": True}
            | {"content_sha256": content.content_sha256}
            | {"special_accounts": len(content.special_accounts)},
            recorded_at=at,
        )
        record_audit(
            uow,
            actor=actor,
            action=FilingAudit.APPROVED,
            object_ref=filing.reference,
            payload={"kind": filing.kind.value, "registry_version": version} | account,
            recorded_at=at,
        )
        uow.commit()
    return _decided(filing, FilingStatus.APPROVED, actor, at, "", version)


def reject_filing(*, filing_id: int, reason: str, gate: Gate, context: FilingsContext) -> Filing:
    """SIPF's registry officer rejects, with a reason; the registry stays as it is."""
    _decidable(gate, Action.FILINGS_REJECT, filing_id, context)
    why = checked_reason(reason, "why the filing is rejected")
    actor, at = gate.caller.label, context.clock.now()
    with context.uow_factory() as uow:
        uow.filings.lock()
        filing = _pending(uow, filing_id, actor)
        _decide(uow, filing, FilingStatus.REJECTED, actor, at, why, None)
        record_audit(
            uow,
            actor=actor,
            action=FilingAudit.REJECTED,
            object_ref=filing.reference,
            payload={"kind": filing.kind.value, "reason": why} | _account_payload(filing.account),
            recorded_at=at,
        )
        uow.commit()
    return _decided(filing, FilingStatus.REJECTED, actor, at, why, None)


def _pending(uow: FilingsUnitOfWork, filing_id: int, decider: str) -> Filing:
    """The filing read again in the deciding transaction: still pending, not the decider's."""
    filing = uow.filings.get(filing_id)
    if filing is None:
        raise Refused(FilingRule.FILING_MUST_EXIST, f"no filing {filing_id}")
    check_decidable(filing, decider)
    return filing


def _decide(
    uow: FilingsUnitOfWork,
    filing: Filing,
    status: FilingStatus,
    actor: str,
    at: datetime,
    reason: str,
    version: int | None,
) -> None:
    try:
        uow.filings.decide(NewFilingDecision(filing.filing_id, status, actor, at, reason, version))
    except FilingConflict as conflict:
        raise Refused(
            FilingRule.FILING_MUST_BE_PENDING, f"{filing.reference} was decided meanwhile"
        ) from conflict


def _decided(
    filing: Filing,
    status: FilingStatus,
    actor: str,
    at: datetime,
    reason: str,
    version: int | None,
) -> Filing:
    return replace(
        filing,
        status=status,
        decided_by=actor,
        decided_at=at,
        decision_reason=reason,
        registry_version=version,
    )
