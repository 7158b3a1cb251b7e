"""Account status and amount freezes: changed only through an approved request (双人复核),
read by transfers, withdrawals, intraday checks and the booking of executions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.backoffice.account_status import (
    AccountEvent,
    AccountRecord,
    AccountStatus,
    effective_statuses,
    frozen_amounts,
)
from clearwatch.domain.backoffice.approval_content import (
    account_subject,
    freeze_content,
    freeze_subject,
    status_content,
)
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.approvals import approved_content_for
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.books_reference import current_clients
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork

STATUS_KIND = "account_status"
FREEZE_KIND = "amount_freeze"
ACCOUNT_MUST_BE_KNOWN = "account_must_be_known"
FREEZE_ACTIONS = ("freeze", "lift")


@dataclass(frozen=True)
class AccountStanding:
    """Each client's effective status, and the amounts frozen on it (fen).

    `statuses` names the accounts the clients files or an approved change gave a status other
    than active (and any such change back to active); every other account is active."""

    statuses: dict[str, AccountStatus]
    frozen_fen: dict[str, int]

    def status(self, fund_account: str) -> AccountStatus:
        return self.statuses.get(fund_account, AccountStatus.ACTIVE)


_ACTIVE_TEXTS = ("", AccountStatus.ACTIVE.value)  # an empty status in clients.csv is active


def account_standing(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str
) -> AccountStanding:
    """Only the few accounts that are not active reach Python: a dict of millions of active
    clients cost seconds per batch at the end of day and answered nothing `status` does not."""
    clients = current_clients(uow, tools, broker_id)
    listed = pc.invert(pc.is_in(clients.column("status"), value_set=pa.array(_ACTIVE_TEXTS)))
    restricted = clients.filter(listed)
    from_files = dict(
        zip(
            restricted.column("fund_account").to_pylist(),
            restricted.column("status").to_pylist(),
            strict=True,
        )
    )
    records = uow.books.account_records(broker_id)
    return AccountStanding(effective_statuses(from_files, records), frozen_amounts(records))


def change_status(
    *,
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    broker_id: str,
    fund_account: str,
    status: AccountStatus,
    actor: str,
    at: datetime,
) -> bool:
    """Apply an approved status change; False when that approval was applied already.

    Refused (`AccessRefused`) unless a checker approved exactly this account and status."""
    content = status_content(fund_account=fund_account, status=status.value)
    record = AccountRecord(fund_account, AccountEvent.STATUS, status=status)
    subject = account_subject(broker_id, fund_account)
    return _apply(uow, tools, broker_id, record, (STATUS_KIND, subject, content), actor, at)


def change_freeze(
    *,
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    broker_id: str,
    freeze_id: str,
    fund_account: str,
    amount_fen: int,
    action: str,
    actor: str,
    at: datetime,
) -> bool:
    """Place (`freeze`) or lift (`lift`) an approved amount freeze, named by `freeze_id`."""
    if action not in FREEZE_ACTIONS:
        raise Refused("freeze_action_must_be_freeze_or_lift", action)
    content = freeze_content(fund_account=fund_account, amount_fen=amount_fen, action=action)
    event = AccountEvent.FREEZE if action == "freeze" else AccountEvent.LIFT
    record = AccountRecord(fund_account, event, freeze_id=freeze_id, amount_fen=amount_fen)
    subject = freeze_subject(broker_id, freeze_id)
    return _apply(uow, tools, broker_id, record, (FREEZE_KIND, subject, content), actor, at)


def _apply(
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    broker_id: str,
    record: AccountRecord,
    approval: tuple[str, str, dict[str, str]],
    actor: str,
    at: datetime,
) -> bool:
    kind, subject, content = approval
    with uow:
        known = current_clients(uow, tools, broker_id).column("fund_account").to_pylist()
        if record.fund_account not in known:
            raise Refused(ACCOUNT_MUST_BE_KNOWN, record.fund_account)
        # `AccessRefused` unless a checker approved exactly this content for the subject.
        request = approved_content_for(uow, kind=kind, subject_ref=subject, content=content)
        added = uow.books.add_account_record(
            broker_id, record, approval_ref=f"approval:{request.request_id}", at=at
        )
        if not added:
            return False
        action = (
            AuditAction.ACCOUNT_STATUS_CHANGED
            if record.event is AccountEvent.STATUS
            else AuditAction.AMOUNT_FREEZE_CHANGED
        )
        record_audit(
            uow,
            actor=actor,
            action=action,
            object_ref=subject,
            payload={**content, "approval": request.request_id},
            recorded_at=at,
        )
        uow.commit()
    return True
