"""Relational tables of special-account filings (账户报备) and their decisions.

Both are append-only (database triggers, `append_only.py`): a filing is pending until its one
decision row exists; an approval's row names the registry version it made.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from clearwatch.adapters.db.metadata import metadata

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Id = BigInteger().with_variant(Integer(), "sqlite")

filings = Table(
    "monitor_filings",
    metadata,
    Column("filing_id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("account_no", String(64), nullable=False, index=True),
    Column("bank_id", String(64), nullable=False),
    Column("broker_id", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("branch_region", String(16), nullable=False),
    Column("filed_on", Date, nullable=False),
    Column("institution_id", String(64), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("filed_by", String(128), nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
)

filing_decisions = Table(
    "monitor_filing_decisions",
    metadata,
    Column("decision_id", Id, primary_key=True, autoincrement=True),
    # One decision per filing: a second approver racing the first cannot commit.
    Column("filing_id", ForeignKey("monitor_filings.filing_id"), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    # The registry version an approval made (no foreign key, as for packages: the name
    # PostgreSQL would need is past its identifier limit); unique, one filing per version.
    Column("registry_version", Integer, nullable=True, unique=True),
)
