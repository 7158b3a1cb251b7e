"""Reference data and balances the back-office rules read: clients, special accounts, cash,
sellable shares. Small joins over Arrow tables; the row work stays in the engine."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.journal import EntryKind
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork

_CLIENT_PREFIX = "client:"


def current_clients(uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str) -> pa.Table:
    files = uow.batches.applied_files(broker_id, "clients.csv")
    return tools.engine.current_clients(tables=[f.parquet_digest for f in files], store=tools.store)


def current_special_accounts(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str
) -> pa.Table:
    """Every special account any applied file named, the latest line winning."""
    files = uow.batches.applied_files(broker_id, "special_accounts.csv")
    latest: dict[str, tuple[str, str]] = {}
    for applied in files:
        table = tools.store.read_table(applied.parquet_digest)
        for no, bank, purpose in zip(
            table.column("account_no").to_pylist(),
            table.column("bank_id").to_pylist(),
            table.column("purpose").to_pylist(),
            strict=True,
        ):
            latest[no] = (bank, purpose)
    numbers = sorted(latest)
    return pa.table(
        {
            "account_no": pa.array(numbers, pa.string()),
            "bank_id": pa.array([latest[n][0] for n in numbers], pa.string()),
            "purpose": pa.array([latest[n][1] for n in numbers], pa.string()),
        }
    )


def _strip(table: pa.Table, prefix: str) -> pa.Array:
    return pc.utf8_slice_codeunits(table.column("account"), len(prefix))


def trade_details(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date
) -> list[str]:
    """Where the executions behind the day's trade entries are kept (engine URIs)."""
    digests = uow.books.detail_digests(
        broker_id=broker_id, kind=EntryKind.TRADE_SETTLEMENT.value, business_date=day
    )
    return [tools.store.uri(d) for d in digests]


def client_cash_balances(
    uow: BackOfficeUnitOfWork,
    broker_id: str,
    day: date,
    *,
    withdrawable: bool = False,
    tools: BackOfficeTools | None = None,
) -> pa.Table:
    """(fund_account, balance) in fen as of `day`; with `withdrawable`, less the day's sale
    proceeds, which may buy on D but leave only from D+1."""
    raw = uow.books.balances(
        broker_id=broker_id, as_of=day, account_prefix=_CLIENT_PREFIX, asset=acc.CASH
    )
    table = pa.table(
        {
            "fund_account": _strip(raw, _CLIENT_PREFIX),
            "balance": pc.negate(raw.column("quantity")),
        }
    )
    if not withdrawable or tools is None:
        return table
    proceeds = tools.engine.sale_proceeds(detail_uris=trade_details(uow, tools, broker_id, day))
    joined = table.join(proceeds, "fund_account", join_type="left outer")
    held_back = pc.fill_null(joined.column("proceeds_fen"), 0)
    return pa.table(
        {
            "fund_account": joined.column("fund_account"),
            "balance": pc.subtract(joined.column("balance"), held_back),
        }
    )


def sellable_shares(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date
) -> pa.Table:
    """(fund_account, asset, quantity): holdings before the day's trades, less the day's sales
    already posted. Today's buys are not sellable until D+1."""
    raw = uow.books.balances(
        broker_id=broker_id, as_of=day, account_prefix=_CLIENT_PREFIX, exclude_trades_on=day
    )
    raw = raw.filter(pc.not_equal(raw.column("asset"), acc.CASH))
    start = pa.table(
        {
            "fund_account": _strip(raw, _CLIENT_PREFIX),
            "asset": raw.column("asset"),
            "quantity": pc.negate(raw.column("quantity")),
        }
    )
    sold = tools.engine.sold_shares(detail_uris=trade_details(uow, tools, broker_id, day))
    joined = start.join(sold, ["fund_account", "asset"], join_type="left outer")
    return pa.table(
        {
            "fund_account": joined.column("fund_account"),
            "asset": joined.column("asset"),
            "quantity": pc.subtract(
                joined.column("quantity"), pc.fill_null(joined.column("sold"), 0)
            ),
        }
    )


def net_settlement(uow: BackOfficeUnitOfWork, broker_id: str, day: date) -> dict[str, int]:
    """Per market, what the trades cleared by `day` still leave in transit with CSDC and in
    fees payable: what the reserve receives (+) or pays (−) when CSDC settles on D+1, as
    `settle_csdc` will post it. After D's end of day that is D's net settlement."""
    due: dict[str, int] = {}
    for prefix in ("transit:", "payable:"):
        table = uow.books.balances(
            broker_id=broker_id, as_of=day, account_prefix=prefix, asset=acc.CASH
        )
        for account, quantity in zip(
            table.column("account").to_pylist(), table.column("quantity").to_pylist(), strict=True
        ):
            market = str(account).rsplit(":", 1)[-1]
            due[market] = due.get(market, 0) + int(quantity)
    return due
