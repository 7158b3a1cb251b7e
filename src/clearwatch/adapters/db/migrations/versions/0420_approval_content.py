"""An approval request carries the sha256 of exactly what it approves, never changed.

Revision ID: 0420_approval_content
Revises: 0410_access_organisations
"""

import sqlalchemy as sa
from alembic import op

revision = "0420_approval_content"
down_revision = "0410_access_organisations"
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION clearwatch_refuse_content_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256
       OR NEW.payload_json IS DISTINCT FROM OLD.payload_json
       OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.subject_ref IS DISTINCT FROM OLD.subject_ref THEN
        RAISE EXCEPTION 'access_approval_requests: what a request approves is not changed';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    # A plain added column (no table rebuild): the existing triggers stay. Older requests
    # have no content hash, so they approve nothing that must match content.
    op.add_column("access_approval_requests", sa.Column("content_sha256", sa.String(64)))
    # Only a pending request's decision may change (0400); what it approves never does, or a
    # hand edit could re-point an approval of -1.00 at -4,000,000.00 before it is decided.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER access_approval_requests_refuse_content_change "
            "BEFORE UPDATE OF content_sha256, payload_json, kind, subject_ref "
            "ON access_approval_requests "
            "BEGIN SELECT RAISE(ABORT, 'access_approval_requests: what a request approves "
            "is not changed'); END"
        )
    else:
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER access_approval_requests_refuse_content_change "
            "BEFORE UPDATE ON access_approval_requests "
            "FOR EACH ROW EXECUTE FUNCTION clearwatch_refuse_content_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS access_approval_requests_refuse_content_change")
    else:
        op.execute(
            "DROP TRIGGER IF EXISTS access_approval_requests_refuse_content_change "
            "ON access_approval_requests"
        )
        op.execute("DROP FUNCTION IF EXISTS clearwatch_refuse_content_change()")
    # SQLite 3.35+ drops a column in place, keeping the table's other triggers.
    op.drop_column("access_approval_requests", "content_sha256")
