"""The engine's netting per client and per (client, asset) equals plain sums over the detail.

The engine groups by integers standing for the text keys (issue 16's speed work); these
tests hold it to grouping the text itself: same sums, same order, zero holdings left out,
whatever the order of the client list and with executions of unknown clients left out.
"""

from collections import defaultdict

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearwatch.adapters.engine.backoffice.row_work import IbisBackOfficeEngine
from clearwatch.adapters.fee_schedule_file import load_fee_schedule

SCHEDULE = load_fee_schedule()
ENGINE = IbisBackOfficeEngine(threads=1)
SECURITIES = [("SH", "600000"), ("SH", "510300"), ("SZ", "000001"), ("BJ", "830799")]
CLIENTS = ["F10", "F2", "F1", "F30", "F3", "G0"]  # text order differs from list order

execution = st.tuples(
    st.sampled_from([*CLIENTS, "F99"]),  # F99 is no client: its executions are left out
    st.sampled_from(SECURITIES),
    st.sampled_from(["B", "S"]),
    st.integers(min_value=1, max_value=3),  # few quantities: buys and sells often cancel out
    st.integers(min_value=1, max_value=99_999),
)


def _executions(rows: list[tuple]) -> pa.Table:  # type: ignore[type-arg]
    return pa.table(
        {
            "exec_id": [f"E{i:04d}" for i in range(len(rows))],
            "market": [r[1][0] for r in rows],
            "security": [r[1][1] for r in rows],
            "side": [r[2] for r in rows],
            "quantity": pa.array([100 * r[3] for r in rows], pa.int64()),
            "price_milli": pa.array([r[4] for r in rows], pa.int64()),
            "fund_account": [r[0] for r in rows],
            "line": pa.array(range(2, len(rows) + 2), pa.int64()),
        }
    )


def _clients(order: list[str]) -> pa.Table:
    return pa.table(
        {
            "fund_account": order,
            "account_kind": ["normal"] * len(order),
            "commission_rate": [""] * len(order),
        }
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(execution, min_size=1, max_size=60), st.permutations(CLIENTS))
def test_netting_equals_the_sums_of_the_detail(rows: list[tuple], order: list[str]) -> None:  # type: ignore[type-arg]
    cleared = ENGINE.clear_trades(
        executions=_executions(rows), clients=_clients(order), schedule=SCHEDULE
    )
    detail = cleared.detail.to_pylist()
    assert {d["fund_account"] for d in detail} <= set(CLIENTS)
    cash: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    shares: dict[tuple[str, str], int] = defaultdict(int)
    for d in detail:
        cash[d["fund_account"]][0] += d["cash_fen"]
        cash[d["fund_account"]][1] += d["cash_fen"] if d["side"] == "S" else 0
        shares[(d["fund_account"], f"{d['market']}.{d['security']}")] += d["signed_quantity"]
    assert cleared.client_cash.to_pylist() == [
        {"fund_account": a, "cash_fen": c, "sell_proceeds_fen": s}
        for a, (c, s) in sorted(cash.items())
    ]
    assert cleared.holdings.to_pylist() == [
        {"fund_account": a, "asset": asset, "quantity": q}
        for (a, asset), q in sorted(shares.items())
        if q != 0
    ]
    assert cleared.client_cash.schema.field("cash_fen").type == pa.int64()
    assert cleared.holdings.schema.field("quantity").type == pa.int64()


def test_a_client_whose_buys_and_sells_cancel_holds_nothing_new() -> None:
    rows = [
        ("F1", ("SH", "600000"), "B", 2, 10_000),
        ("F1", ("SH", "600000"), "S", 2, 10_500),
        ("F2", ("SZ", "000001"), "B", 1, 5_000),
    ]
    cleared = ENGINE.clear_trades(
        executions=_executions(rows), clients=_clients(CLIENTS), schedule=SCHEDULE
    )
    assert cleared.holdings.to_pylist() == [
        {"fund_account": "F2", "asset": "SZ.000001", "quantity": 100}
    ]
    assert cleared.client_cash.column("fund_account").to_pylist() == ["F1", "F2"]


def _huge(rows: list[tuple]) -> pa.Table:  # type: ignore[type-arg]
    """Executions of 10^15 shares each (fifteen digits, the most a file may hold) at 0.001."""
    table = _executions(rows)
    quantity = table.schema.get_field_index("quantity")
    return table.set_column(quantity, "quantity", pa.array([10**15] * len(rows), pa.int64()))


def test_huge_days_are_summed_exactly() -> None:
    # 10,000 executions of 10^15 shares: their magnitudes could pass 2^63 in sum, so the
    # engine sums exactly in Python integers; each client's own sum fits, and is exact.
    rows = [("F1", ("SH", "600000"), "B", 1, 1), ("F2", ("SH", "600000"), "S", 1, 1)] * 5_000
    cleared = ENGINE.clear_trades(
        executions=_huge(rows), clients=_clients(CLIENTS), schedule=SCHEDULE
    )
    assert cleared.holdings.to_pylist() == [
        {"fund_account": "F1", "asset": "SH.600000", "quantity": 5_000 * 10**15},
        {"fund_account": "F2", "asset": "SH.600000", "quantity": -5_000 * 10**15},
    ]
    detail = cleared.detail.to_pylist()
    assert cleared.client_cash.column("cash_fen").to_pylist() == [
        sum(d["cash_fen"] for d in detail if d["fund_account"] == account)
        for account in ("F1", "F2")
    ]


def test_a_sum_that_does_not_fit_64_bits_is_refused() -> None:
    # One client buying 10,000 × 10^15 shares of one security: 10^19 does not fit in int64.
    rows = [("F1", ("SH", "600000"), "B", 1, 1)] * 10_000
    with pytest.raises(OverflowError, match="64-bit"):
        ENGINE.clear_trades(executions=_huge(rows), clients=_clients(CLIENTS), schedule=SCHEDULE)
