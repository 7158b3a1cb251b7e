"""Relational tables of verification cases, warning approvals, the delivery outbox and inboxes.

Every table is append-only (database triggers, `append_only.py`): a case's status, a warning's
approval and a delivery's progress are the last of their events, never an edited row.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from clearwatch.adapters.db.metadata import metadata

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Id = BigInteger().with_variant(Integer(), "sqlite")

cases = Table(
    "monitor_cases",
    metadata,
    Column("case_id", Id, primary_key=True, autoincrement=True),
    Column("institution_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False, index=True),
    Column("finding_code", String(8), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("region", String(16)),
    Column("bureaus", String(200), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_by", String(128), nullable=False),
    Column("opened_in_version", Integer, nullable=False),
    Column("deadline_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("institution_id", "business_date", "finding_code"),
)

case_events = Table(
    "monitor_case_events",
    metadata,
    Column("event_id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("monitor_cases.case_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("move", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("criterion", String(4)),
    UniqueConstraint("case_id", "seq"),
)

case_explanations = Table(
    "monitor_case_explanations",
    metadata,
    Column("explanation_id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("monitor_cases.case_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("category", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("responsible_party", String(200), nullable=False),
    Column("attachments_json", Text, nullable=False),
    UniqueConstraint("case_id", "seq"),
)

warning_decisions = Table(
    "monitor_warning_decisions",
    metadata,
    Column("decision_id", Id, primary_key=True, autoincrement=True),
    Column("warning_key", String(64), nullable=False, unique=True),
    Column("warning_id", BigInteger, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("institution_id", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("proposed_by", String(128), nullable=False),
    Column("decided_by", String(128), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
)

deliveries = Table(
    "monitor_deliveries",
    metadata,
    Column("delivery_id", Id, primary_key=True, autoincrement=True),
    Column("delivery_key", String(160), nullable=False),
    Column("warning_key", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("notice", String(16), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("warning_key", "recipient", "channel"),
)

delivery_events = Table(
    "monitor_delivery_events",
    metadata,
    Column("event_id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", ForeignKey("monitor_deliveries.delivery_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("worker", String(128), nullable=False),
    Column("error", Text, nullable=False),
    Column("retry_at", DateTime(timezone=True)),
    Column("detail_json", Text, nullable=False),
    UniqueConstraint("delivery_id", "seq"),
)

inbox = Table(
    "monitor_inbox",
    metadata,
    Column("message_id", Id, primary_key=True, autoincrement=True),
    Column("recipient", String(64), nullable=False, index=True),
    Column("delivery_key", String(160), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("institution_id", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("notice", String(16), nullable=False),
    Column("special_report", Boolean, nullable=False),
    Column("body_json", Text, nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("recipient", "delivery_key"),
)

# A verbal reminder marked done by its bureau (issue 14): once, never edited.
reminder_marks = Table(
    "monitor_reminder_marks",
    metadata,
    Column("mark_id", Id, primary_key=True, autoincrement=True),
    Column(
        "reminder_id",
        Id,
        ForeignKey("monitor_verbal_reminders.reminder_id"),
        nullable=False,
        unique=True,
    ),
    Column("bureau", String(64), nullable=False),
    Column("done_by", String(128), nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False),
)
