"""Monitor intake: registry versions, packages and their files, rejections, reporting events.

Revision ID: 0100_monitor_intake
Revises: 0001_audit_log
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0100_monitor_intake"
down_revision = "0001_audit_log"
branch_labels = ("monitor_intake",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLES = (
    "monitor_registry_versions",
    "monitor_registry_institutions",
    "monitor_registry_special_accounts",
    "monitor_registry_holidays",
    "monitor_packages",
    "monitor_package_files",
    "monitor_package_rejections",
    "monitor_reporting_occurrences",
    "monitor_verbal_reminders",
)


def _version_column() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "version",
        sa.Integer,
        sa.ForeignKey("monitor_registry_versions.version"),
        primary_key=True,
    )


def _registry() -> None:
    op.create_table(
        "monitor_registry_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "monitor_registry_institutions",
        _version_column(),
        sa.Column("institution_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
    )
    op.create_table(
        "monitor_registry_special_accounts",
        _version_column(),
        sa.Column("account_no", sa.String(64), primary_key=True),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("branch_region", sa.String(16), nullable=False),
        sa.Column("filed_on", sa.Date, nullable=False),
    )
    op.create_table(
        "monitor_registry_holidays",
        _version_column(),
        sa.Column("holiday", sa.Date, primary_key=True),
    )


def _packages() -> None:
    op.create_table(
        "monitor_packages",
        sa.Column("package_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("encoding", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column(
            "supersedes_package_id",
            _ID,
            sa.ForeignKey("monitor_packages.package_id"),
            nullable=True,
        ),
        sa.Column("registry_version", sa.Integer, nullable=True),
        sa.UniqueConstraint("institution_id", "kind", "business_date", "content_sha256"),
        sa.UniqueConstraint("institution_id", "kind", "business_date", "sequence"),
    )
    op.create_index(
        op.f("ix_monitor_packages_business_date"), "monitor_packages", ["business_date"]
    )
    op.create_table(
        "monitor_package_files",
        sa.Column(
            "package_id", _ID, sa.ForeignKey("monitor_packages.package_id"), primary_key=True
        ),
        sa.Column("file_name", sa.String(255), primary_key=True),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("parquet_sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "monitor_package_rejections",
        sa.Column("rejection_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("institution_id", sa.String(64), nullable=True),
        sa.Column("business_date", sa.Date, nullable=True),
        sa.Column("sequence", sa.Integer, nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=True),
        sa.Column("first_code", sa.String(64), nullable=False),
        sa.Column("errors_json", sa.Text, nullable=False),
        sa.Column("errors_truncated", sa.Boolean, nullable=False),
    )
    op.create_index(
        op.f("ix_monitor_package_rejections_business_date"),
        "monitor_package_rejections",
        ["business_date"],
    )


def _reporting() -> None:
    op.create_table(
        "monitor_reporting_occurrences",
        sa.Column("occurrence_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("package_kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.UniqueConstraint("institution_id", "business_date", "package_kind", "category"),
    )
    op.create_table(
        "monitor_verbal_reminders",
        sa.Column("reminder_id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "occurrence_id",
            _ID,
            sa.ForeignKey("monitor_reporting_occurrences.occurrence_id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )


def upgrade() -> None:
    _registry()
    _packages()
    _reporting()
    for table in _TABLES:
        refuse_update_and_delete(table)


def downgrade() -> None:
    for table in reversed(_TABLES):
        allow_update_and_delete(table)
        op.drop_table(table)
