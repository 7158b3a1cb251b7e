"""Verbal reminders as tasks of the institution's bureau, with a due date and who marked them done.

Revision ID: 0810_bureau_reminders
Revises: 0800_registry_filings

A reminder (`monitor_verbal_reminders`, written with its occurrence) is the task; its bureau
and due date follow from the registry and the calendar, so only the done-mark is new: one per
reminder, append-only, with who, when and the note.
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0810_bureau_reminders"
down_revision = "0800_registry_filings"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLE = "monitor_reminder_marks"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("mark_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("reminder_id", _ID, nullable=False),
        sa.Column("bureau", sa.String(64), nullable=False),
        sa.Column("done_by", sa.String(128), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("mark_id", name=op.f("pk_monitor_reminder_marks")),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["monitor_verbal_reminders.reminder_id"],
            name=op.f("fk_monitor_reminder_marks_reminder_id_monitor_verbal_reminders"),
        ),
        sa.UniqueConstraint("reminder_id", name=op.f("uq_monitor_reminder_marks_reminder_id")),
    )
    refuse_update_and_delete(_TABLE)


def downgrade() -> None:
    allow_update_and_delete(_TABLE)
    op.drop_table(_TABLE)
