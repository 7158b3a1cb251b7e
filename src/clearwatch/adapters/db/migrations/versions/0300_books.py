"""Back-office books: batches, journal entries and postings, applied records, EOD steps.

Revision ID: 0300_books
Revises: 0001_audit_log
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0300_books"
down_revision = "0001_audit_log"
branch_labels = None
depends_on = None

_TABLES = (
    "bo_batches",
    "bo_batch_status",
    "bo_batch_files",
    "bo_entries",
    "bo_postings",
    "bo_applied_records",
    "bo_eod_steps",
)


def upgrade() -> None:
    _create_batches()
    _create_journal()
    _create_applied_records()
    _create_eod_steps()
    for table in _TABLES:
        refuse_update_and_delete(table)


def _create_batches() -> None:
    """Batches received, their status history and their files."""
    op.create_table(
        "bo_batches",
        sa.Column("batch_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("corrects_batch_id", sa.String(64)),
        sa.Column("approval_ref", sa.String(128)),
        sa.Column("manifest_json", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("batch_pk", name=op.f("pk_bo_batches")),
        sa.UniqueConstraint("broker_id", "batch_id", name=op.f("uq_bo_batches_broker_id_batch_id")),
    )
    op.create_index("ix_bo_batches_kind_date", "bo_batches", ["broker_id", "kind", "business_date"])
    op.create_table(
        "bo_batch_status",
        sa.Column("event_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_pk", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("event_pk", name=op.f("pk_bo_batch_status")),
        sa.ForeignKeyConstraint(
            ["batch_pk"],
            ["bo_batches.batch_pk"],
            name=op.f("fk_bo_batch_status_batch_pk_bo_batches"),
        ),
    )
    op.create_table(
        "bo_batch_files",
        sa.Column("file_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_pk", sa.Integer, nullable=False),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(128), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("parquet_digest", sa.String(64)),
        sa.Column("duplicate_of_file_pk", sa.Integer),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("file_pk", name=op.f("pk_bo_batch_files")),
        sa.ForeignKeyConstraint(
            ["batch_pk"],
            ["bo_batches.batch_pk"],
            name=op.f("fk_bo_batch_files_batch_pk_bo_batches"),
        ),
    )
    op.create_index("ix_bo_batch_files_role_sha", "bo_batch_files", ["broker_id", "role", "sha256"])


def _create_eod_steps() -> None:
    """The end-of-day log: one row per step event, so a crashed EOD resumes where it stopped."""
    op.create_table(
        "bo_eod_steps",
        sa.Column("event_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("event_pk", name=op.f("pk_bo_eod_steps")),
    )
    op.create_index("ix_bo_eod_steps_day", "bo_eod_steps", ["broker_id", "business_date"])


def _create_journal() -> None:
    """Journal entries and their postings."""
    op.create_table(
        "bo_entries",
        sa.Column("entry_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("batch_ref", sa.String(140)),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("source_line", sa.BigInteger),
        sa.Column("source_user", sa.String(128)),
        sa.Column("detail_digest", sa.String(64)),
        sa.Column("record_first", sa.String(128)),
        sa.Column("record_last", sa.String(128)),
        sa.Column("reverses_key", sa.String(255)),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("entry_pk", name=op.f("pk_bo_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_bo_entries_idempotency_key")),
    )
    op.create_index("ix_bo_entries_broker_date", "bo_entries", ["broker_id", "business_date"])
    op.create_table(
        "bo_postings",
        sa.Column("entry_pk", sa.Integer, nullable=False),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("account", sa.String(160), nullable=False),
        sa.Column("asset", sa.String(40), nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_pk"],
            ["bo_entries.entry_pk"],
            name=op.f("fk_bo_postings_entry_pk_bo_entries"),
        ),
    )
    op.create_index("ix_bo_postings_entry", "bo_postings", ["entry_pk", "asset", "quantity"])
    op.create_index(
        "ix_bo_postings_account",
        "bo_postings",
        ["broker_id", "account", "asset", "business_date", "quantity"],
    )


def _create_applied_records() -> None:
    """The key of every input record already posted, so a re-import posts nothing twice."""
    op.create_table(
        "bo_applied_records",
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(128), nullable=False),
        sa.Column("record_key", sa.String(255), nullable=False),
        sa.Column("entry_pk", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_pk"],
            ["bo_entries.entry_pk"],
            name=op.f("fk_bo_applied_records_entry_pk_bo_entries"),
        ),
        sa.UniqueConstraint(
            "broker_id",
            "role",
            "record_key",
            name=op.f("uq_bo_applied_records_broker_id_role_record_key"),
        ),
    )


def downgrade() -> None:
    for table in reversed(_TABLES):
        allow_update_and_delete(table)
        op.drop_table(table)
