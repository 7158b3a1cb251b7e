"""Intraday fund control use cases: lease, start of day, orders, fills, takeover, conservation.

A `TradingNode` is one instance (process) of a logical trading node. It acts only while it holds
the node's current lease, and every write it makes runs in one transaction that first locks the
lease row and checks the epoch it carries (fencing), then refreshes the halted clients, then
checks and journals, then commits. Acceptance is acknowledged only after that commit, so orders
checked in a batch (group commit) are as durable as orders checked one by one.

The node's book lives in memory for speed; the journal in the relational store is the truth.
A standby takes over by replaying that journal, never by a fresh sync from the central books,
and a start of day happens once per (node, business date), whatever the failover state.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from clearwatch.domain.access.approvals import ApprovalKind
from clearwatch.domain.intraday.book import (
    Execution,
    NodeBook,
    NodeEntry,
    Order,
    Refusal,
)
from clearwatch.domain.intraday.conservation import Breach, find_breaches
from clearwatch.domain.intraday.fee_estimates import FeeRates
from clearwatch.domain.intraday.halt_lifts import (
    CONSERVATION_RULE,
    breach_cause,
    breach_halts_again,
)
from clearwatch.domain.intraday.lease import (
    IntradayRefused,
    IntradayRejection,
    Lease,
    LeaseMove,
    check_fence,
    micros,
    next_lease,
)
from clearwatch.domain.shared.kinds import CASH, AuditAction
from clearwatch.domain.watch.events import WatchEvent
from clearwatch.domain.watch.flow_halts import outflows_halted
from clearwatch.domain.watch.live import halt_events, node_funds_events, node_lease_event
from clearwatch.services.access.approvals import approved_request_for
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.intraday.ports import (
    CentralFunds,
    CentralPosition,
    IntradayUnitOfWork,
    StartOfDayRecord,
    central_quantities,
)
from clearwatch.services.shared.ports import Clock
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher

LEASE_TTL_DEFAULT = timedelta(seconds=10)
# What one check gives: the entry to journal, or the named reason it was refused.
CheckResult = NodeEntry | Refusal
# The audit action of each lease move that is recorded (a renewal is not).
LEASE_ACTION = {
    LeaseMove.FIRST: AuditAction.INTRADAY_LEASE_FIRST,
    LeaseMove.TAKEOVER: AuditAction.INTRADAY_LEASE_TAKEOVER,
    LeaseMove.OVERRIDE: AuditAction.INTRADAY_LEASE_OVERRIDE,
    LeaseMove.RELEASE: AuditAction.INTRADAY_LEASE_RELEASE,
}
# The audit action of each kind of write batch.
WRITE_ACTION = {
    "orders": AuditAction.INTRADAY_ORDERS,
    "fills": AuditAction.INTRADAY_FILLS,
    "cancels": AuditAction.INTRADAY_CANCELS,
}


def takeover_subject(node_id: str) -> str:
    """The subject of the override approval that lets an instance seize a live lease."""
    return f"node:{node_id}/takeover"


@dataclass(frozen=True)
class ConservationReport:
    broker_id: str
    business_date: date
    clients_checked: int
    breaches: tuple[Breach, ...]
    halts_raised: tuple[str, ...]
    # Each halted client's halt sequence of the day: a client lifted and halted again is 2.
    halts_raised_seq: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StartOfDayReport:
    node_id: str
    business_date: date
    epoch: int
    clients: int
    cash_allocated_fen: int
    conservation: ConservationReport


@dataclass(frozen=True)
class TakeoverReport:
    node_id: str
    epoch: int
    move: LeaseMove
    entries_replayed: int
    open_orders: int
    conservation: ConservationReport


def check_conservation_in(
    uow: IntradayUnitOfWork,
    *,
    broker_id: str,
    business_date: date,
    central: CentralFunds,
    actor: str,
    at: datetime,
) -> ConservationReport:
    """Σ node claims ≤ central per client and asset; a breach halts the client and alerts.

    Runs inside the caller's unit of work (no commit)."""
    positions = central.positions(broker_id=broker_id, business_date=business_date)
    figures = central_quantities(positions.values())
    # The latest central truth is what every node's next order batch will compare with.
    uow.intraday.put_central_figures(
        broker_id=broker_id, business_date=business_date, figures=figures
    )
    return conserve_in(
        uow,
        broker_id=broker_id,
        business_date=business_date,
        figures=figures,
        fund_accounts=None,
        actor=actor,
        at=at,
    )


def conserve_in(
    uow: IntradayUnitOfWork,
    *,
    broker_id: str,
    business_date: date,
    figures: Mapping[tuple[str, str], int],
    fund_accounts: Collection[str] | None,
    actor: str,
    at: datetime,
    assets: Collection[str] | None = None,
) -> ConservationReport:
    """The check against given central figures, for all clients or only the given ones."""
    claims = uow.intraday.claims(
        broker_id=broker_id,
        business_date=business_date,
        fund_accounts=fund_accounts,
        assets=assets,
    )
    breaches = find_breaches(claims, figures)
    raised: dict[str, int] = {}
    for fund_account in sorted({breach.fund_account for breach in breaches}):
        seq = _halt_for_breach(
            uow,
            broker_id=broker_id,
            business_date=business_date,
            breaches=[b for b in breaches if b.fund_account == fund_account],
            actor=actor,
            at=at,
        )
        if seq is not None:
            raised[fund_account] = seq
    return ConservationReport(
        broker_id=broker_id,
        business_date=business_date,
        clients_checked=len({claim.fund_account for claim in claims}),
        breaches=tuple(breaches),
        halts_raised=tuple(raised),
        halts_raised_seq=raised,
    )


def _halt_for_breach(
    uow: IntradayUnitOfWork,
    *,
    broker_id: str,
    business_date: date,
    breaches: Sequence[Breach],
    actor: str,
    at: datetime,
) -> int | None:
    """Halt one client for its breach, unless a halt stands or a lift accepted this breach;
    the new halt's seq, audited as the alert."""
    fund_account = breaches[0].fund_account
    earlier = uow.intraday.halts(
        business_date=business_date, broker_id=broker_id, fund_account=fund_account
    )
    if not breach_halts_again(breaches, [(h.evidence, h.lifted) for h in earlier]):
        return None
    evidence = {"rule": CONSERVATION_RULE, "breaches": [b.evidence() for b in breaches]}
    seq = uow.intraday.add_halt(
        broker_id=broker_id,
        business_date=business_date,
        fund_account=fund_account,
        evidence=evidence,
        raised_at=at,
        raised_by=actor,
        cause=breach_cause(breaches),
    )
    if seq is not None:
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.INTRADAY_CONSERVATION_BREACH,
            object_ref=f"client:{broker_id}/{fund_account}/{business_date.isoformat()}",
            payload={**evidence, "seq": seq},
            recorded_at=at,
        )
    return seq


def check_conservation(
    *,
    uow: IntradayUnitOfWork,
    clock: Clock,
    broker_id: str,
    business_date: date,
    central: CentralFunds,
    actor: str,
    publisher: EventPublisher = NO_PUBLISHER,
) -> ConservationReport:
    """The `check` command: one transaction, committed; the halts it raised go to the watch."""
    with uow:
        at = clock.now()
        report = check_conservation_in(
            uow,
            broker_id=broker_id,
            business_date=business_date,
            central=central,
            actor=actor,
            at=at,
        )
        uow.commit()
    publisher.occurred(_halted(report, actor, at))
    return report


def _halted(report: ConservationReport, actor: str, at: datetime) -> list[WatchEvent]:
    return halt_events(
        broker_id=report.broker_id,
        business_date=report.business_date,
        fund_accounts=report.halts_raised,
        rule=CONSERVATION_RULE,
        raised_by=actor,
        at=at,
        seqs=report.halts_raised_seq,
    )


def _restricted(positions: Iterable[CentralPosition]) -> dict[str, str]:
    """Accounts the central books hold frozen or closed, read with the day's figures."""
    return {p.fund_account: p.status for p in positions if p.status != "active"}


def _special_accounts(positions: Iterable[CentralPosition]) -> dict[str, str]:
    """The special account each client's money is held in, read with the day's figures."""
    return {p.fund_account: p.special_account for p in positions if p.special_account}


def _allocations(
    positions: Iterable[CentralPosition],
    others: dict[tuple[str, str], int],
    fund_accounts: Collection[str] | None,
) -> list[tuple[CentralPosition, int, dict[str, int]]]:
    """What this node may take: the central figure less what other nodes already claim."""
    chosen = []
    for position in sorted(positions, key=lambda p: p.fund_account):
        if fund_accounts is not None and position.fund_account not in fund_accounts:
            continue
        account = position.fund_account
        cash = max(0, position.cash_available_fen - others.get((account, CASH), 0))
        shares = {
            security: max(0, quantity - others.get((account, security), 0))
            for security, quantity in position.shares_sellable.items()
        }
        chosen.append((position, cash, shares))
    return chosen


class TradingNode:
    """One instance of a logical trading node, bound to a business date."""

    def __init__(
        self,
        *,
        uow_factory: Callable[[], IntradayUnitOfWork],
        clock: Clock,
        node_id: str,
        instance_id: str,
        broker_id: str,
        business_date: date,
        rates: FeeRates,
        lease_ttl: timedelta = LEASE_TTL_DEFAULT,
        publisher: EventPublisher = NO_PUBLISHER,
    ) -> None:
        self._uow_factory = uow_factory
        # The watch hears of starts, takeovers and halts once they are committed (issue 19).
        self._publisher = publisher
        self._clock = clock
        self.node_id = node_id
        self.instance_id = instance_id
        self.broker_id = broker_id
        self.business_date = business_date
        self._rates = rates
        self._lease_ttl_us = lease_ttl // timedelta(microseconds=1)
        self.epoch: int | None = None
        self.book: NodeBook | None = None
        self._next_seq = 0
        # The central figures of the last start of day or takeover: every order batch checks
        # its clients' claims across all nodes against them in its own transaction.
        self._central_figures: dict[tuple[str, str], int] | None = None
        self._restricted: dict[str, str] = {}  # frozen or closed accounts (from central)
        self._special_of: dict[str, str] = {}  # each client's special account (central)

    @property
    def _ref(self) -> str:
        return f"node:{self.node_id}/{self.business_date.isoformat()}"

    # -- leases -------------------------------------------------------------------------------

    def acquire(self, *, override_request_id: int | None = None) -> LeaseMove:
        """Take or renew the lease; a new epoch drops the in-memory book (replay follows)."""
        uow = self._uow_factory()
        with uow:
            now = self._clock.now()
            current = uow.intraday.lease(self.node_id, lock=True)
            override = override_request_id is not None
            if override:
                self._check_override(uow, override_request_id)
            lease, move = next_lease(
                current,
                node_id=self.node_id,
                holder=self.instance_id,
                now_us=micros(now),
                ttl_us=self._lease_ttl_us,
                override=override,
            )
            if move is LeaseMove.RENEW and lease.epoch != self.epoch:
                # Same instance id but a different epoch: this instance lost track; start over.
                self.book = None
            uow.intraday.put_lease(
                lease, move=move, at=now, approval_request_id=override_request_id
            )
            if move is not LeaseMove.RENEW:
                record_audit(
                    uow,
                    actor=self.instance_id,
                    action=LEASE_ACTION[move],
                    object_ref=f"node:{self.node_id}",
                    payload={
                        "epoch": lease.epoch,
                        "previous": None if current is None else current.__dict__,
                        "approval_request_id": override_request_id,
                    },
                    recorded_at=now,
                )
            uow.commit()
        if lease.epoch != self.epoch:
            self.book = None
        self.epoch = lease.epoch
        if move is not LeaseMove.RENEW:
            self._publisher.occurred(
                [node_lease_event(broker_id=self.broker_id, business_date=self.business_date,
                                  node_id=self.node_id, move=move.value, epoch=lease.epoch,
                                  at=now)]
            )  # fmt: skip
        return move

    def release(self) -> None:
        """Hand the lease back on an orderly stop, so a standby need not wait for its expiry."""
        uow = self._uow_factory()
        with uow:
            now = self._clock.now()
            self._fence(uow, now)
            assert self.epoch is not None
            released = Lease(self.node_id, self.instance_id, self.epoch, micros(now))
            uow.intraday.put_lease(released, move=LeaseMove.RELEASE, at=now)
            record_audit(
                uow,
                actor=self.instance_id,
                action=AuditAction.INTRADAY_LEASE_RELEASE,
                object_ref=f"node:{self.node_id}",
                payload={"epoch": self.epoch},
                recorded_at=now,
            )
            uow.commit()
        self.book = None

    def _check_override(self, uow: IntradayUnitOfWork, request_id: int | None) -> None:
        approved = approved_request_for(
            uow, kind=ApprovalKind.OVERRIDE.value, subject_ref=takeover_subject(self.node_id)
        )
        if approved is None or approved.request_id != request_id:
            raise IntradayRefused(
                IntradayRejection.OVERRIDE_MUST_BE_APPROVED, takeover_subject(self.node_id)
            )

    def _fence(self, uow: IntradayUnitOfWork, now: datetime) -> None:
        if self.epoch is None:
            raise IntradayRefused(IntradayRejection.LEASE_MUST_BE_HELD, self.instance_id)
        check_fence(
            uow.intraday.lease(self.node_id, lock=True),
            holder=self.instance_id,
            epoch=self.epoch,
            now_us=micros(now),
        )

    def _record_refusal(self, refusal: IntradayRefused, action: str) -> None:
        """A refused write is itself worth recording; it commits on its own."""
        uow = self._uow_factory()
        with uow:
            record_audit(
                uow,
                actor=self.instance_id,
                action=AuditAction.INTRADAY_WRITE_REFUSED,
                object_ref=self._ref,
                payload={
                    "attempted": action,
                    "rule": refusal.rejection.value,
                    "detail": refusal.detail,
                    "epoch": self.epoch,
                },
                recorded_at=self._clock.now(),
            )
            uow.commit()

    # -- start of day and takeover ------------------------------------------------------------

    def start_of_day(
        self, *, central: CentralFunds, fund_accounts: Collection[str] | None = None
    ) -> StartOfDayReport:
        """Initialise the day from the central books, once per (node, date)."""
        try:
            return self._start_of_day(central, fund_accounts)
        except IntradayRefused as refusal:
            self._record_refusal(refusal, "start_of_day")
            raise

    def _start_of_day(
        self, central: CentralFunds, fund_accounts: Collection[str] | None
    ) -> StartOfDayReport:
        uow = self._uow_factory()
        with uow:
            now = self._clock.now()
            self._fence(uow, now)
            assert self.epoch is not None  # the fence refuses a node without a lease
            if uow.intraday.start_of_day(self.node_id, self.business_date) is not None:
                raise IntradayRefused(
                    IntradayRejection.START_OF_DAY_MUST_BE_ONCE_PER_NODE_AND_DATE, self._ref
                )
            book, entries = self._allocate(uow, central, fund_accounts)
            record = StartOfDayRecord(
                node_id=self.node_id,
                business_date=self.business_date,
                broker_id=self.broker_id,
                epoch=self.epoch,
                holder=self.instance_id,
                clients=len({entry.fund_account for entry in entries}),
                cash_allocated_fen=sum(entry.cash_delta_fen for entry in entries),
                started_at=now,
            )
            uow.intraday.add_start_of_day(record)
            first_seq = uow.intraday.last_seq(self.node_id) + 1
            self._journal(uow, entries, first_seq, now)
            book.replay(entries)
            conservation = self._conserve_every_client(uow, now)
            record_audit(
                uow,
                actor=self.instance_id,
                action=AuditAction.INTRADAY_START_OF_DAY,
                object_ref=self._ref,
                payload={
                    "epoch": self.epoch,
                    "clients": record.clients,
                    "cash_allocated_fen": record.cash_allocated_fen,
                },
                recorded_at=now,
            )
            uow.commit()
        self.book = book
        self._next_seq = first_seq + len(entries)
        held: dict[str, int] = {}
        for entry in entries:
            held[entry.fund_account] = held.get(entry.fund_account, 0) + entry.cash_delta_fen
        self._tell_watch("start", held, conservation, now)
        return StartOfDayReport(
            node_id=self.node_id,
            business_date=self.business_date,
            epoch=self.epoch,
            clients=record.clients,
            cash_allocated_fen=record.cash_allocated_fen,
            conservation=conservation,
        )

    def _allocate(
        self,
        uow: IntradayUnitOfWork,
        central: CentralFunds,
        fund_accounts: Collection[str] | None,
    ) -> tuple[NodeBook, list[NodeEntry]]:
        """The day's opening entries: what central holds less what other nodes already claim."""
        positions = central.positions(broker_id=self.broker_id, business_date=self.business_date)
        self._central_figures = central_quantities(positions.values())
        self._restricted = _restricted(positions.values())
        self._special_of = _special_accounts(positions.values())
        uow.intraday.put_central_figures(
            broker_id=self.broker_id,
            business_date=self.business_date,
            figures=self._central_figures,
        )
        others: dict[tuple[str, str], int] = {}
        for claim in uow.intraday.claims(
            broker_id=self.broker_id, business_date=self.business_date
        ):
            key = (claim.fund_account, claim.asset)
            others[key] = others.get(key, 0) + claim.quantity
        book = NodeBook(self._rates)
        entries: list[NodeEntry] = []
        for position, cash, shares in _allocations(positions.values(), others, fund_accounts):
            entries.extend(
                book.allocation(
                    fund_account=position.fund_account,
                    cash_fen=cash,
                    shares=shares,
                    commission_rate=position.commission_rate,
                )
            )
        return book, entries

    def take_over(
        self, *, central: CentralFunds, override_request_id: int | None = None
    ) -> TakeoverReport:
        """Become the acting instance: a new epoch, then the day rebuilt from the journal."""
        move = self.acquire(override_request_id=override_request_id)
        uow = self._uow_factory()
        with uow:
            now = self._clock.now()
            self._fence(uow, now)
            assert self.epoch is not None
            if uow.intraday.start_of_day(self.node_id, self.business_date) is None:
                raise IntradayRefused(
                    IntradayRejection.START_OF_DAY_MUST_PRECEDE_TAKEOVER, self._ref
                )
            book = NodeBook(self._rates)
            book.replay(uow.intraday.journal(self.node_id, self.business_date))
            positions = central.positions(
                broker_id=self.broker_id, business_date=self.business_date
            )
            self._central_figures = central_quantities(positions.values())
            self._restricted = _restricted(positions.values())
            self._special_of = _special_accounts(positions.values())
            uow.intraday.put_central_figures(
                broker_id=self.broker_id,
                business_date=self.business_date,
                figures=self._central_figures,
            )
            conservation = self._conserve_every_client(uow, now)
            record_audit(
                uow,
                actor=self.instance_id,
                action=AuditAction.INTRADAY_REPLAYED,
                object_ref=self._ref,
                payload={"epoch": self.epoch, "entries": book.entries_applied},
                recorded_at=now,
            )
            next_seq = uow.intraday.last_seq(self.node_id) + 1
            uow.commit()
        self.book = book
        self._next_seq = next_seq
        held = {view.fund_account: view.cash_claim_fen for view in book.clients()}
        self._tell_watch(f"takeover/{self.epoch}", held, conservation, now)
        return TakeoverReport(
            node_id=self.node_id,
            epoch=self.epoch,
            move=move,
            entries_replayed=book.entries_applied,
            open_orders=len(book.open_order_ids()),
            conservation=conservation,
        )

    def _tell_watch(
        self, moment: str, held: dict[str, int], conservation: ConservationReport, at: datetime
    ) -> None:
        """Each client's cash on this node beside the central figure, then the halts raised."""
        figures = self._central_figures or {}
        central = {account: figures.get((account, CASH), 0) for account in held}
        funds = node_funds_events(
            broker_id=self.broker_id,
            business_date=self.business_date,
            node_id=self.node_id,
            moment=moment,
            held_fen=held,
            central_fen=central,
            at=at,
            special_accounts=self._special_of,
        )
        self._publisher.occurred([*funds, *_halted(conservation, self.instance_id, at)])

    # -- orders, fills, cancels ---------------------------------------------------------------

    def submit(self, orders: Sequence[Order]) -> list[CheckResult]:
        """Check a batch of orders; accepted ones are journalled and committed before return."""
        return self._write(
            "orders",
            [partial(NodeBook.accept, order=o) for o in orders],
            clients={order.fund_account for order in orders},
        )

    def fill(self, executions: Sequence[Execution]) -> list[CheckResult]:
        """Executions from the exchange; they change availability at once."""
        return self._write(
            "fills",
            [
                partial(
                    NodeBook.fill,
                    order_id=e.order_id,
                    quantity=e.quantity,
                    price_milli=e.price_milli,
                )
                for e in executions
            ],
        )

    def cancel(self, order_ids: Sequence[str]) -> list[CheckResult]:
        return self._write("cancels", [partial(NodeBook.cancel, order_id=o) for o in order_ids])

    def _write(
        self,
        action: str,
        checks: Sequence[Callable[[NodeBook], CheckResult]],
        clients: Collection[str] = (),
    ) -> list[CheckResult]:
        try:
            return self._write_fenced(action, checks, clients)
        except IntradayRefused as refusal:
            self._record_refusal(refusal, action)
            raise

    def _write_fenced(
        self,
        action: str,
        checks: Sequence[Callable[[NodeBook], CheckResult]],
        clients: Collection[str],
    ) -> list[CheckResult]:
        book = self.book
        if book is None:
            raise IntradayRefused(
                IntradayRejection.NODE_MUST_HAVE_ITS_DAY_LOADED, "start the day or take over first"
            )
        uow = self._uow_factory()
        with uow:
            now = self._clock.now()
            self._fence(uow, now)
            guarded = None
            if clients and self._central_figures is not None:
                guarded = self._guard(uow, clients, now)
            self._obey_halts(uow, book, orders=action == "orders")
            self.book = None  # until the commit succeeds, the in-memory book is not trusted
            outcomes: list[CheckResult] = []
            entries: list[NodeEntry] = []
            for check in checks:
                # Each check sees the effect of the ones before it in the same batch.
                outcome = check(book)
                outcomes.append(outcome)
                if isinstance(outcome, NodeEntry):
                    book.apply(outcome)
                    entries.append(outcome)
            self._journal(uow, entries, self._next_seq, now)
            record_audit(
                uow,
                actor=self.instance_id,
                action=WRITE_ACTION[action],
                object_ref=self._ref,
                payload={
                    "epoch": self.epoch,
                    "seq_first": self._next_seq,
                    "journalled": len(entries),
                    "refused": len(outcomes) - len(entries),
                },
                recorded_at=now,
            )
            uow.commit()
        self.book = book
        self._next_seq += len(entries)
        if guarded is not None:
            self._publisher.occurred(_halted(guarded, self.instance_id, now))
        return outcomes

    def _obey_halts(self, uow: IntradayUnitOfWork, book: NodeBook, *, orders: bool) -> None:
        """The halts in force, read in the batch's own transaction: a halt approved while the
        node runs is obeyed from its next batch, on every node of the broker."""
        book.halted = uow.intraday.halted(
            broker_id=self.broker_id, business_date=self.business_date
        )
        book.restricted = self._restricted
        book.special_of = self._special_of
        if orders:  # a fill is the exchange's fact and a cancel releases money: never stopped
            halts = uow.flow_halts.halts(broker_id=self.broker_id, in_force=True)
            book.outflows_halted = outflows_halted(halts)

    def _conserve_every_client(self, uow: IntradayUnitOfWork, now: datetime) -> ConservationReport:
        """Check Σ available ≤ central for every client against the figures this node holds."""
        assert self._central_figures is not None  # set before any start of day or replay
        return conserve_in(
            uow,
            broker_id=self.broker_id,
            business_date=self.business_date,
            figures=self._central_figures,
            fund_accounts=None,
            actor=self.instance_id,
            at=now,
        )

    def _guard(
        self, uow: IntradayUnitOfWork, clients: Collection[str], now: datetime
    ) -> ConservationReport | None:
        """Conservation for the batch's clients across every node, before any order is checked.

        One query returns only breaching clients; for them the full check halts and alerts."""
        breaching = uow.intraday.breaching_clients(
            broker_id=self.broker_id, business_date=self.business_date, fund_accounts=clients
        )
        if not breaching:
            return None
        return conserve_in(
            uow,
            broker_id=self.broker_id,
            business_date=self.business_date,
            figures=uow.intraday.central_figures(
                broker_id=self.broker_id,
                business_date=self.business_date,
                fund_accounts=breaching,
            ),
            fund_accounts=breaching,
            actor=self.instance_id,
            at=now,
        )

    def _journal(
        self,
        uow: IntradayUnitOfWork,
        entries: Sequence[NodeEntry],
        first_seq: int,
        now: datetime,
    ) -> None:
        assert self.epoch is not None
        uow.intraday.append(
            node_id=self.node_id,
            broker_id=self.broker_id,
            business_date=self.business_date,
            epoch=self.epoch,
            first_seq=first_seq,
            recorded_at_us=micros(now),
            entries=entries,
        )
