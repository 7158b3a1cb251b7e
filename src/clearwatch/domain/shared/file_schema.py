"""The files each package or batch kind holds: columns, value types, keys.

One description serves the validator (what to accept) and the engine (what the
stored Parquet looks like): money columns are stored as int64 fen, dates as
date32, timestamps as timestamp[us, tz=UTC], quantities as int64, prices as
decimal strings kept exact (int64 in thousandths of a yuan, `price_milli`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from clearwatch.domain.shared.kinds import Market, PackageKind
from clearwatch.domain.shared.regions import REGIONS


class ValueType(StrEnum):
    TEXT = "text"  # non-empty identifier, stored as string
    OPTIONAL_TEXT = "optional_text"  # may be empty
    MONEY = "money"  # -?d+.dd → int64 fen
    POSITIVE_MONEY = "positive_money"  # d+.dd, > 0 → int64 fen
    DATE = "date"  # YYYY-MM-DD → date32
    TIMESTAMP = "timestamp"  # ISO 8601 with offset → timestamp[us, UTC]
    QUANTITY = "quantity"  # positive integer → int64
    SIGNED_QUANTITY = "signed_quantity"  # integer → int64
    PRICE = "price"  # d+(.d{1,3})? → int64 thousandths of a yuan
    RATE = "rate"  # decimal string such as 0.00025, kept as text
    ENUM = "enum"  # one of `choices`, stored as string


INSTITUTION_ID_COLUMNS = ("broker_id", "bank_id")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    value_type: ValueType
    choices: tuple[str, ...] = ()
    # A column a later spec version added: a file without it (the earlier version's) is read
    # as if every row held this value. None: the column must be present.
    default: str | None = None


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def few_valued_columns(self) -> tuple[str, ...]:
        """Columns with a handful of distinct values in any file: codes and the ids of the
        institutions a row refers to (a hundred brokers, a few dozen banks)."""
        return tuple(
            column.name
            for column in self.columns
            if column.value_type is ValueType.ENUM or column.name in INSTITUTION_ID_COLUMNS
        )


# The manifest field holding the sender's signed audit head (issue 17), where its kind allows.
AUDIT_HEAD_FIELD = "audit_head"


@dataclass(frozen=True)
class PackageSpec:
    kind: PackageKind
    institution_kind: str  # the registry kind that may submit it
    files: tuple[FileSpec, ...]
    # The manifest may carry `audit_head`: a back office running this system signs its audit
    # log's head into the package, and the monitor keeps it as a witness. Optional, so
    # packages from systems without such a log (banks, CSDC, the simulator) stay valid.
    carries_audit_head: bool = False

    def file(self, name: str) -> FileSpec | None:
        return next((spec for spec in self.files if spec.name == name), None)


ACCOUNT_KINDS = ("normal", "credit", "option")
PURPOSES = ("client_settlement", "credit_guarantee", "option_margin")
PURPOSE_OF_ACCOUNT_KIND = dict(zip(ACCOUNT_KINDS, PURPOSES, strict=True))
MARKETS: tuple[str, ...] = tuple(market.value for market in Market)
DIRECTIONS = ("in", "out")
COUNTERPARTY_KINDS = ("client_bank", "csdc", "same_broker_special", "broker_own", "other")
FUND_ACTIONS = ("freeze", "deduct", "stop_payment")
INITIATORS = ("court", "procuratorate", "police", "tax", "broker", "bank")

T, OT, M, PM = ValueType.TEXT, ValueType.OPTIONAL_TEXT, ValueType.MONEY, ValueType.POSITIVE_MONEY


def _c(name: str, value_type: ValueType, choices: tuple[str, ...] = ()) -> ColumnSpec:
    return ColumnSpec(name, value_type, choices)


def _enum(name: str, choices: tuple[str, ...]) -> ColumnSpec:
    return ColumnSpec(name, ValueType.ENUM, choices)


# D's net settlement per market, due on D+1 (+ CSDC owes the clients' side): spec v2. A v1
# file without it reads as 0.
NET_SETTLEMENT = ColumnSpec("net_settlement", M, default="0.00")

BROKER_DAILY = PackageSpec(
    kind=PackageKind.BROKER_DAILY,
    institution_kind="broker",
    carries_audit_head=True,
    files=(
        FileSpec(
            "client_funds.csv",
            (
                _c("fund_account", T),
                _c("client_id", T),
                _enum("account_kind", ACCOUNT_KINDS),
                _c("bank_id", T),
                _c("balance", M),
            ),
            key=("fund_account",),
        ),
        FileSpec(
            "special_accounts.csv",
            (
                _c("account_no", T),
                _c("bank_id", T),
                _enum("purpose", PURPOSES),
                _c("book_balance", M),
            ),
            key=("account_no",),
        ),
        FileSpec(
            "settlement_reserve.csv",
            (_enum("market", MARKETS), _c("balance", M), NET_SETTLEMENT),
            key=("market",),
        ),
        FileSpec(
            "fee_income.csv",
            (_enum("account_kind", ACCOUNT_KINDS), _c("amount", M)),
            key=("account_kind",),
        ),
    ),
)

BANK_DAILY = PackageSpec(
    kind=PackageKind.BANK_DAILY,
    institution_kind="bank",
    files=(
        FileSpec(
            "special_account_balances.csv",
            (
                _c("account_no", T),
                _c("broker_id", T),
                _enum("purpose", PURPOSES),
                _enum("branch_region", REGIONS),
                _c("balance", M),
            ),
            key=("account_no",),
        ),
        FileSpec(
            "special_account_transactions.csv",
            (
                _c("txn_id", T),
                _c("account_no", T),
                _c("booked_at", ValueType.TIMESTAMP),
                _enum("direction", DIRECTIONS),
                _c("amount", PM),
                _c("counterparty_account", OT),
                _enum("counterparty_kind", COUNTERPARTY_KINDS),
            ),
            key=("txn_id",),
        ),
        FileSpec(
            "client_depository.csv",
            (_c("broker_id", T), _c("fund_account", T), _c("client_id", T), _c("balance", M)),
            key=("broker_id", "fund_account"),
        ),
        FileSpec(
            "fund_actions.csv",
            (
                _c("action_id", T),
                _c("broker_id", T),
                _c("fund_account", T),
                _enum("action", FUND_ACTIONS),
                _c("amount", PM),
                _enum("initiator", INITIATORS),
                _c("legal_basis", OT),
                _enum("branch_region", REGIONS),
            ),
            key=("action_id",),
        ),
    ),
)

CSDC_DAILY = PackageSpec(
    kind=PackageKind.CSDC_DAILY,
    institution_kind="csdc",
    files=(
        FileSpec(
            "settlement_reserve.csv",
            (_c("broker_id", T), _enum("market", MARKETS), _c("balance", M), NET_SETTLEMENT),
            key=("broker_id", "market"),
        ),
    ),
)

PACKAGE_SPECS: dict[str, PackageSpec] = {
    spec.kind: spec for spec in (BROKER_DAILY, BANK_DAILY, CSDC_DAILY)
}
