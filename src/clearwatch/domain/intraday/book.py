"""A trading node's book: per client, the cash and shares still available for orders.

One transition function, `NodeBook.apply`, moves the book by a journal entry; a live node and a
standby replaying the journal run the very same code, so a takeover rebuilds exactly the state
the primary had. Checks (`accept`, `fill`, `cancel`) only compute the entry; the caller applies
it once the entry is durably journalled (or applies and discards the book if journalling fails).

The book is deliberately mutable and slotted: a node checks tens of thousands of orders a
second, and each check must not copy the book.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from clearwatch.domain.intraday.fee_estimates import FeeRates, order_amount_fen
from clearwatch.domain.shared.kinds import Side

# Journal entries carry the side as plain text, never the enum, so every store writes "B"/"S".
_SIDE_TEXT = {Side.BUY: "B", Side.SELL: "S"}


class NodeEntryKind(StrEnum):
    ALLOCATE = "allocate"  # start of day: cash or shares handed to the node from the central books
    ACCEPT = "accept"
    FILL = "fill"
    CANCEL = "cancel"


class OrderRejection(StrEnum):
    """Why an order, fill or cancel is refused, in precedence order."""

    CLIENT_MUST_BE_KNOWN_TO_NODE = "client_must_be_known_to_node"
    CLIENT_TRADING_MUST_NOT_BE_HALTED = "client_trading_must_not_be_halted"
    CLOSED_ACCOUNT_MUST_NOT_ORDER = "closed_account_must_not_order"
    FROZEN_ACCOUNT_MUST_NOT_BUY = "frozen_account_must_not_buy"
    # The risk desk halted every outflow of the account (issue 19): a buy pays money out.
    HALTED_OUTFLOWS_MUST_NOT_BUY = "halted_outflows_must_not_buy"
    ORDER_ID_MUST_BE_NEW = "order_id_must_be_new"
    QUANTITY_MUST_BE_POSITIVE = "quantity_must_be_positive"
    PRICE_MUST_BE_POSITIVE = "price_must_be_positive"
    CASH_MUST_COVER_AMOUNT_AND_FEES = "available_cash_must_cover_amount_and_fees"
    SHARES_MUST_COVER_QUANTITY = "available_shares_must_cover_quantity"
    ORDER_MUST_BE_OPEN = "order_must_be_open"
    FILL_MUST_NOT_EXCEED_REMAINING = "fill_must_not_exceed_remaining_quantity"


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    fund_account: str
    side: Side
    security: str  # "SH.600000"
    quantity: int
    price_milli: int  # thousandths of a yuan (prices have up to three decimals)


@dataclass(frozen=True, slots=True)
class Execution:
    """A fill reported by the exchange for an order this node accepted."""

    order_id: str
    quantity: int
    price_milli: int


class NodeEntry(NamedTuple):
    """One step of a node's day; the deltas are what `apply` adds, so replay needs no rules.

    A named tuple rather than a frozen dataclass: just as immutable, and several times cheaper
    to build, which matters at tens of thousands of order checks a second."""

    kind: NodeEntryKind
    fund_account: str
    order_id: str = ""
    side: str = ""
    security: str = ""
    quantity: int = 0
    price_milli: int = 0
    cash_delta_fen: int = 0
    frozen_cash_delta_fen: int = 0
    proceeds_delta_fen: int = 0
    shares_delta: int = 0
    frozen_shares_delta: int = 0
    commission_rate: str = ""  # on a cash allocation: the client's rate, for fee estimates


class Refusal(NamedTuple):
    order_id: str
    rejection: OrderRejection
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ClientView:
    """What a client may still use on this node, and what it claims of the central books."""

    fund_account: str
    cash_available_fen: int
    cash_frozen_fen: int
    proceeds_today_fen: int
    shares_available: Mapping[str, int]

    @property
    def cash_claim_fen(self) -> int:
        """Central money this node may still spend; today's sale proceeds are not central's."""
        return self.cash_available_fen + self.cash_frozen_fen - self.proceeds_today_fen


class _Client:
    __slots__ = ("cash", "frozen", "frozen_shares", "proceeds", "rates", "shares")

    def __init__(self, rates: FeeRates) -> None:
        self.cash = 0
        self.frozen = 0
        self.proceeds = 0
        self.shares: dict[str, int] = {}
        self.frozen_shares: dict[str, int] = {}
        self.rates = rates


class _OpenOrder:
    __slots__ = ("frozen", "fund_account", "remaining", "security", "side")

    def __init__(self, fund_account: str, side: str, security: str, remaining: int, frozen: int):
        self.fund_account = fund_account
        self.side = side
        self.security = security
        self.remaining = remaining
        self.frozen = frozen


class NodeBook:
    """The node's state; only `apply` changes it."""

    def __init__(self, rates: FeeRates) -> None:
        self._rates = rates
        self._clients: dict[str, _Client] = {}
        self._orders: dict[str, _OpenOrder] = {}
        self._order_ids: set[str] = set()
        self.halted: set[str] = set()  # clients whose trading is stopped (conservation breach)
        # Accounts not `active` (backoffice.md §2), by status: `frozen` or `closed`.
        self.restricted: dict[str, str] = {}
        # Accounts (a client's, or a special account) whose every outflow a flow halt in force
        # stops, with that halt's id; and the special account each client's money is held in.
        self.outflows_halted: Mapping[str, int] = {}
        self.special_of: Mapping[str, str] = {}
        self.entries_applied = 0

    # -- the one transition ------------------------------------------------------------------

    def apply(self, entry: NodeEntry) -> None:
        # Unpacked once: this is the hot path of every order, fill and replayed entry.
        (kind, account, order_id, side, security, quantity, _price, cash, frozen, proceeds,
         shares, frozen_shares, commission_rate) = entry  # fmt: skip
        client = self._clients.get(account)
        if client is None:
            # An invariant, not input: only an allocation may introduce a client.
            assert kind == NodeEntryKind.ALLOCATE, f"{kind} before allocation"
            client = self._clients[account] = _Client(self._rates)
        client.cash += cash
        client.frozen += frozen
        client.proceeds += proceeds
        if shares:
            client.shares[security] = client.shares.get(security, 0) + shares
        if frozen_shares:
            client.frozen_shares[security] = client.frozen_shares.get(security, 0) + frozen_shares
        match kind:
            case NodeEntryKind.ACCEPT:
                self._order_ids.add(order_id)
                self._orders[order_id] = _OpenOrder(account, side, security, quantity, frozen)
            case NodeEntryKind.FILL:
                order = self._orders[order_id]
                order.remaining -= quantity
                order.frozen += frozen
                if order.remaining == 0:
                    del self._orders[order_id]
            case NodeEntryKind.CANCEL:
                del self._orders[order_id]
            case NodeEntryKind.ALLOCATE:
                if commission_rate:
                    client.rates = self._rates.with_commission(Decimal(commission_rate))
        self.entries_applied += 1

    def replay(self, entries: Iterable[NodeEntry]) -> None:
        for entry in entries:
            self.apply(entry)

    # -- checks: compute the entry, change nothing --------------------------------------------

    def allocation(
        self,
        *,
        fund_account: str,
        cash_fen: int,
        shares: Mapping[str, int],
        commission_rate: Decimal | None = None,
    ) -> list[NodeEntry]:
        rate = "" if commission_rate is None else str(commission_rate)
        entries = [
            NodeEntry(
                NodeEntryKind.ALLOCATE, fund_account, cash_delta_fen=cash_fen, commission_rate=rate
            )
        ]
        entries.extend(
            NodeEntry(NodeEntryKind.ALLOCATE, fund_account, security=security, shares_delta=qty)
            for security, qty in sorted(shares.items())
            if qty
        )
        return entries

    def accept(self, order: Order) -> NodeEntry | Refusal:
        """Check an order against what the client still has on this node."""
        client = self._clients.get(order.fund_account)
        if client is None:
            return Refusal(order.order_id, OrderRejection.CLIENT_MUST_BE_KNOWN_TO_NODE)
        account = order.fund_account
        if account in self.halted or account in self.restricted or self.outflows_halted:
            stopped = self._stopped(order)  # the rare case, out of the hot path
            if stopped is not None:
                return stopped
        if order.order_id in self._order_ids:
            return Refusal(order.order_id, OrderRejection.ORDER_ID_MUST_BE_NEW)
        if order.quantity <= 0:
            return Refusal(order.order_id, OrderRejection.QUANTITY_MUST_BE_POSITIVE)
        if order.price_milli <= 0:
            return Refusal(order.order_id, OrderRejection.PRICE_MUST_BE_POSITIVE)
        if order.side is Side.BUY:
            amount = order_amount_fen(order.quantity, order.price_milli)
            need = amount + client.rates.fees_fen(
                sell=False, security=order.security, amount_fen=amount
            )
            if need > client.cash:
                return Refusal(
                    order.order_id,
                    OrderRejection.CASH_MUST_COVER_AMOUNT_AND_FEES,
                    f"needs {need} fen, {client.cash} fen available",
                )
            return NodeEntry(
                NodeEntryKind.ACCEPT,
                order.fund_account,
                order.order_id,
                _SIDE_TEXT[order.side],
                order.security,
                order.quantity,
                order.price_milli,
                cash_delta_fen=-need,
                frozen_cash_delta_fen=need,
            )
        available = client.shares.get(order.security, 0)
        if order.quantity > available:
            return Refusal(
                order.order_id,
                OrderRejection.SHARES_MUST_COVER_QUANTITY,
                f"needs {order.quantity}, {available} sellable",
            )
        return NodeEntry(
            NodeEntryKind.ACCEPT,
            order.fund_account,
            order.order_id,
            _SIDE_TEXT[order.side],
            order.security,
            order.quantity,
            order.price_milli,
            shares_delta=-order.quantity,
            frozen_shares_delta=order.quantity,
        )

    def _stopped(self, order: Order) -> Refusal | None:
        """Whether the account may not order now: a halt, its standing, its halted outflows."""
        if order.fund_account in self.halted:
            return Refusal(order.order_id, OrderRejection.CLIENT_TRADING_MUST_NOT_BE_HALTED)
        status = self.restricted.get(order.fund_account)
        if status == "closed":
            return Refusal(order.order_id, OrderRejection.CLOSED_ACCOUNT_MUST_NOT_ORDER)
        if status == "frozen" and order.side is Side.BUY:
            return Refusal(order.order_id, OrderRejection.FROZEN_ACCOUNT_MUST_NOT_BUY)
        if order.side is Side.BUY and self.outflows_halted:
            halt = self._outflow_halt(order.fund_account)
            if halt is not None:
                return Refusal(order.order_id, OrderRejection.HALTED_OUTFLOWS_MUST_NOT_BUY, halt)
        return None

    def _outflow_halt(self, fund_account: str) -> str | None:
        """The flow halt a buy would pay through: the client's own outflows, or those of the
        special account its money is held in (settlement is paid from there)."""
        halt = self.outflows_halted.get(fund_account)
        if halt is not None:
            return f"flow halt #{halt}: the client's outflows"
        halt = self.outflows_halted.get(self.special_of.get(fund_account, ""))
        if halt is not None:
            return f"flow halt #{halt}: its special account's outflows"
        return None

    def fill(self, *, order_id: str, quantity: int, price_milli: int) -> NodeEntry | Refusal:
        """An execution reported by the exchange; it changes availability at once."""
        order = self._orders.get(order_id)
        if order is None:
            return Refusal(order_id, OrderRejection.ORDER_MUST_BE_OPEN)
        if quantity <= 0:
            return Refusal(order_id, OrderRejection.QUANTITY_MUST_BE_POSITIVE)
        if quantity > order.remaining:
            return Refusal(order_id, OrderRejection.FILL_MUST_NOT_EXCEED_REMAINING)
        client = self._clients[order.fund_account]
        amount = order_amount_fen(quantity, price_milli)
        sell = order.side == Side.SELL.value
        fees = client.rates.fees_fen(sell=sell, security=order.security, amount_fen=amount)
        base = NodeEntry(
            NodeEntryKind.FILL,
            order.fund_account,
            order_id,
            order.side,
            order.security,
            quantity,
            price_milli,
        )
        if sell:
            proceeds = amount - fees
            return _with(base, cash=proceeds, proceeds=proceeds, frozen_shares=-quantity)
        cost = amount + fees
        from_frozen = min(cost, order.frozen)
        cash = -(cost - from_frozen)  # beyond the estimate (a minimum commission per fill)
        frozen = -from_frozen
        if quantity == order.remaining:  # the order is done: release what it no longer needs
            release = order.frozen - from_frozen
            cash += release
            frozen -= release
        return _with(base, cash=cash, frozen=frozen)

    def cancel(self, *, order_id: str) -> NodeEntry | Refusal:
        order = self._orders.get(order_id)
        if order is None:
            return Refusal(order_id, OrderRejection.ORDER_MUST_BE_OPEN)
        base = NodeEntry(
            NodeEntryKind.CANCEL,
            order.fund_account,
            order_id,
            order.side,
            order.security,
            order.remaining,
        )
        if order.side == Side.BUY.value:
            return _with(base, cash=order.frozen, frozen=-order.frozen)
        return _with(base, shares=order.remaining, frozen_shares=-order.remaining)

    # -- views -------------------------------------------------------------------------------

    def client(self, fund_account: str) -> ClientView | None:
        client = self._clients.get(fund_account)
        if client is None:
            return None
        return ClientView(
            fund_account=fund_account,
            cash_available_fen=client.cash,
            cash_frozen_fen=client.frozen,
            proceeds_today_fen=client.proceeds,
            shares_available=dict(client.shares),
        )

    def clients(self) -> list[ClientView]:
        return [view for name in sorted(self._clients) if (view := self.client(name))]

    def open_order_ids(self) -> list[str]:
        return sorted(self._orders)


def _with(
    base: NodeEntry,
    *,
    cash: int = 0,
    frozen: int = 0,
    proceeds: int = 0,
    shares: int = 0,
    frozen_shares: int = 0,
) -> NodeEntry:
    return NodeEntry(
        base.kind,
        base.fund_account,
        base.order_id,
        base.side,
        base.security,
        base.quantity,
        base.price_milli,
        cash_delta_fen=cash,
        frozen_cash_delta_fen=frozen,
        proceeds_delta_fen=proceeds,
        shares_delta=shares,
        frozen_shares_delta=frozen_shares,
    )
