"""One batch per kind and date, held by unique indexes; each batch corrected at most once.

Revision ID: 0320_one_batch_per_kind_and_date
Revises: 0310_bulk_postings_columnar
"""

import sqlalchemy as sa
from alembic import op

revision = "0320_one_batch_per_kind_and_date"
down_revision = "0310_bulk_postings_columnar"
branch_labels = None
depends_on = None

_FIRST_BATCHES = sa.text("corrects_batch_id IS NULL")


def upgrade() -> None:
    # Indexes only: no row is rewritten, so the append-only triggers of bo_batches stay.
    op.create_index(
        "uq_bo_batches_first_of_kind_and_date",
        "bo_batches",
        ["broker_id", "kind", "business_date"],
        unique=True,
        sqlite_where=_FIRST_BATCHES,
        postgresql_where=_FIRST_BATCHES,
    )
    op.create_index(
        "uq_bo_batches_correction_of",
        "bo_batches",
        ["broker_id", "kind", "business_date", "corrects_batch_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_bo_batches_correction_of", table_name="bo_batches")
    op.drop_index("uq_bo_batches_first_of_kind_and_date", table_name="bo_batches")
