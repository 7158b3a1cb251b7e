"""Relational tables of the audit log."""

from sqlalchemy import BigInteger, Column, String, Table, Text

from clearwatch.adapters.db.metadata import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(128), nullable=False),
    Column("object_ref", String(512), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("prev_hash", String(128), nullable=False, unique=True),
    Column("hash", String(128), nullable=False, unique=True),
)
