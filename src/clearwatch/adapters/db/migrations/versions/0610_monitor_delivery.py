"""Warning approvals, the delivery outbox and its events, and the recipients' inboxes.

Revision ID: 0610_monitor_delivery
Revises: 0600_monitor_cases
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0610_monitor_delivery"
down_revision = "0600_monitor_cases"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLES = (
    "monitor_warning_decisions",
    "monitor_deliveries",
    "monitor_delivery_events",
    "monitor_inbox",
)


def upgrade() -> None:
    _create_decisions_and_outbox()
    _create_events_and_inbox()
    for table in _TABLES:
        refuse_update_and_delete(table)


def _create_decisions_and_outbox() -> None:
    op.create_table(
        "monitor_warning_decisions",
        sa.Column("decision_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("warning_key", sa.String(64), nullable=False),
        sa.Column("warning_id", sa.BigInteger, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(128), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_monitor_warning_decisions")),
        sa.UniqueConstraint("warning_key", name=op.f("uq_monitor_warning_decisions_warning_key")),
    )
    op.create_table(
        "monitor_deliveries",
        sa.Column("delivery_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_key", sa.String(160), nullable=False),
        sa.Column("warning_key", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("notice", sa.String(16), nullable=False),
        sa.Column("payload_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_monitor_deliveries")),
        sa.UniqueConstraint(
            "warning_key",
            "recipient",
            "channel",
            name=op.f("uq_monitor_deliveries_warning_key_recipient_channel"),
        ),
    )


def _create_events_and_inbox() -> None:
    op.create_table(
        "monitor_delivery_events",
        sa.Column("event_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(128), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True)),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_monitor_delivery_events")),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["monitor_deliveries.delivery_id"],
            name=op.f("fk_monitor_delivery_events_delivery_id_monitor_deliveries"),
        ),
        sa.UniqueConstraint(
            "delivery_id", "seq", name=op.f("uq_monitor_delivery_events_delivery_id_seq")
        ),
    )
    op.create_table(
        "monitor_inbox",
        sa.Column("message_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("delivery_key", sa.String(160), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("notice", sa.String(16), nullable=False),
        sa.Column("special_report", sa.Boolean, nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_monitor_inbox")),
        sa.UniqueConstraint(
            "recipient", "delivery_key", name=op.f("uq_monitor_inbox_recipient_delivery_key")
        ),
    )
    op.create_index(op.f("ix_monitor_inbox_recipient"), "monitor_inbox", ["recipient"])


def downgrade() -> None:
    for table in reversed(_TABLES):
        allow_update_and_delete(table)
    op.drop_index(op.f("ix_monitor_inbox_recipient"), table_name="monitor_inbox")
    op.drop_table("monitor_inbox")
    op.drop_table("monitor_delivery_events")
    op.drop_table("monitor_deliveries")
    op.drop_table("monitor_warning_decisions")
