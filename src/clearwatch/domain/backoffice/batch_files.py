"""The files of back-office batches (`clearwatch.batch/1`): columns, value types, keys, kinds."""

from __future__ import annotations

from dataclasses import dataclass

from clearwatch.domain.shared.file_schema import (
    ACCOUNT_KINDS,
    BANK_DAILY,
    DIRECTIONS,
    MARKETS,
    PURPOSES,
    ColumnSpec,
    FileSpec,
    ValueType,
)

BATCH_FORMAT = "clearwatch.batch/1"
SIDES = ("B", "S")
ADJUSTMENT_REASONS = (
    "cash_dividend",
    "lending_dividend_deduction",
    "interest",
    "fee_refund",
    "manual",
)
CLIENT_STATUSES = ("active", "frozen", "closed")
T, OT, M, PM = ValueType.TEXT, ValueType.OPTIONAL_TEXT, ValueType.MONEY, ValueType.POSITIVE_MONEY


def _c(name: str, value_type: ValueType, choices: tuple[str, ...] = ()) -> ColumnSpec:
    return ColumnSpec(name, value_type, choices)


def _enum(name: str, choices: tuple[str, ...]) -> ColumnSpec:
    return ColumnSpec(name, ValueType.ENUM, choices)


CLIENTS = FileSpec(
    "clients.csv",
    (
        _c("fund_account", T),
        _c("client_id", T),
        _enum("account_kind", ACCOUNT_KINDS),
        _c("bank_id", T),
        # Empty means the configured default rate.
        _c("commission_rate", ValueType.RATE),
        _enum("status", CLIENT_STATUSES),
    ),
    key=("fund_account",),
)
SPECIAL_ACCOUNTS = FileSpec(
    "special_accounts.csv",
    (_c("account_no", T), _c("bank_id", T), _enum("purpose", PURPOSES)),
    key=("account_no",),
)
# `quantity` is yuan with two decimals for CASH and whole shares otherwise; the reader checks it
# against the asset of its own line (TEXT here, typed per line).
OPENING = FileSpec(
    "opening.csv",
    (_c("account", T), _c("asset", T), _c("quantity", T)),
    key=("account", "asset"),
)
EXECUTIONS = FileSpec(
    "executions.csv",
    (
        _c("exec_id", T),
        _enum("market", MARKETS),
        _c("security", T),
        _enum("side", SIDES),
        _c("quantity", ValueType.QUANTITY),
        _c("price", ValueType.PRICE),
        _c("fund_account", T),
        _c("order_id", T),
        _c("executed_at", ValueType.TIMESTAMP),
    ),
    key=("market", "exec_id"),
)
BANK_TRANSFERS = FileSpec(
    "bank_transfers.csv",
    (
        _c("transfer_id", T),
        _c("fund_account", T),
        _enum("direction", DIRECTIONS),
        _c("amount", PM),
        _c("bank_id", T),
        _c("booked_at", ValueType.TIMESTAMP),
    ),
    key=("transfer_id",),
)
CASH_ADJUSTMENTS = FileSpec(
    "cash_adjustments.csv",
    (
        _c("adjustment_id", T),
        _c("fund_account", T),
        _c("amount", M),
        _enum("reason", ADJUSTMENT_REASONS),
    ),
    key=("adjustment_id",),
)


# Statements come from outside the books and are compared with them, never posted (spec §2,
# §6). The bank's are its `bank_daily` files for the broker; CSDC's is its settlement
# statement per market.
CSDC_SETTLEMENT_STATEMENT = FileSpec(
    "settlement.csv",
    (_enum("market", MARKETS), _c("reserve_balance", M), _c("net_settlement", M)),
    key=("market",),
)
BANK_STATEMENT_FILES = (
    "client_depository.csv",
    "special_account_balances.csv",
    "special_account_transactions.csv",
)


def _bank_daily(name: str) -> FileSpec:
    spec = BANK_DAILY.file(name)
    assert spec is not None, name
    return spec


@dataclass(frozen=True)
class BatchKindSpec:
    kind: str
    files: tuple[FileSpec, ...]

    def file(self, name: str) -> FileSpec | None:
        return next((spec for spec in self.files if spec.name == name), None)


BATCH_KINDS: dict[str, BatchKindSpec] = {
    spec.kind: spec
    for spec in (
        BatchKindSpec("static", (CLIENTS, SPECIAL_ACCOUNTS, OPENING)),
        BatchKindSpec("trading", (EXECUTIONS, CASH_ADJUSTMENTS)),
        BatchKindSpec("bank", (BANK_TRANSFERS,)),
        BatchKindSpec("bank_statement", tuple(_bank_daily(n) for n in BANK_STATEMENT_FILES)),
        BatchKindSpec("csdc_statement", (CSDC_SETTLEMENT_STATEMENT,)),
    )
}
# Kinds whose files are stored and compared by reconciliation, never posted to the books.
STATEMENT_KINDS = frozenset({"bank_statement", "csdc_statement"})
# The order files of one batch are applied in: reference data before what refers to it.
FILE_APPLY_ORDER = (
    "special_accounts.csv",
    "clients.csv",
    "opening.csv",
    "executions.csv",
    "cash_adjustments.csv",
    "bank_transfers.csv",
)
