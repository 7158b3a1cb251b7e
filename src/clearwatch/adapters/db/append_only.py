"""Database triggers that refuse UPDATE and DELETE on append-only tables: set, checked, restored.

The migrations set them (`refuse_update_and_delete`); `SqlAppendOnlyGuard` finds the ones a
console user dropped or disabled since, for `audit verify`, and sets them again for
`clearwatch init`, with the very statements the migrations use.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, inspect, text

from clearwatch.adapters.db.engine import READ_ONLY_OPTION

# Every table a migration makes append-only. A new one is added here too: an integration
# test compares this list with the triggers a fresh store has.
APPEND_ONLY_TABLES = (
    "audit_log",
    "monitor_registry_versions",
    "monitor_registry_institutions",
    "monitor_registry_special_accounts",
    "monitor_registry_holidays",
    "monitor_packages",
    "monitor_package_files",
    "monitor_package_rejections",
    "monitor_reporting_occurrences",
    "monitor_verbal_reminders",
    "monitor_runs",
    "monitor_warnings",
    "monitor_cases",
    "monitor_case_events",
    "monitor_case_explanations",
    "monitor_warning_decisions",
    "monitor_deliveries",
    "monitor_delivery_events",
    "monitor_inbox",
    "monitor_reminder_marks",
    "monitor_audit_heads",
    "monitor_witness_keys",
    "monitor_filings",
    "monitor_filing_decisions",
    "bo_batches",
    "bo_batch_status",
    "bo_batch_files",
    "bo_entries",
    "bo_postings",
    "bo_applied_records",
    "bo_eod_steps",
    "bo_account_events",
    "bo_breaks",
    "bo_break_events",
    "access_emergency_grants",
    "access_emergency_grant_ends",
    "intraday_lease_epochs",
    "intraday_start_of_day",
    "intraday_journal",
    "intraday_halts",
    "intraday_halt_lifts",
    "watch_alert_reviews",
    "watch_flow_halts",
    "watch_flow_halt_lifts",
)

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION clearwatch_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$
"""


def trigger_statements(dialect: str, table_name: str) -> dict[str, str]:
    """The triggers that make `table_name` append-only on `dialect`, by name."""
    if dialect == "sqlite":
        return {
            f"{table_name}_refuse_{verb.lower()}": (
                f"CREATE TRIGGER IF NOT EXISTS {table_name}_refuse_{verb.lower()} "
                f"BEFORE {verb} ON {table_name} "
                f"BEGIN SELECT RAISE(ABORT, '{table_name} is append-only: {verb} refused'); END"
            )
            for verb in ("UPDATE", "DELETE")
        }
    if dialect == "postgresql":
        return {
            f"{table_name}_refuse_change": (
                f"CREATE TRIGGER {table_name}_refuse_change BEFORE UPDATE OR DELETE "
                f"ON {table_name} FOR EACH ROW EXECUTE FUNCTION clearwatch_refuse_change()"
            ),
            f"{table_name}_refuse_truncate": (
                f"CREATE TRIGGER {table_name}_refuse_truncate BEFORE TRUNCATE ON {table_name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION clearwatch_refuse_change()"
            ),
        }
    raise NotImplementedError(f"append-only triggers for {dialect}")


def refuse_update_and_delete(table_name: str) -> None:
    """Make `table_name` append-only at the database, whoever connects (in a migration)."""
    from alembic import op  # loaded by migrations only: a command's fast start skips Alembic

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
    for statement in trigger_statements(dialect, table_name).values():
        op.execute(statement)


def allow_update_and_delete(table_name: str) -> None:
    """The downgrade of `refuse_update_and_delete`."""
    from alembic import op

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table_name}_refuse_{verb}")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table_name}_refuse_change ON {table_name}")
        op.execute(f"DROP TRIGGER IF EXISTS {table_name}_refuse_truncate ON {table_name}")


def _enabled_triggers(connection: Connection) -> set[str]:
    """Triggers present and enabled (PostgreSQL's `DISABLE TRIGGER` leaves them present)."""
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        return {row[0] for row in rows}
    rows = connection.execute(
        text(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND n.nspname = current_schema()"
        )
    )
    return {row[0] for row in rows}


def _expected(connection: Connection) -> dict[str, tuple[str, str]]:
    """Every trigger the existing append-only tables should have: name → (table, statement)."""
    present = set(inspect(connection).get_table_names())
    return {
        name: (table, statement)
        for table in APPEND_ONLY_TABLES
        if table in present
        for name, statement in trigger_statements(connection.dialect.name, table).items()
    }


class SqlAppendOnlyGuard:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def missing_triggers(self) -> list[str]:
        read_only = {READ_ONLY_OPTION: True}
        with self._engine.connect().execution_options(**read_only) as connection:
            enabled = _enabled_triggers(connection)
            return sorted(set(_expected(connection)) - enabled)

    def restore_triggers(self) -> list[str]:
        with self._engine.begin() as connection:
            expected = _expected(connection)
            missing = sorted(set(expected) - _enabled_triggers(connection))
            if missing and connection.dialect.name == "postgresql":
                connection.execute(text(_PG_FUNCTION))
            for name in missing:
                table, statement = expected[name]
                if connection.dialect.name == "postgresql":
                    # Disabled rather than dropped: drop it and set it again, the same way.
                    connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
                connection.execute(text(statement))
        return missing
