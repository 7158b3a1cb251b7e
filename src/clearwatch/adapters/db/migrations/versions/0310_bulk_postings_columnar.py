"""Bulk entries keep their postings in the columnar store: the entry names the object.

Revision ID: 0310_bulk_postings_columnar
Revises: 0300_books
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0310_bulk_postings_columnar"
down_revision = "0300_books"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns added in place: no row is rewritten, so the append-only triggers
    # on bo_entries stay as they are.
    op.add_column("bo_entries", sa.Column("postings_digest", sa.String(64)))
    op.add_column("bo_entries", sa.Column("postings_rows", sa.BigInteger))


def downgrade() -> None:
    # SQLite drops a column by copying the table, which loses its triggers: set them again.
    allow_update_and_delete("bo_entries")
    with op.batch_alter_table("bo_entries") as batch:
        batch.drop_column("postings_rows")
        batch.drop_column("postings_digest")
    refuse_update_and_delete("bo_entries")
