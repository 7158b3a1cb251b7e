"""Relational tables of intraday fund control: leases, start of day, node journals, halts."""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from clearwatch.adapters.db.metadata import metadata

# The current lease per node: the one mutable row; every write of the node locks it.
intraday_leases = Table(
    "intraday_leases",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("acquired_at", String(40), nullable=False),
)

# Every epoch ever issued (append-only): who took it, how, and on whose approval.
intraday_lease_epochs = Table(
    "intraday_lease_epochs",
    metadata,
    Column("node_id", String(64), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("holder", String(128), nullable=False),
    Column("move", String(16), nullable=False),
    Column("approval_request_id", Integer, nullable=True, unique=True),
    Column("at", String(40), nullable=False),
    PrimaryKeyConstraint("node_id", "epoch"),
)

# The primary key is the rule: one start of day per node and business date, whoever asks.
intraday_start_of_day = Table(
    "intraday_start_of_day",
    metadata,
    Column("node_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("broker_id", String(32), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("holder", String(128), nullable=False),
    Column("clients", Integer, nullable=False),
    Column("cash_allocated_fen", BigInteger, nullable=False),
    Column("started_at", String(40), nullable=False),
    PrimaryKeyConstraint("node_id", "business_date"),
)

intraday_journal = Table(
    "intraday_journal",
    metadata,
    Column("node_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("recorded_at_us", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("fund_account", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("side", String(1), nullable=False),
    Column("security", String(32), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("price_milli", BigInteger, nullable=False),
    Column("cash_delta_fen", BigInteger, nullable=False),
    Column("frozen_cash_delta_fen", BigInteger, nullable=False),
    Column("proceeds_delta_fen", BigInteger, nullable=False),
    Column("shares_delta", BigInteger, nullable=False),
    Column("frozen_shares_delta", BigInteger, nullable=False),
    Column("commission_rate", String(16), nullable=False),
    PrimaryKeyConstraint("node_id", "seq"),
    Index("ix_intraday_journal_date_client", "business_date", "fund_account"),
)

# Each node's claim per client and asset on a date: a projection of the journal kept in the same
# transaction as each append, so conservation is a small indexed sum, not a scan of the journal.
intraday_claims = Table(
    "intraday_claims",
    metadata,
    Column("node_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("broker_id", String(32), nullable=False),
    Column("fund_account", String(64), nullable=False),
    Column("asset", String(32), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    PrimaryKeyConstraint("node_id", "business_date", "fund_account", "asset"),
    Index("ix_intraday_claims_date_client", "business_date", "fund_account"),
)

# The central books' figures as last read by a start of day or takeover, so each order batch can
# compare claims across nodes with them in one SQL statement that returns only breaches.
intraday_central_figures = Table(
    "intraday_central_figures",
    metadata,
    Column("business_date", Date, nullable=False),
    Column("broker_id", String(32), nullable=False),
    Column("fund_account", String(64), nullable=False),
    Column("asset", String(32), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    PrimaryKeyConstraint("business_date", "broker_id", "fund_account", "asset"),
)

# A halt of a client's trading for the day: a conservation breach, or an approved watch halt.
# A lifted client can be halted again (seq); the same cause re-checked never halts twice.
intraday_halts = Table(
    "intraday_halts",
    metadata,
    Column("halt_id", Integer, primary_key=True, autoincrement=True),
    Column("business_date", Date, nullable=False),
    Column("broker_id", String(32), nullable=False),
    Column("fund_account", String(64), nullable=False),
    Column("raised_at", String(40), nullable=False),
    Column("raised_by", String(128), nullable=False),
    Column("evidence_json", Text, nullable=False),
    Column("seq", Integer, nullable=False, server_default="1"),
    Column("cause", String(128), nullable=False, server_default="legacy"),
    UniqueConstraint("business_date", "broker_id", "fund_account", "seq"),
    UniqueConstraint("business_date", "broker_id", "fund_account", "cause"),
)

# An approved override that lifted one halt: one approval lifts one halt, a halt lifts once.
intraday_halt_lifts = Table(
    "intraday_halt_lifts",
    metadata,
    Column("lift_id", Integer, primary_key=True, autoincrement=True),
    Column("halt_id", Integer, ForeignKey("intraday_halts.halt_id"), nullable=False, unique=True),
    Column("approval_request_id", Integer, nullable=False, unique=True),
    Column("lifted_at", String(40), nullable=False),
    Column("lifted_by", String(128), nullable=False),
)
