"""Relational tables of the monitor's intake: registry versions, packages, rejections, reporting."""

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

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a real bigint identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

registry_versions = Table(
    "monitor_registry_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("content_sha256", String(64), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", String(128), nullable=False),
)

registry_institutions = Table(
    "monitor_registry_institutions",
    metadata,
    Column("version", ForeignKey("monitor_registry_versions.version"), primary_key=True),
    Column("institution_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(256), nullable=False),
    Column("region", String(16), nullable=False),
)

registry_special_accounts = Table(
    "monitor_registry_special_accounts",
    metadata,
    Column("version", ForeignKey("monitor_registry_versions.version"), primary_key=True),
    Column("account_no", String(64), primary_key=True),
    Column("bank_id", String(64), nullable=False),
    Column("broker_id", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("branch_region", String(16), nullable=False),
    Column("filed_on", Date, nullable=False),
)

registry_holidays = Table(
    "monitor_registry_holidays",
    metadata,
    Column("version", ForeignKey("monitor_registry_versions.version"), primary_key=True),
    Column("holiday", Date, primary_key=True),
)

packages = Table(
    "monitor_packages",
    metadata,
    Column("package_id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("institution_id", String(64), nullable=False),
    Column("business_date", Date, nullable=False, index=True),
    Column("sequence", Integer, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("encoding", String(16), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("late", Boolean, nullable=False),
    Column("supersedes_package_id", ForeignKey("monitor_packages.package_id"), nullable=True),
    Column("registry_version", Integer, nullable=True),
    # Two submits of the same content, or of one sequence, cannot both commit.
    UniqueConstraint("institution_id", "kind", "business_date", "content_sha256"),
    UniqueConstraint("institution_id", "kind", "business_date", "sequence"),
)

package_files = Table(
    "monitor_package_files",
    metadata,
    Column("package_id", ForeignKey("monitor_packages.package_id"), primary_key=True),
    Column("file_name", String(255), primary_key=True),
    Column("source_sha256", String(64), nullable=False),
    Column("parquet_sha256", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
)

package_rejections = Table(
    "monitor_package_rejections",
    metadata,
    Column("rejection_id", Id, primary_key=True, autoincrement=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=True),
    Column("institution_id", String(64), nullable=True),
    Column("business_date", Date, nullable=True, index=True),
    Column("sequence", Integer, nullable=True),
    Column("content_sha256", String(64), nullable=True),
    Column("first_code", String(64), nullable=False),
    Column("errors_json", Text, nullable=False),
    Column("errors_truncated", Boolean, nullable=False),
)

reporting_occurrences = Table(
    "monitor_reporting_occurrences",
    metadata,
    Column("occurrence_id", Id, primary_key=True, autoincrement=True),
    Column("institution_id", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("package_kind", String(32), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("detail", Text, nullable=False),
    UniqueConstraint("institution_id", "business_date", "package_kind", "category"),
)

verbal_reminders = Table(
    "monitor_verbal_reminders",
    metadata,
    Column("reminder_id", Id, primary_key=True, autoincrement=True),
    Column(
        "occurrence_id",
        ForeignKey("monitor_reporting_occurrences.occurrence_id"),
        nullable=False,
        unique=True,
    ),
    Column("institution_id", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
)

# The signed audit head an accepted package carried (issue 17): the monitor as witness of the
# sender's history. Kept exactly as signed, so anyone can verify it again from these columns.
audit_heads = Table(
    "monitor_audit_heads",
    metadata,
    Column("package_id", ForeignKey("monitor_packages.package_id"), primary_key=True),
    Column("institution_id", String(64), nullable=False, index=True),
    Column("business_date", Date, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("tree_head", String(64), nullable=False),
    Column("chain_head", String(64), nullable=False),
    Column("made_at", String(64), nullable=False),  # the signed text, offset and all
    Column("frontier_json", Text, nullable=False),
    Column("signature", String(128), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# The key an institution's first head was signed with (trust on first use): one per
# institution, never replaced; a head under another key is refused.
witness_keys = Table(
    "monitor_witness_keys",
    metadata,
    Column("institution_id", String(64), primary_key=True),
    Column("public_key", String(64), nullable=False),
    Column("package_id", ForeignKey("monitor_packages.package_id"), nullable=False),
    Column("pinned_at", DateTime(timezone=True), nullable=False),
)
