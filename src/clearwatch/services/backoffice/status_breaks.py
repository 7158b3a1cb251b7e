"""Fills on frozen or closed accounts: booked (the exchange filled them), each a break for an
operator (spec §2), found in bulk: only the few restricted accounts' rows reach Python."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.backoffice.account_status import AccountStatus, execution_needs_break
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.account_status import AccountStanding
from clearwatch.services.backoffice.ports import BackOfficeUnitOfWork

exec_ids_listed_max = 20  # a break's evidence names at most this many executions


def raise_status_breaks(
    uow: BackOfficeUnitOfWork,
    *,
    broker_id: str,
    day: date,
    batch_ref: str,
    executions: pa.Table,
    standing: AccountStanding,
    at: datetime,
) -> list[str]:
    """One break per account whose status forbade a fill of the batch; the accounts."""
    restricted = [a for a, s in standing.statuses.items() if s is not AccountStatus.ACTIVE]
    if not restricted:
        return []
    mask = pc.is_in(executions.column("fund_account"), value_set=pa.array(restricted))
    rows = executions.filter(mask).select(["fund_account", "exec_id", "side"]).to_pylist()
    forbidden: dict[str, list[str]] = {}
    for row in rows:
        account = str(row["fund_account"])
        if execution_needs_break(standing.status(account), str(row["side"])):
            forbidden.setdefault(account, []).append(str(row["exec_id"]))
    raised = []
    for account, exec_ids in sorted(forbidden.items()):
        status = standing.status(account).value
        check = f"execution_on_{status}_account"
        evidence = {
            "rule": f"{status}_account_must_not_trade",
            "batch": batch_ref,
            "status": status,
            "executions": len(exec_ids),
            "exec_ids": sorted(exec_ids)[:exec_ids_listed_max],
        }
        added = uow.books.add_break(
            broker_id=broker_id,
            business_date=day,
            check=check,
            subject=account,
            books_fen=0,
            counterpart_fen=0,
            evidence=evidence,
            at=at,
        )
        if added:
            raised.append(account)
            record_audit(
                uow,
                actor="importer",
                action=AuditAction.BREAK_RAISED,
                object_ref=f"break:{broker_id}:{day.isoformat()}:{check}:{account}",
                payload=evidence,
                recorded_at=at,
            )
    return raised
