"""Relational tables of the watch: one review per alert, with the alert as reviewed."""

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from clearwatch.adapters.db.metadata import metadata

# Append-only. The alert itself lives in the watch's alert log; its copy here (evidence, rules
# hash, model version) is what the reviewer saw, kept with the decision in the same row.
watch_alert_reviews = Table(
    "watch_alert_reviews",
    metadata,
    Column("review_id", Integer, primary_key=True, autoincrement=True),
    Column("alert_key", String(512), nullable=False, unique=True),
    Column("broker_id", String(32), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reviewer", String(64), nullable=False),
    Column("reviewed_at", String(40), nullable=False),
    Column("alert_json", Text, nullable=False),
    Index("ix_watch_alert_reviews_broker_date", "broker_id", "business_date"),
)

# Append-only. A flow halted by an approved request (`account_status`, subject
# `watch-flow-halt:…`); lifting it is a row of its own below, never an edit of this one.
watch_flow_halts = Table(
    "watch_flow_halts",
    metadata,
    Column("halt_id", Integer, primary_key=True, autoincrement=True),
    Column("broker_id", String(32), nullable=False),
    Column("account", String(64), nullable=False),
    Column("counterparty", String(128), nullable=False),
    Column("approval_id", Integer, nullable=False, unique=True),
    Column("alert_key", String(512), nullable=False),
    Column("raised_at", String(40), nullable=False),
    Column("raised_by", String(64), nullable=False),
    Index("ix_watch_flow_halts_broker_account", "broker_id", "account"),
)

# Append-only. One lift per halt, by an approved override (`watch-flow-lift:<halt id>`).
watch_flow_halt_lifts = Table(
    "watch_flow_halt_lifts",
    metadata,
    Column("lift_id", Integer, primary_key=True, autoincrement=True),
    Column("halt_id", Integer, ForeignKey("watch_flow_halts.halt_id"), nullable=False, unique=True),
    Column("approval_id", Integer, nullable=False, unique=True),
    Column("lifted_at", String(40), nullable=False),
    Column("lifted_by", String(64), nullable=False),
)
