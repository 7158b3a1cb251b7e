"""Relational tables of the monitor's daily runs: result versions and their warnings."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from clearwatch.adapters.db.metadata import metadata

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
RunId = BigInteger().with_variant(Integer(), "sqlite")

monitor_runs = Table(
    "monitor_runs",
    metadata,
    Column("run_id", RunId, primary_key=True, autoincrement=True),
    Column("business_date", Date, nullable=False),
    Column("result_version", Integer, nullable=False),
    Column("input_key", String(64), nullable=False),
    Column("result_sha256", String(64), nullable=False),
    Column("rules_version", String(128), nullable=False),
    Column("registry_version", Integer, nullable=False),
    Column("package_ids_json", Text, nullable=False),
    Column("engine", String(16), nullable=False),
    Column("ran_at", String(40), nullable=False),
    Column("ran_by", String(128), nullable=False),
    Column("document_json", Text, nullable=False),
    UniqueConstraint("business_date", "result_version"),
)

monitor_warnings = Table(
    "monitor_warnings",
    metadata,
    Column("warning_id", RunId, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("monitor_runs.run_id"), nullable=False),
    Column("business_date", Date, nullable=False, index=True),
    Column("result_version", Integer, nullable=False),
    Column("institution_id", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("criteria", String(128), nullable=False),
    Column("route_to", String(16), nullable=False),
    Column("cc", String(64), nullable=False),
    Column("special_report", Boolean, nullable=False),
    Column("problem_amount_fen", BigInteger, nullable=False),
    Column("rules_version", String(128), nullable=False),
    Column("evidence_json", Text, nullable=False),
)
