"""Account status (active, frozen, closed) and amount freezes (司法冻结): what each allows.

`frozen`: no buy order, no transfer out, no withdrawal; sells and incoming money are booked.
`closed`: no order and no transfer at all. A record from the exchange for a frozen or closed
account is booked all the same (it happened) and raises a break for an operator. An amount
freeze lowers what may be withdrawn by its amount until it is lifted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class AccountEvent(StrEnum):
    """What an approved request changed on an account (the back office's record of it)."""

    STATUS = "status"
    FREEZE = "freeze"
    LIFT = "lift"


class StatusRule(StrEnum):
    """Refusals of account status, by name, in precedence order."""

    CLOSED_ACCOUNT_MUST_NOT_TRANSFER = "closed_account_must_not_transfer"
    FROZEN_ACCOUNT_MUST_NOT_TRANSFER_OUT = "frozen_account_must_not_transfer_out"


@dataclass(frozen=True)
class AccountRecord:
    """One approved change of an account, in the order approved."""

    fund_account: str
    event: AccountEvent
    status: AccountStatus | None = None  # for STATUS
    freeze_id: str | None = None  # for FREEZE and LIFT
    amount_fen: int = 0  # for FREEZE


def transfer_refusal(status: AccountStatus, direction: str) -> StatusRule | None:
    """Why a bank transfer of `direction` (`in`/`out`) may not be booked, or None."""
    if status is AccountStatus.CLOSED:
        return StatusRule.CLOSED_ACCOUNT_MUST_NOT_TRANSFER
    if status is AccountStatus.FROZEN and direction == "out":
        return StatusRule.FROZEN_ACCOUNT_MUST_NOT_TRANSFER_OUT
    return None


def execution_needs_break(status: AccountStatus, side: str) -> bool:
    """A fill the account's status forbade: any fill of a closed account, a buy of a frozen."""
    return status is AccountStatus.CLOSED or (status is AccountStatus.FROZEN and side == "B")


def effective_statuses(
    from_files: Mapping[str, str], records: Iterable[AccountRecord]
) -> dict[str, AccountStatus]:
    """The status of each account: the clients file's, unless an approved change came later
    (a change two people approved is not undone by a file restating the old status)."""
    statuses = {account: AccountStatus(text or "active") for account, text in from_files.items()}
    for record in records:
        if record.event is AccountEvent.STATUS and record.status is not None:
            statuses[record.fund_account] = record.status
    return statuses


def frozen_amounts(records: Iterable[AccountRecord]) -> dict[str, int]:
    """Σ of each account's amount freezes not lifted (fen)."""
    held: dict[str, tuple[str, int]] = {}
    for record in records:
        if record.freeze_id is None:
            continue
        if record.event is AccountEvent.FREEZE:
            held[record.freeze_id] = (record.fund_account, record.amount_fen)
        elif record.event is AccountEvent.LIFT:
            held.pop(record.freeze_id, None)
    totals: dict[str, int] = {}
    for account, amount in held.values():
        totals[account] = totals.get(account, 0) + amount
    return totals
