"""The engine's integer fee expression equals the plain Decimal reference, for any execution."""

from decimal import Decimal

import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from clearwatch.adapters.engine.backoffice.row_work import IbisBackOfficeEngine
from clearwatch.adapters.fee_schedule_file import load_fee_schedule
from clearwatch.domain.backoffice.fees import execution_fees
from clearwatch.domain.shared.kinds import Side

SCHEDULE = load_fee_schedule()
ENGINE = IbisBackOfficeEngine(threads=1)

executions = st.lists(
    st.tuples(
        st.sampled_from(
            [
                ("SH", "600000"),
                ("SH", "510300"),
                ("SZ", "000001"),
                ("SZ", "159919"),
                ("SZ", "160105"),
                ("SZ", "300750"),
                ("BJ", "830799"),
            ]
        ),
        st.sampled_from(["B", "S"]),
        st.integers(min_value=1, max_value=10_000_000),
        st.integers(min_value=1, max_value=99_999_999),  # price in thousandths of a yuan
        st.sampled_from(["", "0.00025", "0.0003", "0.000185", "0.003", "0"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(executions)
# A 307-billion-yuan trade at a 0.3% rate once overflowed int64 inside the engine.
@example([(("SH", "600000"), "B", 5_620_392, 54_701_832, "0.003")])
# Quantity × price above 2^53 thousandths: a floating-point quotient once rounded the amount.
@example([(("SH", "600000"), "S", 95_307_939, 98_434_406, "0.00025")])
def test_engine_fees_equal_the_decimal_reference(rows: list[tuple]) -> None:  # type: ignore[type-arg]
    table = pa.table(
        {
            "exec_id": [f"E{i}" for i in range(len(rows))],
            "market": [r[0][0] for r in rows],
            "security": [r[0][1] for r in rows],
            "side": [r[1] for r in rows],
            "quantity": pa.array([r[2] for r in rows], pa.int64()),
            "price_milli": pa.array([r[3] for r in rows], pa.int64()),
            "fund_account": [f"F{i}" for i in range(len(rows))],
            "line": pa.array(range(2, len(rows) + 2), pa.int64()),
        }
    )
    clients = pa.table(
        {
            "fund_account": [f"F{i}" for i in range(len(rows))],
            "account_kind": ["normal"] * len(rows),
            "commission_rate": [r[4] for r in rows],
        }
    )
    cleared = ENGINE.clear_trades(executions=table, clients=clients, schedule=SCHEDULE)
    got = {row["exec_id"]: row for row in cleared.detail.to_pylist()}
    for i, ((market, security), side, quantity, milli, rate) in enumerate(rows):
        expected = execution_fees(
            schedule=SCHEDULE,
            market=market,
            security=security,
            side=Side(side),
            quantity=quantity,
            price=Decimal(milli) / 1000,
            commission_rate=Decimal(rate) if rate else None,
        )
        row = got[f"E{i}"]
        assert row["amount_fen"] == expected.amount_fen
        assert row["commission_fen"] == expected.commission_fen
        assert row["stamp_duty_fen"] == expected.stamp_duty_fen
        assert row["transfer_fee_fen"] == expected.transfer_fee_fen
        assert row["handling_fee_fen"] == expected.handling_fee_fen
        assert row["regulatory_fee_fen"] == expected.regulatory_fee_fen
        assert row["cash_fen"] == expected.cash_fen(Side(side))
    # The netting conserves money: client cash + broker-side postings sum to zero.
    client_total = sum(cleared.client_cash.column("cash_fen").to_pylist())
    assert -client_total + sum(cleared.counters.column("quantity").to_pylist()) == 0
