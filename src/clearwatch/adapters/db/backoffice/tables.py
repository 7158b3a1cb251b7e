"""Relational tables of the back-office books: batches, journal, applied records, EOD steps.

Every table is append-only (the migration installs triggers refusing UPDATE and DELETE):
a batch's status is a sequence of events, and corrections are reversing entries.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from clearwatch.adapters.db.metadata import metadata

bo_batches = Table(
    "bo_batches",
    metadata,
    Column("batch_pk", Integer, primary_key=True, autoincrement=True),
    Column("broker_id", String(64), nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("corrects_batch_id", String(64)),
    Column("approval_ref", String(128)),
    Column("manifest_json", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
    UniqueConstraint("broker_id", "batch_id"),
    Index("ix_bo_batches_kind_date", "broker_id", "kind", "business_date"),
    # One batch per kind and date (spec §2), held by the database whoever imports at once:
    # one first batch, and each batch corrected at most once (corrections form a chain).
    Index(
        "uq_bo_batches_first_of_kind_and_date",
        "broker_id",
        "kind",
        "business_date",
        unique=True,
        sqlite_where=text("corrects_batch_id IS NULL"),
        postgresql_where=text("corrects_batch_id IS NULL"),
    ),
    Index(
        "uq_bo_batches_correction_of",
        "broker_id",
        "kind",
        "business_date",
        "corrects_batch_id",
        unique=True,
    ),
)

bo_batch_status = Table(
    "bo_batch_status",
    metadata,
    Column("event_pk", Integer, primary_key=True, autoincrement=True),
    Column("batch_pk", Integer, ForeignKey("bo_batches.batch_pk"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("detail_json", Text, nullable=False),
)

bo_batch_files = Table(
    "bo_batch_files",
    metadata,
    Column("file_pk", Integer, primary_key=True, autoincrement=True),
    Column("batch_pk", Integer, ForeignKey("bo_batches.batch_pk"), nullable=False),
    Column("broker_id", String(64), nullable=False),
    Column("role", String(128), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("parquet_digest", String(64)),
    # Set when the same role and content was already imported: kept as a record, not applied.
    Column("duplicate_of_file_pk", Integer),
    Column("applied", Boolean, nullable=False),
    Index("ix_bo_batch_files_role_sha", "broker_id", "role", "sha256"),
)

bo_entries = Table(
    "bo_entries",
    metadata,
    Column("entry_pk", Integer, primary_key=True, autoincrement=True),
    Column("broker_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("batch_ref", String(140)),
    Column("file_sha256", String(64)),
    Column("source_line", BigInteger),
    Column("source_user", String(128)),
    Column("detail_digest", String(64)),
    Column("record_first", String(128)),
    Column("record_last", String(128)),
    Column("reverses_key", String(255)),
    Column("memo", Text, nullable=False),
    Column("recorded_at", String(40), nullable=False),
    # A bulk entry's postings are one Parquet object in the columnar store, not rows of
    # bo_postings: its sha256 and row count (NULL for an entry with relational postings).
    Column("postings_digest", String(64)),
    Column("postings_rows", BigInteger),
    Index("ix_bo_entries_broker_date", "broker_id", "business_date"),
)

bo_postings = Table(
    "bo_postings",
    metadata,
    Column("entry_pk", Integer, ForeignKey("bo_entries.entry_pk"), nullable=False),
    # The entry's broker and date, repeated so balances as of a date read one table.
    Column("broker_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("account", String(160), nullable=False),
    Column("asset", String(40), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Index("ix_bo_postings_entry", "entry_pk", "asset", "quantity"),
    # Covering: balances as of a date are read from the index alone.
    Index("ix_bo_postings_account", "broker_id", "account", "asset", "business_date", "quantity"),
)

bo_applied_records = Table(
    "bo_applied_records",
    metadata,
    Column("broker_id", String(64), nullable=False),
    Column("role", String(128), nullable=False),
    Column("record_key", String(255), nullable=False),
    Column("entry_pk", Integer, ForeignKey("bo_entries.entry_pk"), nullable=False),
    UniqueConstraint("broker_id", "role", "record_key"),
)

bo_eod_steps = Table(
    "bo_eod_steps",
    metadata,
    Column("event_pk", Integer, primary_key=True, autoincrement=True),
    Column("broker_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("step", String(64), nullable=False),
    Column("event", String(16), nullable=False),
    Column("at", String(40), nullable=False),
    Column("detail_json", Text, nullable=False),
    Index("ix_bo_eod_steps_day", "broker_id", "business_date"),
)

# What an approved request changed on an account (spec §2): a status, or an amount freeze
# and its lifting. The request is the authority; this is the back office's record of it.
bo_account_events = Table(
    "bo_account_events",
    metadata,
    Column("event_pk", Integer, primary_key=True, autoincrement=True),
    Column("broker_id", String(64), nullable=False),
    Column("fund_account", String(64), nullable=False),
    Column("event", String(16), nullable=False),
    Column("status", String(16)),
    Column("freeze_id", String(128)),
    Column("amount_fen", BigInteger, nullable=False),
    Column("approval_ref", String(128), nullable=False, unique=True),
    Column("recorded_at", String(40), nullable=False),
    Index("ix_bo_account_events_account", "broker_id", "fund_account"),
)

# A difference reconciliation or a status rule found (spec §6): one row per (day, check,
# subject), with its evidence; what happens to it since is a sequence of events.
bo_breaks = Table(
    "bo_breaks",
    metadata,
    Column("break_pk", Integer, primary_key=True, autoincrement=True),
    Column("broker_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("check_name", String(64), nullable=False),
    Column("subject", String(160), nullable=False),
    Column("books_fen", BigInteger, nullable=False),
    Column("counterpart_fen", BigInteger, nullable=False),
    Column("evidence_json", Text, nullable=False),
    Column("raised_at", String(40), nullable=False),
    UniqueConstraint("broker_id", "business_date", "check_name", "subject"),
)

bo_break_events = Table(
    "bo_break_events",
    metadata,
    Column("event_pk", Integer, primary_key=True, autoincrement=True),
    Column("break_pk", Integer, ForeignKey("bo_breaks.break_pk"), nullable=False),
    Column("event", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_bo_break_events_break", "break_pk"),
)
