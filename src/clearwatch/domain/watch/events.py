"""Events of the back office as the watch sees them: one kind, one stable key, amounts in fen.

The key names the occurrence, not the content: the same delivery read twice gives the same
keys (a replay is idempotent), while the same file delivered twice is two deliveries and so two
sets of keys (incident B is exactly that, and the watch must see it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.shared.errors import Refused


class EventKind(StrEnum):
    """What happened. The sign of `amount_fen` is said per kind: money into `account` is +."""

    # A batch or package delivered: detail = its kind; extra: batch_id, sha256, totals per
    # cash-adjustment reason (`total:<reason>`); amount 0.
    BATCH_RECEIVED = "batch.received"
    # An execution: amount = −trade amount for a buy, + for a sell; detail = market;
    # counterparty = security code.
    EXECUTION = "execution"
    # A bank–securities transfer (银证转账): + deposit, − withdrawal; counterparty = bank id.
    BANK_TRANSFER = "bank.transfer"
    # A cash adjustment or deduction: signed as booked; detail = reason.
    CASH_ADJUSTMENT = "cash.adjustment"
    # A special account's movement at the bank: account = account number; signed;
    # counterparty = the other account; detail = counterparty kind.
    SPECIAL_ACCOUNT_MOVEMENT = "special_account.movement"
    # A bank's action on a client's funds (freeze, deduct): amount = −amount; detail = action.
    FUND_ACTION = "fund.action"
    # A reserve balance at CSDC (a level, not a flow): account = RESERVE.<market>.
    RESERVE_BALANCE = "reserve.balance"
    # A trading node's available cash for a client: amount = what the node holds; detail =
    # start or takeover; counterparty = node id; extra `central` = the central books' figure.
    NODE_FUNDS = "node.funds"
    # Live hooks only (issue 19; a recorded day's files have no such rows):
    # An end-of-day step completed: detail = the step; account empty; amount 0.
    EOD_STEP = "eod.step"
    # A trading node's lease moved (first, takeover, override): counterparty = node id;
    # detail = the move; extra `epoch`; account empty; amount 0.
    NODE_LEASE = "node.lease"
    # A client's trading halted for the day: detail = the rule that halted it (a conservation
    # breach, or an approved halt from a watch alert); counterparty = who raised it; amount 0.
    CLIENT_HALTED = "client.halted"
    # A halt lifted by an approved override: detail = the approval; counterparty = who applied
    # it; extra `halt_id` and `seq` (the client's halt of the day it lifts); amount 0.
    CLIENT_HALT_LIFTED = "client.halt_lifted"
    # A flow halted by an approved request: account = the account whose outflows stop;
    # counterparty = the flow's other end (`*`: anywhere); detail = the approval; extra
    # `halt_id`, `alert` and `by` (who applied it); amount 0. The business date is the
    # Shanghai date the halt took effect: a flow halt holds across days until lifted.
    FLOW_HALTED = "flow.halted"
    # A flow halt lifted by an approved override: as FLOW_HALTED, with the lift's approval and
    # the date the lift took effect.
    FLOW_HALT_LIFTED = "flow.halt_lifted"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    key: str
    kind: EventKind
    business_date: date
    broker_id: str
    account: str
    amount_fen: int
    occurred_at: datetime
    counterparty: str = ""
    detail: str = ""
    extra: tuple[tuple[str, str], ...] = ()

    def extra_value(self, name: str, default: str = "") -> str:
        for key, value in self.extra:
            if key == name:
                return value
        return default


def event_to_dict(event: WatchEvent) -> dict[str, Any]:
    """The event as JSON-ready values (dates and times in ISO 8601, amounts as integers)."""
    return {
        "key": event.key,
        "kind": event.kind.value,
        "business_date": event.business_date.isoformat(),
        "broker_id": event.broker_id,
        "account": event.account,
        "amount_fen": event.amount_fen,
        "occurred_at": event.occurred_at.isoformat(),
        "counterparty": event.counterparty,
        "detail": event.detail,
        "extra": [list(pair) for pair in event.extra],
    }


class EventFormatError(Refused, ValueError):
    """A message on the stream that is not a watch event (named, never guessed)."""


def event_from_dict(data: dict[str, Any]) -> WatchEvent:
    try:
        amount = data["amount_fen"]
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise EventFormatError("event_amount_must_be_integer_fen", repr(amount))
        occurred_at = datetime.fromisoformat(data["occurred_at"])
        if occurred_at.tzinfo is None:
            raise EventFormatError("event_time_must_have_an_offset")
        return WatchEvent(
            key=str(data["key"]),
            kind=EventKind(data["kind"]),
            business_date=date.fromisoformat(data["business_date"]),
            broker_id=str(data["broker_id"]),
            account=str(data["account"]),
            amount_fen=amount,
            occurred_at=occurred_at,
            counterparty=str(data.get("counterparty", "")),
            detail=str(data.get("detail", "")),
            extra=tuple((str(k), str(v)) for k, v in data.get("extra", ())),
        )
    except EventFormatError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise EventFormatError("event_must_have_every_field_well_formed", str(error)) from error
