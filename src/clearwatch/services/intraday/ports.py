"""Ports of intraday fund control: the node store, and the central books' available figures."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from clearwatch.domain.intraday.book import NodeEntry
from clearwatch.domain.intraday.conservation import NodeClaim
from clearwatch.domain.intraday.lease import Lease, LeaseMove
from clearwatch.domain.shared.kinds import CASH
from clearwatch.domain.watch.flow_halts import FlowHalt
from clearwatch.services.access.ports import AccessUnitOfWork


@dataclass(frozen=True)
class CentralPosition:
    """What the central books hold available for one client on a business date."""

    fund_account: str
    cash_available_fen: int
    shares_sellable: Mapping[str, int] = field(default_factory=dict)  # "SH.600000" → shares
    commission_rate: Decimal | None = None
    status: str = "active"  # `frozen`: no buy orders; `closed`: no orders (backoffice.md §2)
    # The special account the client's money is held in (its bank's, for its account kind):
    # withdrawals and settlement are paid from it, so a halt of its outflows stops buys too.
    special_account: str = ""


class CentralFunds(Protocol):
    """The central system's available cash and sellable shares per client (the books, §1)."""

    def positions(
        self, *, broker_id: str, business_date: date
    ) -> Mapping[str, CentralPosition]: ...


@dataclass(frozen=True)
class SnapshotCentralFunds:
    """A fixed snapshot, for drills, tests and benches. A position names the special account
    holding the client's money as the books' do: the nodes tell it to the watch with their
    funds, which finds a special account's phantom money by it (`SpecialAccountDivergence`)."""

    by_broker: Mapping[str, Mapping[str, CentralPosition]]

    def positions(self, *, broker_id: str, business_date: date) -> Mapping[str, CentralPosition]:
        return self.by_broker.get(broker_id, {})


@dataclass(frozen=True)
class StartOfDayRecord:
    node_id: str
    business_date: date
    broker_id: str
    epoch: int
    holder: str
    clients: int
    cash_allocated_fen: int
    started_at: datetime


@dataclass(frozen=True)
class HaltRecord:
    halt_id: int
    business_date: date
    broker_id: str
    fund_account: str
    raised_at: datetime
    raised_by: str
    evidence: Mapping[str, Any]
    seq: int = 1  # the client's halts of the day, in order: a lifted client can be halted again
    cause: str = "legacy"  # what raised it, unique per client and day (a breach, an approval)
    lifted_by_approval: int | None = None  # the approved override that lifted it, if any

    @property
    def lifted(self) -> bool:
        return self.lifted_by_approval is not None


class IntradayRepository(Protocol):
    def lease(self, node_id: str, *, lock: bool) -> Lease | None:
        """The current lease; `lock` holds the row until the transaction ends (fencing)."""
        ...

    def put_lease(
        self,
        lease: Lease,
        *,
        move: LeaseMove,
        at: datetime,
        approval_request_id: int | None = None,
    ) -> None:
        """Store the lease; a new epoch is also recorded in the append-only epoch history."""
        ...

    def start_of_day(self, node_id: str, business_date: date) -> StartOfDayRecord | None: ...

    def add_start_of_day(self, record: StartOfDayRecord) -> None:
        """Raises IntradayRefused(start_of_day_must_be_once_per_node_and_date) on a second one."""
        ...

    def last_seq(self, node_id: str) -> int: ...

    def append(
        self,
        *,
        node_id: str,
        broker_id: str,
        business_date: date,
        epoch: int,
        first_seq: int,
        recorded_at_us: int,
        entries: Sequence[NodeEntry],
    ) -> None: ...

    def journal(self, node_id: str, business_date: date) -> Iterator[NodeEntry]: ...

    def journal_epochs(self, node_id: str) -> list[tuple[int, int, int]]:
        """(seq, epoch, recorded_at_us) of every row, in seq order, for fencing checks."""
        ...

    def claims(
        self,
        *,
        broker_id: str,
        business_date: date,
        fund_accounts: Collection[str] | None = None,
        assets: Collection[str] | None = None,
    ) -> list[NodeClaim]:
        """Each node's claim per (client, asset) on the date, narrowed to the given ones.

        Read from the claims projection kept with every append."""
        ...

    def journal_claims(
        self,
        *,
        broker_id: str,
        business_date: date,
        fund_accounts: Collection[str] | None = None,
    ) -> list[NodeClaim]:
        """The same, summed from the journal itself (the truth the projection must equal)."""
        ...

    def put_central_figures(
        self, *, broker_id: str, business_date: date, figures: Mapping[tuple[str, str], int]
    ) -> None:
        """Keep the central figures a start of day or takeover read (latest wins)."""
        ...

    def central_figures(
        self, *, broker_id: str, business_date: date, fund_accounts: Collection[str]
    ) -> dict[tuple[str, str], int]:
        """The kept central figures of these clients, keyed by (client, asset)."""
        ...

    def breaching_clients(
        self, *, broker_id: str, business_date: date, fund_accounts: Collection[str]
    ) -> set[str]:
        """Clients whose claims across nodes exceed the kept central figures (one query)."""
        ...

    def allocated_cash(self, *, broker_id: str, business_date: date) -> list[tuple[str, str, int]]:
        """(node, client, cash) each node's start of day allocated on the date."""
        ...

    def halted(self, *, broker_id: str, business_date: date) -> set[str]:
        """Clients with a halt of the day that no approved override has lifted."""
        ...

    def add_halt(
        self,
        *,
        broker_id: str,
        business_date: date,
        fund_account: str,
        evidence: Mapping[str, Any],
        raised_at: datetime,
        raised_by: str,
        cause: str,
    ) -> int | None:
        """The new halt's seq; None when this cause already halted the client that day (its
        halt stands; nothing is added). A halt of another cause taking the same seq at the
        same moment does not lose this one: it takes the next seq."""
        ...

    def halts(
        self, *, business_date: date, broker_id: str | None = None, fund_account: str | None = None
    ) -> list[HaltRecord]:
        """The day's halts in the order raised, each with its lift if any."""
        ...

    def add_lift(
        self, *, halt_id: int, approval_request_id: int, lifted_at: datetime, lifted_by: str
    ) -> bool:
        """False when the halt is already lifted or the approval already lifted a halt."""
        ...


class HaltedFlows(Protocol):
    """The flows the risk desk halted (the watch's store, issue 19), as the nodes read them."""

    def halts(self, *, broker_id: str | None = None, in_force: bool = False) -> list[FlowHalt]: ...


class IntradayUnitOfWork(AccessUnitOfWork, Protocol):
    @property
    def intraday(self) -> IntradayRepository: ...

    @property
    def flow_halts(self) -> HaltedFlows:
        """Every order batch reads the halts in force: a halt of all of an account's outflows
        refuses its buys from the next batch on, on every node."""
        ...


def central_quantities(
    positions: Iterable[CentralPosition],
) -> dict[tuple[str, str], int]:
    """Central figures keyed by (client, asset) as the conservation check compares them."""
    figures: dict[tuple[str, str], int] = {}
    for position in positions:
        figures[(position.fund_account, CASH)] = position.cash_available_fen
        for security, quantity in position.shares_sellable.items():
            figures[(position.fund_account, security)] = quantity
    return figures
