"""The back office's live events: what its end of day, trading nodes and halts tell the watch.

Each key names the occurrence in the back office's own terms, so publishing it again (a
rerun step, a retried hook, `watch publish`) changes nothing: the stream dedupes by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.domain.watch.flow_halts import FlowHalt


def eod_step_event(*, broker_id: str, business_date: date, step: str, at: datetime) -> WatchEvent:
    """One end-of-day step completed (a rerun of the same step is the same occurrence)."""
    return WatchEvent(
        key=f"{broker_id}/{business_date.isoformat()}/eod/{step}",
        kind=EventKind.EOD_STEP,
        business_date=business_date,
        broker_id=broker_id,
        account="",
        amount_fen=0,
        occurred_at=at,
        detail=step,
    )


def node_lease_event(
    *, broker_id: str, business_date: date, node_id: str, move: str, epoch: int, at: datetime
) -> WatchEvent:
    """A node's lease taken (its epoch names the occurrence: each move makes a new one)."""
    return WatchEvent(
        key=f"{broker_id}/{business_date.isoformat()}/node/{node_id}/lease/{epoch}",
        kind=EventKind.NODE_LEASE,
        business_date=business_date,
        broker_id=broker_id,
        account="",
        amount_fen=0,
        occurred_at=at,
        counterparty=node_id,
        detail=move,
        extra=(("epoch", str(epoch)),),
    )


def node_funds_events(
    *,
    broker_id: str,
    business_date: date,
    node_id: str,
    moment: str,
    held_fen: Mapping[str, int],
    central_fen: Mapping[str, int],
    at: datetime,
    special_accounts: Mapping[str, str] | None = None,
) -> list[WatchEvent]:
    """Each client's cash on the node at a start of day or a takeover, beside the central
    books' figure: what `node_divergence` compares across a broker's nodes, per client and,
    where `special_accounts` names the one holding a client's money, per special account.
    `moment` is `start` or `takeover/<epoch>` (one takeover per epoch)."""
    special_accounts = special_accounts or {}
    return [
        WatchEvent(
            key=f"{broker_id}/{business_date.isoformat()}/node/{node_id}/{moment}/{account}",
            kind=EventKind.NODE_FUNDS,
            business_date=business_date,
            broker_id=broker_id,
            account=account,
            amount_fen=held,
            occurred_at=at,
            counterparty=node_id,
            detail=moment.split("/")[0],
            extra=_node_funds_extra(central_fen.get(account, 0), special_accounts.get(account)),
        )
        for account, held in sorted(held_fen.items())
    ]


def _node_funds_extra(central_fen: int, special_account: str | None) -> tuple[tuple[str, str], ...]:
    central = ("central", str(central_fen))
    return (central, ("special_account", special_account)) if special_account else (central,)


def halt_events(
    *,
    broker_id: str,
    business_date: date,
    fund_accounts: Iterable[str],
    rule: str,
    raised_by: str,
    at: datetime,
    seqs: Mapping[str, int] | None = None,
) -> list[WatchEvent]:
    """Clients halted for the day, as the books keep it: a client lifted and halted again
    has a later halt (`seqs`), a new occurrence with its own key."""
    seqs = seqs or {}
    return [
        WatchEvent(
            key=f"{broker_id}/{business_date.isoformat()}/halt/{account}"
            + (f"/{seqs[account]}" if seqs.get(account, 1) > 1 else ""),
            kind=EventKind.CLIENT_HALTED,
            business_date=business_date,
            broker_id=broker_id,
            account=account,
            amount_fen=0,
            occurred_at=at,
            counterparty=raised_by,
            detail=rule,
        )
        for account in sorted(set(fund_accounts))
    ]


def halt_lift_event(
    *,
    broker_id: str,
    business_date: date,
    fund_account: str,
    halt_id: int,
    seq: int,
    approval_id: int,
    lifted_by: str,
    at: datetime,
) -> WatchEvent:
    """One halt lifted by an approved override (a halt lifts once, so the key is the halt's)."""
    return WatchEvent(
        key=f"{broker_id}/{business_date.isoformat()}/halt-lift/{fund_account}/{seq}",
        kind=EventKind.CLIENT_HALT_LIFTED,
        business_date=business_date,
        broker_id=broker_id,
        account=fund_account,
        amount_fen=0,
        occurred_at=at,
        counterparty=lifted_by,
        detail=f"approval:{approval_id}",
        extra=(("halt_id", str(halt_id)), ("seq", str(seq))),
    )


def adjustment_events(
    *,
    broker_id: str,
    business_date: date,
    entry_key: str,
    reason: str,
    client_cash_fen: Mapping[str, int],
    at: datetime,
) -> list[WatchEvent]:
    """A manual adjustment outside a batch (a reversal, 红冲): each client's cash as booked."""
    return [
        WatchEvent(
            key=f"{broker_id}/{business_date.isoformat()}/entry/{entry_key}/{account}",
            kind=EventKind.CASH_ADJUSTMENT,
            business_date=business_date,
            broker_id=broker_id,
            account=account,
            amount_fen=amount,
            occurred_at=at,
            detail=reason,
        )
        for account, amount in sorted(client_cash_fen.items())
        if amount
    ]


def flow_halt_event(halt: FlowHalt) -> WatchEvent:
    """A flow halted (its id names the occurrence: one approval makes one halt)."""
    return _flow_event(
        halt, EventKind.FLOW_HALTED, "flow-halt", halt.raised_at, halt.approval_id, halt.raised_by
    )


def flow_lift_event(halt: FlowHalt) -> WatchEvent:
    """A flow halt lifted (a halt lifts once, so the key is the halt's); `halt` as lifted."""
    assert halt.lifted_at is not None and halt.lift_approval_id is not None  # lifted only
    return _flow_event(
        halt,
        EventKind.FLOW_HALT_LIFTED,
        "flow-halt-lift",
        halt.lifted_at,
        halt.lift_approval_id,
        halt.lifted_by,
    )


def _flow_event(
    halt: FlowHalt, kind: EventKind, name: str, at: datetime, approval_id: int, by: str
) -> WatchEvent:
    flow = halt.flow
    return WatchEvent(
        key=f"{flow.broker_id}/{name}/{halt.halt_id}",
        kind=kind,
        business_date=at.astimezone(SHANGHAI).date(),
        broker_id=flow.broker_id,
        account=flow.account,
        amount_fen=0,
        occurred_at=at,
        counterparty=flow.counterparty,
        detail=f"approval:{approval_id}",
        extra=(("halt_id", str(halt.halt_id)), ("alert", halt.alert_key), ("by", by)),
    )
