"""The node book: order checks, fills, cancels, and replay that rebuilds the same state."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from clearwatch.adapters.fee_schedule_file import load_fee_schedule
from clearwatch.domain.backoffice.fees import execution_fees
from clearwatch.domain.intraday.book import (
    NodeBook,
    NodeEntry,
    NodeEntryKind,
    Order,
    OrderRejection,
    Refusal,
)
from clearwatch.domain.intraday.fee_estimates import fee_rates, order_amount_fen
from clearwatch.domain.shared.kinds import Side

SCHEDULE = load_fee_schedule()
RATES = fee_rates(SCHEDULE)


def _book(cash_fen: int = 100_000_00, shares: int = 1_000) -> NodeBook:
    book = NodeBook(RATES)
    book.replay(book.allocation(fund_account="F1", cash_fen=cash_fen, shares={"SH.600000": shares}))
    return book


def _apply(book: NodeBook, outcome: NodeEntry | Refusal) -> NodeEntry | Refusal:
    if isinstance(outcome, NodeEntry):
        book.apply(outcome)
    return outcome


@given(
    quantity=st.integers(1, 10**7),
    price_milli=st.integers(1, 10**6),
    sell=st.booleans(),
    security=st.sampled_from(["SH.600000", "SH.510300", "SZ.159915", "SZ.000001"]),
)
def test_the_integer_fee_estimate_equals_the_books_decimal_fees(
    quantity: int, price_milli: int, sell: bool, security: str
) -> None:
    market, code = security.split(".")
    reference = execution_fees(
        schedule=SCHEDULE,
        market=market,
        security=code,
        side=Side.SELL if sell else Side.BUY,
        quantity=quantity,
        price=Decimal(price_milli) / 1000,
    )
    amount = order_amount_fen(quantity, price_milli)
    assert amount == reference.amount_fen
    assert RATES.fees_fen(sell=sell, security=security, amount_fen=amount) == reference.fees_fen


def test_a_buy_needs_amount_and_fees_within_available_cash() -> None:
    book = _book(cash_fen=10_005_00)
    # 1,000 shares at 10.000 = 10,000.00 + commission 5.00 (minimum) + 0.34 + 0.20 + 0.10.
    refused = book.accept(Order("o1", "F1", Side.BUY, "SH.600000", 1_000, 10_000))
    assert isinstance(refused, Refusal)
    assert refused.rejection is OrderRejection.CASH_MUST_COVER_AMOUNT_AND_FEES
    accepted = book.accept(Order("o2", "F1", Side.BUY, "SH.600000", 999, 10_000))
    assert isinstance(accepted, NodeEntry)
    assert accepted.cash_delta_fen == -(9_990_00 + 5_00 + 34 + 20 + 10)


def test_todays_buys_are_not_sellable_and_sells_free_proceeds_for_buying() -> None:
    book = _book(cash_fen=100_000_00, shares=100)
    _apply(book, book.accept(Order("b1", "F1", Side.BUY, "SH.600000", 500, 10_000)))
    _apply(book, book.fill(order_id="b1", quantity=500, price_milli=10_000))
    sell = book.accept(Order("s1", "F1", Side.SELL, "SH.600000", 101, 10_000))
    assert isinstance(sell, Refusal)
    assert sell.rejection is OrderRejection.SHARES_MUST_COVER_QUANTITY
    _apply(book, book.accept(Order("s2", "F1", Side.SELL, "SH.600000", 100, 10_000)))
    _apply(book, book.fill(order_id="s2", quantity=100, price_milli=10_000))
    view = book.client("F1")
    assert view is not None
    # Proceeds 1,000.00 − 5.00 − 0.50 stamp − 0.01 transfer − 0.03 handling − 0.02 regulatory.
    assert view.proceeds_today_fen == 1_000_00 - 5_56
    assert view.cash_claim_fen == view.cash_available_fen - view.proceeds_today_fen


def test_a_cancel_returns_what_the_order_froze() -> None:
    book = _book()
    _apply(book, book.accept(Order("b1", "F1", Side.BUY, "SH.600000", 100, 10_000)))
    _apply(book, book.accept(Order("s1", "F1", Side.SELL, "SH.600000", 300, 10_000)))
    _apply(book, book.cancel(order_id="b1"))
    _apply(book, book.cancel(order_id="s1"))
    view = book.client("F1")
    assert view is not None
    assert (view.cash_available_fen, view.cash_frozen_fen) == (100_000_00, 0)
    assert view.shares_available["SH.600000"] == 1_000
    again = book.cancel(order_id="b1")
    assert isinstance(again, Refusal) and again.rejection is OrderRejection.ORDER_MUST_BE_OPEN


def test_halted_clients_and_reused_order_ids_are_refused() -> None:
    book = _book()
    _apply(book, book.accept(Order("o1", "F1", Side.BUY, "SH.600000", 1, 10_000)))
    reused = book.accept(Order("o1", "F1", Side.BUY, "SH.600000", 1, 10_000))
    assert isinstance(reused, Refusal) and reused.rejection is OrderRejection.ORDER_ID_MUST_BE_NEW
    book.halted = {"F1"}
    halted = book.accept(Order("o2", "F1", Side.BUY, "SH.600000", 1, 10_000))
    assert isinstance(halted, Refusal)
    assert halted.rejection is OrderRejection.CLIENT_TRADING_MUST_NOT_BE_HALTED
    unknown = book.accept(Order("o3", "F9", Side.BUY, "SH.600000", 1, 10_000))
    assert isinstance(unknown, Refusal)
    assert unknown.rejection is OrderRejection.CLIENT_MUST_BE_KNOWN_TO_NODE


_steps = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell", "fill", "cancel"]),
        st.integers(1, 400),
        st.integers(5_000, 15_000),
    ),
    max_size=60,
)


@settings(max_examples=60)
@given(steps=_steps)
def test_replaying_the_journal_rebuilds_exactly_the_live_book_and_cash_never_goes_negative(
    steps: list[tuple[str, int, int]],
) -> None:
    live = _book(cash_fen=50_000_00, shares=2_000)
    journal = list(
        live.allocation(fund_account="F1", cash_fen=50_000_00, shares={"SH.600000": 2_000})
    )
    for number, (action, quantity, price_milli) in enumerate(steps):
        open_ids = live.open_order_ids()
        match action:
            case "buy" | "sell":
                side = Side.BUY if action == "buy" else Side.SELL
                outcome = live.accept(
                    Order(f"o{number}", "F1", side, "SH.600000", quantity, price_milli)
                )
            case "fill" if open_ids:
                outcome = live.fill(order_id=open_ids[0], quantity=1, price_milli=price_milli)
            case "cancel" if open_ids:
                outcome = live.cancel(order_id=open_ids[-1])
            case _:
                continue
        if isinstance(outcome, NodeEntry):
            live.apply(outcome)
            journal.append(outcome)
        view = live.client("F1")
        assert view is not None and view.cash_frozen_fen >= 0
        assert view.shares_available.get("SH.600000", 0) >= 0
    standby = NodeBook(RATES)
    standby.replay(journal)
    assert standby.clients() == live.clients()
    assert standby.open_order_ids() == live.open_order_ids()
    assert all(entry.kind in NodeEntryKind for entry in journal)
