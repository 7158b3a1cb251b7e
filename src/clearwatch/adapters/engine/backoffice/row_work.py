"""Back-office row work as Ibis expressions on DuckDB: fees, netting, checks, statements.

Money stays integer: prices are int64 thousandths of a yuan, rates exact integer ratios with a
power-of-ten denominator, and half-up rounding is `(x + d / 2) // d` on non-negative integers
(split by the denominator first so that no product overflows int64). Division is DuckDB's
integer `divide`: Ibis would compile `//` to FLOOR of a floating-point quotient, which is slower
and inexact above 2^53.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from clearwatch.adapters.arrow_strings import string_bytes
from clearwatch.adapters.columnar_keys import DataKey
from clearwatch.adapters.engine.encrypted_scan import read_encrypted_parquet
from clearwatch.domain.backoffice.fees import FeeSchedule, exact_ratio
from clearwatch.domain.shared.kinds import CASH, Side
from clearwatch.domain.shared.spreadsheet_text import (
    FORMULA_ESCAPE,
    FORMULA_PREFIX_PATTERN,
    FORMULA_PREFIXES,
)
from clearwatch.services.backoffice.ports import TradeClearing
from clearwatch.services.shared.ports import ColumnarStore

COMMISSION_RATE_DENOMINATOR = 10**8  # commission rates carry at most eight decimals
statement_batch_rows = 1_000_000  # rows per batch streamed from the engine to the CSV writer
clients_cached_max = 16  # client lists (and summaries) kept by the engine: one per broker is enough
FEE_COLUMNS = (
    "commission_fen",
    "stamp_duty_fen",
    "transfer_fee_fen",
    "handling_fee_fen",
    "regulatory_fee_fen",
)


# Text of integer money, made in the engine. Most values fit DECIMAL(18): the integer read as
# hundredths (a multiplication by 0.01 keeps the unscaled value, so it is exact) prints fastest;
# the rest (|fen| ≥ 10^18) are spelled out from integer division. -5 fen prints `-0.05`, zero
# `0.00`; prices in thousandths print with three decimals (19982 is `19.982`).
_DECIMAL18_MAX = 10**18 - 1
_MACROS = (
    "CREATE OR REPLACE MACRO cw_fen_text(fen) AS CASE"
    f" WHEN fen BETWEEN -{_DECIMAL18_MAX} AND {_DECIMAL18_MAX}"
    " THEN CAST(CAST(fen AS DECIMAL(18, 0)) * CAST(0.01 AS DECIMAL(2, 2)) AS VARCHAR)"
    " ELSE (CASE WHEN fen < 0 THEN '-' ELSE '' END) || CAST(abs(divide(fen, 100)) AS VARCHAR)"
    " || '.' || lpad(CAST(abs(fen % 100) AS VARCHAR), 2, '0') END",
    "CREATE OR REPLACE MACRO cw_milli_text(milli) AS CASE"
    f" WHEN milli BETWEEN 0 AND {_DECIMAL18_MAX}"
    " THEN CAST(CAST(milli AS DECIMAL(18, 0)) * CAST(0.001 AS DECIMAL(3, 3)) AS VARCHAR)"
    " ELSE CAST(divide(milli, 1000) AS VARCHAR) || '.'"
    " || lpad(CAST(abs(milli % 1000) AS VARCHAR), 3, '0') END",
)


@ibis.udf.scalar.builtin(name="divide")  # type: ignore[untyped-decorator]
def _divide(numerator: dt.int64, denominator: dt.int64) -> dt.int64:
    """DuckDB's integer division."""


@ibis.udf.scalar.builtin(name="cw_fen_text")  # type: ignore[untyped-decorator]
def _fen_text(fen: dt.int64) -> dt.string:
    """The `cw_fen_text` macro."""


@ibis.udf.scalar.builtin(name="cw_milli_text")  # type: ignore[untyped-decorator]
def _milli_text(milli: dt.int64) -> dt.string:
    """The `cw_milli_text` macro."""


def integer_divide(numerator: ir.IntegerValue, denominator: int) -> ir.IntegerValue:
    """Integer division, truncating: floor for the non-negative values it is used on."""
    quotient: ir.IntegerValue = _divide(numerator, denominator)
    return quotient


def fen_text(fen: ir.IntegerValue) -> ir.StringValue:
    """Integer fen as `-?digits.dd`, in the engine; zero prints `0.00`."""
    text: ir.StringValue = _fen_text(fen)
    return text


def _price_text(milli: ir.IntegerValue) -> ir.StringValue:
    """Thousandths of a yuan as `digits.ddd`."""
    text: ir.StringValue = _milli_text(milli)
    return text


def half_up(
    value: ir.IntegerValue, numerator: int | ir.IntegerValue, denominator: int
) -> ir.IntegerValue:
    """value × numerator / denominator rounded half-up, for value ≥ 0, in integers only.

    value = whole × d + rest, so the product splits into whole × n plus a remainder term that
    stays below d × n: a trade of billions of yuan never overflows int64, where value × n would.
    """
    if isinstance(numerator, int) and numerator == 0:
        return ibis.literal(0, type="int64")
    whole = integer_divide(value, denominator)
    rest = value % denominator
    return whole * numerator + integer_divide(rest * numerator + denominator // 2, denominator)


def _is_fund(ex: ir.Table, schedule: FeeSchedule) -> ir.BooleanValue:
    """The schedule's exemptions as one condition: the prefixes the books and the nodes use."""
    condition: ir.BooleanValue = ibis.literal(False)
    for market, prefixes in schedule.exempt_prefixes:
        for prefix in prefixes:
            condition = condition | ((ex.market == market) & ex.security.startswith(prefix))
    return condition


def commission_numerator(rate_text: ir.StringValue, default_rate_text: str) -> ir.IntegerValue:
    """The client's rate over 10^8: `0.00025` → 25000; empty is the default rate."""
    text = (rate_text.length() == 0).ifelse(ibis.literal(default_rate_text), rate_text)
    fraction = text.re_extract(r"\.([0-9]+)", 1)
    return fraction.rpad(8, "0").cast("int64")


def fee_expression(ex: ir.Table, schedule: FeeSchedule) -> ir.Table:
    """Per execution: amount and every fee (fen) and the client's signed cash change.

    `ex` needs market, security, side, quantity, price_milli and commission_numerator.
    """
    amount = integer_divide(ex.quantity * ex.price_milli + 5, 10).name("amount_fen")
    sell = ex.side == Side.SELL.value
    fund = _is_fund(ex, schedule)
    zero = ibis.literal(0, type="int64")
    commission = ibis.greatest(
        half_up(amount, ex.commission_numerator, COMMISSION_RATE_DENOMINATOR),
        ibis.literal(schedule.commission_minimum_fen, type="int64"),
    )
    stamp = (sell & ~fund).ifelse(half_up(amount, *exact_ratio(schedule.stamp_duty_rate)), zero)
    transfer = fund.ifelse(zero, half_up(amount, *exact_ratio(schedule.transfer_fee_rate)))
    handling = half_up(amount, *exact_ratio(schedule.handling_fee_rate))
    regulatory = half_up(amount, *exact_ratio(schedule.regulatory_fee_rate))
    with_fees = ex.mutate(
        amount_fen=amount,
        commission_fen=commission.cast("int64"),
        stamp_duty_fen=stamp.cast("int64"),
        transfer_fee_fen=transfer.cast("int64"),
        handling_fee_fen=handling.cast("int64"),
        regulatory_fee_fen=regulatory.cast("int64"),
    )
    fees = sum((with_fees[c] for c in FEE_COLUMNS[1:]), with_fees.commission_fen)
    return with_fees.mutate(
        cash_fen=sell.ifelse(with_fees.amount_fen - fees, -(with_fees.amount_fen + fees)),
        signed_quantity=sell.ifelse(-with_fees.quantity, with_fees.quantity),
        asset=with_fees.market.concat(".", with_fees.security),
    )


class IbisBackOfficeEngine:
    """Each method is a handful of expressions executed by DuckDB (in memory, threads capped)."""

    def __init__(self, *, threads: int | None = None, data_key: DataKey | None = None) -> None:
        self._threads = threads
        self._data_key = data_key  # an encrypted store's: every object is read with it
        self._backend: Any = None
        # Client lists by the digests they are built from: stored files are content-addressed
        # and never change, so the same digests always give the same table. An end of day
        # reads the list four or five times; a few recent lists are kept.
        self._clients_cache: dict[tuple[str, ...], pa.Table] = {}
        # Settlement summaries by the detail objects they sum (content-addressed as well): the
        # CSDC summary and the reconciliation of an end of day both need the same one.
        self._summary_cache: dict[tuple[str, ...], pa.Table] = {}

    def _connect(self) -> Any:
        """One embedded DuckDB per engine, opened on first use (opening costs ~50 ms)."""
        if self._backend is None:
            backend = ibis.duckdb.connect(**({"threads": self._threads} if self._threads else {}))
            # Projections keep their input's order: the fee detail and the statements stream
            # rely on it instead of sorting (DuckDB's default, stated so nobody turns it off).
            backend.con.execute("SET preserve_insertion_order = true")
            for macro in _MACROS:
                backend.con.execute(macro)
            if self._data_key is not None:
                self._data_key.register_in_duckdb(backend.con)
            self._backend = backend
        return self._backend

    def _read(self, con: Any, uri: str) -> ir.Table:
        return read_parquet(con, uri, self._data_key)

    def clear_trades(
        self, *, executions: pa.Table, clients: pa.Table, schedule: FeeSchedule
    ) -> TradeClearing:
        con = self._connect()
        try:
            with_client, keys = self._with_client_terms(con, executions, clients, schedule)
            fees = fee_expression(_arrow(con, "executions", with_client), schedule)
            # One projection over one table keeps the file's order, so the detail needs no sort,
            # and the engine returns only the columns it computes: the executions' own columns
            # are kept as they are instead of being copied through the engine and back.
            added = [name for name in fees.columns if name not in with_client.column_names]
            computed = fees.select(added).to_pyarrow()
            detail = pa.Table.from_arrays(
                [*with_client.columns, *computed.columns], names=[*with_client.column_names, *added]
            ).cast(fees.schema().to_pyarrow())
            return self._net(_arrow(con, "detail", detail), detail, keys)
        finally:
            _release(con)

    def _with_client_terms(
        self, con: Any, executions: pa.Table, clients: pa.Table, schedule: FeeSchedule
    ) -> tuple[pa.Table, _ClientKeys]:
        """The executions with their client's account kind and commission numerator, and
        each one's client as an integer key (for the netting).

        The numerator is computed once per client by the engine; each execution finds its
        client by an Arrow hash lookup, which keeps the executions' order (a join would not).
        Executions of unknown clients are left out, as an inner join would.
        """
        cl = _arrow(con, "clients", clients.select(["fund_account", "commission_rate"]))
        numerators = (
            cl.select(
                numerator=commission_numerator(
                    cl.commission_rate, str(schedule.commission_rate_default)
                )
            )
            .to_pyarrow()
            .column("numerator")
        )
        index = pc.index_in(executions.column("fund_account"), value_set=clients["fund_account"])
        table = executions.append_column("account_kind", clients["account_kind"].take(index))
        table = table.append_column("commission_numerator", numerators.take(index))
        if index.null_count:
            table = table.filter(pc.is_valid(index))
            index = index.filter(pc.is_valid(index))
        return table, _ClientKeys.of(clients.column("fund_account"), index)

    def _net(self, d: ir.Table, detail: pa.Table, clients: _ClientKeys) -> TradeClearing:
        client_cash, holdings = _client_sums(detail, clients)
        buy = d.side == "B"
        # The broker-side totals are small (per market, security and account kind): one pass
        # over the detail, then split by Arrow into custody, transit, payables and fee income.
        totals = (
            d.group_by(["market", "asset", "account_kind"])
            .aggregate(
                quantity=d.signed_quantity.sum(),
                transit=buy.ifelse(-d.amount_fen, d.amount_fen).sum(),
                exchange=-(d.handling_fee_fen + d.regulatory_fee_fen).sum(),
                csdc=-d.transfer_fee_fen.sum(),
                tax=-d.stamp_duty_fen.sum(),
                income=-d.commission_fen.sum(),
            )
            .to_pyarrow()
        )
        per_market = _summed(totals, ["market"], ["transit", "exchange", "csdc", "tax"])
        income = _summed(totals, ["account_kind"], ["income"])
        custody = _summed(totals, ["market", "asset"], ["quantity"])
        custody = custody.filter(pc.not_equal(custody.column("quantity"), 0))
        markets = per_market.to_pylist()
        counters = (
            [(f"transit:{m['market']}", m["transit"]) for m in markets]
            + [
                (f"payable:{authority}:{m['market']}", m[authority])
                for m in markets
                for authority in ("exchange", "csdc", "tax")
            ]
            + [(f"fee_income:{row['account_kind']}", row["income"]) for row in income.to_pylist()]
        )
        ids = detail.column("exec_id")
        return TradeClearing(
            detail=detail,
            client_cash=client_cash,
            holdings=holdings,
            counters=pa.table(
                {
                    "account": [a for a, q in counters if q != 0],
                    "quantity": pa.array([q for _, q in counters if q != 0], pa.int64()),
                }
            ),
            custody=custody.sort_by("asset"),
            exec_id_first=str(pc.min(ids).as_py()) if len(ids) else "",
            exec_id_last=str(pc.max(ids).as_py()) if len(ids) else "",
        )

    def first_unknown_account(self, *, rows: pa.Table, clients: pa.Table) -> int | None:
        """The first line whose fund_account is not a known client."""
        con = self._connect()
        try:
            r = _arrow(con, "rows", rows.select(["fund_account", "line"]))
            c = _arrow(con, "clients", clients.select(["fund_account"]))
            unknown = r.anti_join(c, "fund_account")
            value = unknown.line.min().to_pyarrow().as_py()
            return None if value is None else int(value)
        finally:
            _release(con)

    def oversold(self, *, executions: pa.Table, sellable: pa.Table) -> pa.Table:
        """(fund_account, asset, sold, sellable, line) where sales exceed sellable shares."""
        con = self._connect()
        try:
            ex = _arrow(con, "executions", executions)
            have = _arrow(con, "sellable", sellable)
            sells = (
                ex.filter(ex.side == "S")
                .mutate(asset=ex.market.concat(".", ex.security))
                .group_by(["fund_account", "asset"])
                .aggregate(sold=lambda t: t.quantity.sum(), line=lambda t: t.line.max())
            )
            joined = sells.left_join(have, ["fund_account", "asset"])
            result = joined.select(
                "fund_account",
                "asset",
                "sold",
                "line",
                sellable=joined.quantity.fill_null(0),
            )
            return result.filter(result.sold > result.sellable).order_by("line").to_pyarrow()
        finally:
            _release(con)

    def overdrawn(self, *, changes: pa.Table, balances: pa.Table) -> pa.Table:
        """(fund_account, balance, change) where balance + change < 0."""
        con = self._connect()
        try:
            ch = _arrow(con, "changes", changes.select(["fund_account", "cash_fen"]))
            have = _arrow(con, "balances", balances)
            joined = ch.left_join(have, "fund_account")
            result = joined.select(
                "fund_account", change=joined.cash_fen, balance=joined.balance.fill_null(0)
            )
            return (
                result.filter(result.balance + result.change < 0)
                .order_by("fund_account")
                .to_pyarrow()
            )
        finally:
            _release(con)

    def current_clients(self, *, tables: Sequence[str], store: ColumnarStore) -> pa.Table:
        """The union of every applied clients file, the latest file winning per fund_account."""
        if not tables:
            return _empty_clients()
        key = tuple(tables)
        cached = self._clients_cache.get(key)
        if cached is None:
            cached = self._read_clients(tables, store)
            if len(self._clients_cache) >= clients_cached_max:
                self._clients_cache.pop(next(iter(self._clients_cache)))
            self._clients_cache[key] = cached
        return cached

    def _read_clients(self, tables: Sequence[str], store: ColumnarStore) -> pa.Table:
        con = self._connect()
        try:
            parts = [
                self._read(con, store.uri(digest)).mutate(generation=ibis.literal(i))
                for i, digest in enumerate(tables)
            ]
            union = ibis.union(*parts)
            latest = union.mutate(
                rank=ibis.row_number().over(
                    group_by=union.fund_account, order_by=ibis.desc(union.generation)
                )
            )
            return (
                latest.filter(latest["rank"] == 0)
                .drop("rank", "generation", "line")
                .order_by("fund_account")
                .to_pyarrow()
            )
        finally:
            _release(con)

    def write_statements(self, *, detail_uris: Sequence[str], clients: pa.Table, path: Path) -> int:
        """Client statements (交割单): every execution with its fees, per client, as CSV."""
        con = self._connect()
        try:
            cl = _arrow(con, "clients", clients.select(["fund_account", "client_id"]))
            if detail_uris:
                detail = ibis.union(*(self._read(con, uri) for uri in detail_uris))
            else:
                detail = _arrow(con, "detail", _empty_detail())
            money = ["amount_fen", *FEE_COLUMNS, "cash_fen"]
            joined = detail.inner_join(cl, "fund_account")
            # Sorted before the money becomes text: the sort then carries integers, not strings.
            ordered = joined.order_by(["fund_account", "market", "exec_id"])
            texts = ("fund_account", "client_id", "exec_id", "market", "security", "side")
            statement = ordered.select(
                *texts,
                quantity=ordered.quantity,
                price=_price_text(ordered.price_milli),
                **{name.removesuffix("_fen"): fen_text(ordered[name]) for name in money},
            )
            with _batches(con, statement) as batches:
                # Statements are for people: text that a spreadsheet would run is neutralised.
                # Not hashed on the way: the step hashes the file as it lies on disk.
                _, rows = _write_csv_stream(_spreadsheet_texts(batches, texts), path, hashed=False)
            return rows
        finally:
            _release(con)

    def plan_opening(
        self, *, opening: pa.Table, clients: pa.Table, special_accounts: pa.Table
    ) -> tuple[pa.Table, int | None, int]:
        return OpeningPlanner(self).plan(
            opening=opening, clients=clients, special_accounts=special_accounts
        )

    def first_rate_above(
        self, *, clients: pa.Table, numerator_max: int, default_rate_text: str
    ) -> int | None:
        return first_rate_above(self._connect(), clients, numerator_max, default_rate_text)

    def new_executions(self, *, executions: pa.Table, previous_uris: Sequence[str]) -> pa.Table:
        return new_executions(self._connect(), executions, previous_uris, self._data_key)

    def _details(self, con: ibis.BaseBackend, detail_uris: Sequence[str]) -> ir.Table:
        if not detail_uris:
            return _arrow(con, "detail", _empty_detail())
        return ibis.union(*(self._read(con, uri) for uri in detail_uris))

    def sold_shares(self, *, detail_uris: Sequence[str]) -> pa.Table:
        con = self._connect()
        try:
            d = self._details(con, detail_uris)
            sells = d.filter(d.side == "S").mutate(asset=d.market.concat(".", d.security))
            return (
                sells.group_by(["fund_account", "asset"])
                .aggregate(sold=sells.quantity.sum())
                .order_by(["fund_account", "asset"])
                .to_pyarrow()
            )
        finally:
            _release(con)

    def sale_proceeds(self, *, detail_uris: Sequence[str]) -> pa.Table:
        con = self._connect()
        try:
            d = self._details(con, detail_uris)
            sells = d.filter(d.side == "S")
            return (
                sells.group_by("fund_account")
                .aggregate(proceeds_fen=sells.cash_fen.sum())
                .order_by("fund_account")
                .to_pyarrow()
            )
        finally:
            _release(con)

    def settlement_summary(self, *, detail_uris: Sequence[str]) -> pa.Table:
        """Net due to CSDC per market = Σ buys − Σ sells + Σ non-commission fees."""
        key = tuple(detail_uris)
        cached = self._summary_cache.get(key)
        if cached is None:
            cached = self._settlement_summary(detail_uris)
            if len(self._summary_cache) >= clients_cached_max:
                self._summary_cache.pop(next(iter(self._summary_cache)))
            self._summary_cache[key] = cached
        return cached

    def _settlement_summary(self, detail_uris: Sequence[str]) -> pa.Table:
        con = self._connect()
        try:
            d = self._details(con, detail_uris)
            buy = d.side == "B"
            fees = d.stamp_duty_fen + d.transfer_fee_fen + d.handling_fee_fen + d.regulatory_fee_fen
            summary = d.group_by("market").aggregate(
                executions=d.count(),
                buy_fen=buy.ifelse(d.amount_fen, 0).sum(),
                sell_fen=buy.ifelse(0, d.amount_fen).sum(),
                fees_fen=fees.sum(),
            )
            return (
                summary.mutate(net_due_fen=summary.buy_fen - summary.sell_fen + summary.fees_fen)
                .order_by("market")
                .to_pyarrow()
            )
        finally:
            _release(con)

    def write_csv(self, table: pa.Table, path: Path) -> tuple[str, int]:
        return _write_csv(table, path)

    def format_money_table(self, table: pa.Table, money_columns: Sequence[str]) -> pa.Table:
        """The same table with integer-fen columns printed as `-?d+.dd` text."""
        con = self._connect()
        try:
            t = _arrow(con, "t", table)
            return t.mutate(**{c: fen_text(t[c]) for c in money_columns}).to_pyarrow()
        finally:
            _release(con)


@dataclass(frozen=True)
class _ClientKeys:
    """Each execution's client as its position among the clients in fund_account order: an
    integer groups and sorts like the fund_account text, at a fraction of the cost."""

    keys: pa.Array  # int64, one per execution
    fund_accounts: pa.Array  # the clients' fund_accounts in order: key k is fund_accounts[k]

    @classmethod
    def of(cls, fund_accounts: pa.ChunkedArray, index: pa.Array) -> _ClientKeys:
        """`index` points each execution at its client's row of `fund_accounts` (one row per
        client; the client list comes sorted, else it is ranked here)."""
        accounts = fund_accounts.combine_chunks()
        index = index.cast(pa.int64())
        if len(accounts) > 1 and not pc.all(pc.less(accounts[:-1], accounts[1:])).as_py():
            order = pc.sort_indices(accounts)
            rank = np.empty(len(accounts), np.int64)
            rank[order.to_numpy()] = np.arange(len(accounts), dtype=np.int64)
            return cls(pa.array(rank).take(index), accounts.take(order))
        return cls(index, accounts)


def _sorted_codes(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(code per value, distinct values in order): code k stands for the k-th smallest."""
    encoded = values.combine_chunks().dictionary_encode()
    order = pc.sort_indices(encoded.dictionary)
    rank = np.empty(len(order), np.int64)
    rank[order.to_numpy()] = np.arange(len(order), dtype=np.int64)
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    return codes, encoded.dictionary.take(order)


def _client_sums(detail: pa.Table, clients: _ClientKeys) -> tuple[pa.Table, pa.Table]:
    """(client cash, holdings): per client its cash change and sale proceeds, and per client
    and asset its signed shares where not zero, each ordered by its keys (the books keep
    postings sorted by (account, asset), and sorting runs already in order costs a quarter of
    sorting them shuffled).

    One sort of integers stands for both groupings: the client's position in fund_account
    order times the number of assets plus the asset's position among the day's assets orders
    the executions as (fund_account, asset) would, and each run of equal numbers is a group.
    The same sums in the same order as grouping the text, for a fraction of the cost."""
    asset_codes, assets = _sorted_codes(detail.column("asset"))
    width = max(len(assets), 1)
    holding = clients.keys.to_numpy(zero_copy_only=False) * width + asset_codes
    order = np.argsort(holding)
    holding = holding[order]
    client = holding // width
    quantity = _int64(detail, "signed_quantity")[order]
    cash = _int64(detail, "cash_fen")[order]
    sold = pc.equal(detail.column("side"), Side.SELL.value).to_numpy()[order]
    per_holding, per_client = _run_starts(holding), _run_starts(client)
    quantities = _run_sums(quantity, per_holding)
    held = quantities != 0
    first_of_holding = holding[per_holding][held]
    client_cash = pa.table(
        {
            "fund_account": clients.fund_accounts.take(pa.array(client[per_client])),
            "cash_fen": pa.array(_run_sums(cash, per_client), pa.int64()),
            "sell_proceeds_fen": pa.array(
                _run_sums(np.where(sold, cash, 0), per_client), pa.int64()
            ),
        }
    )
    holdings = pa.table(
        {
            "fund_account": clients.fund_accounts.take(pa.array(first_of_holding // width)),
            "asset": assets.take(pa.array(first_of_holding % width)),
            "quantity": pa.array(quantities[held], pa.int64()),
        }
    )
    return client_cash, holdings


def _int64(table: pa.Table, name: str) -> np.ndarray:
    """An int64 column of the detail (never null: every value is computed) as numpy."""
    values: np.ndarray = np.asarray(table.column(name).to_numpy(), np.int64)
    return values


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in an ordered array."""
    if not len(ordered):
        return np.zeros(0, np.intp)
    return np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))


def _run_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The exact sum of each run (runs start at `starts`) as int64; `OverflowError` if one
    does not fit, as the engine's sums raise. numpy's int64 sums wrap around silently, so
    they are used only where no sum can overflow (largest magnitude × count within int64:
    any real day); otherwise the runs are summed in Python integers and checked."""
    if not len(starts):
        return values[:0]
    if max(-int(values.min()), int(values.max())) * len(values) <= _INT64_MAX:
        return np.add.reduceat(values, starts)
    sums = np.add.reduceat(values.astype(object), starts)
    if any(not -_INT64_MAX - 1 <= int(total) <= _INT64_MAX for total in sums):
        raise OverflowError("a client's sum of the day does not fit in 64-bit integers")
    return sums.astype(np.int64)


_INT64_MAX = int(np.iinfo(np.int64).max)


def _batches(con: Any, expr: ir.Table) -> pa.RecordBatchReader:
    """The rows of an expression as a stream of Arrow batches, straight from DuckDB."""
    return con.con.sql(str(con.compile(expr))).to_arrow_reader(batch_size=statement_batch_rows)


def _summed(table: pa.Table, keys: list[str], columns: list[str]) -> pa.Table:
    """A small table summed per key, ordered by the key (so postings come in a fixed order)."""
    summed = table.group_by(keys).aggregate([(c, "sum") for c in columns])
    summed = summed.rename_columns([*(c.removesuffix("_sum") for c in summed.column_names)])
    return summed.select([*keys, *columns]).sort_by([(k, "ascending") for k in keys])


def _arrow(con: Any, name: str, table: pa.Table) -> ir.Table:
    """An Arrow table as an engine table, scanned in place (no copy)."""
    con.con.register(name, table)
    _registered.setdefault(id(con), set()).add(name)
    return con.table(name)


_registered: dict[int, set[str]] = {}


def _release(con: Any) -> None:
    """Forget the Arrow tables a call registered, so their memory can go."""
    for name in _registered.pop(id(con), set()):
        con.con.unregister(name)


def _write_csv(table: pa.Table, path: Path) -> tuple[str, int]:
    """Write whole or not at all (a temporary file renamed), and return (sha256, rows)."""
    return _write_csv_stream(
        pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), path
    )


def _spreadsheet_texts(batches: pa.RecordBatchReader, names: Sequence[str]) -> pa.RecordBatchReader:
    """`domain.shared.spreadsheet_text` on the named text columns of each batch."""
    return pa.RecordBatchReader.from_batches(
        batches.schema,
        (
            pa.record_batch(
                [
                    _spreadsheet_column(c) if n in names else c
                    for n, c in zip(b.schema.names, b.columns, strict=True)
                ],
                schema=batches.schema,
            )
            for b in batches
        ),
    )


def _spreadsheet_column(values: pa.Array) -> pa.Array:
    """A leading formula character quoted. Such values are rare: the first bytes of all values
    (each prefix is one ASCII byte) show whether any is there before a regex looks for it."""
    read = string_bytes(values)
    if read is not None:
        offsets, data = read
        starts = offsets[:-1][offsets[1:] > offsets[:-1]]
        if not np.isin(data[starts], _FORMULA_PREFIX_BYTES).any():
            return values
    risky = pc.match_substring_regex(values, FORMULA_PREFIX_PATTERN)
    return pc.if_else(risky, pc.binary_join_element_wise(FORMULA_ESCAPE, values, ""), values)


_FORMULA_PREFIX_BYTES = np.frombuffer("".join(FORMULA_PREFIXES).encode("ascii"), np.uint8)


def _write_csv_stream(
    batches: pa.RecordBatchReader, path: Path, *, hashed: bool = True
) -> tuple[str, int]:
    """Stream record batches to CSV, hashing the bytes as they are written (unless not
    `hashed`: the digest is then empty); whole or not at all (a temporary file renamed). Same
    bytes as `pyarrow.csv.write_csv` of the whole table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    if not hashed:  # Arrow opens and writes the file itself, with no call back into Python
        rows = _write_batches(batches, str(temporary))
        temporary.replace(path)
        return "", rows
    with temporary.open("wb") as raw:
        sink = _HashingFile(raw)
        rows = _write_batches(batches, sink)
    temporary.replace(path)
    return sink.digest.hexdigest(), rows


def _write_batches(batches: pa.RecordBatchReader, sink: Any) -> int:
    rows = 0
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(sink, batches.schema, write_options=options) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


class _HashingFile:
    """A binary file that hashes what passes through it (no second read of a large CSV)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.closed = False

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return int(self._raw.write(data))

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        self.closed = True


def _empty_clients() -> pa.Table:
    names = ["fund_account", "client_id", "account_kind", "bank_id", "commission_rate", "status"]
    return pa.table({name: pa.array([], pa.string()) for name in names})


def _empty_detail() -> pa.Table:
    strings = ["fund_account", "exec_id", "market", "security", "side"]
    ints = ["quantity", "price_milli", "amount_fen", *FEE_COLUMNS, "cash_fen"]
    return pa.table(
        {
            **{n: pa.array([], pa.string()) for n in strings},
            **{n: pa.array([], pa.int64()) for n in ints},
        }
    )


class OpeningPlanner:
    """Opening balances as postings, checked against the clients and special accounts."""

    def __init__(self, engine: IbisBackOfficeEngine) -> None:
        self._engine = engine

    def plan(
        self, *, opening: pa.Table, clients: pa.Table, special_accounts: pa.Table
    ) -> tuple[pa.Table, int | None, int]:
        """(postings, first line naming an unknown account, client cash − funds held)."""
        con = self._engine._connect()
        try:
            o = _arrow(con, "opening", opening)
            known = ibis.union(
                _arrow(con, "c", clients.select(["fund_account"])).select(
                    account="fund_account", cls=ibis.literal("client")
                ),
                _arrow(con, "s", special_accounts.select(["account_no"])).select(
                    account="account_no", cls=ibis.literal("special")
                ),
                ibis.memtable(
                    {"account": ["RESERVE.SH", "RESERVE.SZ", "RESERVE.BJ"], "cls": ["reserve"] * 3}
                ),
            )
            joined = o.left_join(known, "account")
            cash = joined.asset == CASH
            # Only clients hold securities; special accounts and reserves hold cash.
            bad = joined.filter(joined.cls.isnull() | (~cash & (joined.cls != "client")))
            bad_line = bad.line.min().to_pyarrow().as_py()
            client_cash = (cash & (joined.cls == "client")).ifelse(joined.quantity, 0).sum()
            held = (cash & (joined.cls != "client")).ifelse(joined.quantity, 0).sum()
            difference = (client_cash - held).to_pyarrow().as_py() or 0
            account = joined.cls.cases(
                ("client", ibis.literal("client:").concat(joined.account)),
                ("special", ibis.literal("special:").concat(joined.account)),
                else_=ibis.literal("reserve:").concat(joined.account.substr(8)),
            )
            signed = (joined.cls == "client").ifelse(-joined.quantity, joined.quantity)
            own = joined.select(account=account, asset=joined.asset, quantity=signed)
            securities = joined.filter(~cash)
            custody = (
                securities.group_by("asset")
                .aggregate(quantity=securities.quantity.sum())
                .select(
                    account=ibis.literal("custody:").concat(securities.asset.split(".")[0]),
                    asset="asset",
                    quantity="quantity",
                )
            )
            postings = ibis.union(own, custody).filter(lambda t: t.quantity != 0)
            table = postings.order_by(["account", "asset"]).to_pyarrow()
            return table, None if bad_line is None else int(bad_line), int(difference)
        finally:
            _release(con)


def first_rate_above(
    con: Any, clients: pa.Table, numerator_max: int, default_rate_text: str
) -> int | None:
    """The first clients.csv line whose commission rate exceeds the ceiling (over 10^8)."""
    try:
        c = _arrow(con, "c", clients.select(["commission_rate", "line"]))
        numerator = commission_numerator(c.commission_rate, default_rate_text)
        value = c.filter(numerator > numerator_max).line.min().to_pyarrow().as_py()
        return None if value is None else int(value)
    finally:
        _release(con)


def read_parquet(con: Any, uri: str, key: DataKey | None) -> ir.Table:
    """One stored object as a table; an encrypted one with the key registered on `con`."""
    if key is None:
        return con.read_parquet(uri)
    return read_encrypted_parquet(con, [uri], key)


def new_executions(
    con: Any, executions: pa.Table, previous_uris: Sequence[str], key: DataKey | None = None
) -> pa.Table:
    """The executions whose key (market, exec_id) no earlier applied file of the day holds."""
    if not previous_uris:
        return executions
    try:
        ex = _arrow(con, "executions", executions)
        earlier = ibis.union(
            *(read_parquet(con, uri, key).select("market", "exec_id") for uri in previous_uris)
        )
        return ex.anti_join(earlier, ["market", "exec_id"]).order_by("line").to_pyarrow()
    finally:
        _release(con)
