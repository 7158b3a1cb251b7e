"""Database triggers that refuse UPDATE and DELETE on append-only tables."""

from __future__ import annotations

from alembic import op

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION clearwatch_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$
"""


def refuse_update_and_delete(table_name: str) -> None:
    """Make `table_name` append-only at the database, whoever connects."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table_name}_refuse_{verb.lower()} "
                f"BEFORE {verb} ON {table_name} "
                f"BEGIN SELECT RAISE(ABORT, '{table_name} is append-only: {verb} refused'); END"
            )
    elif dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {table_name}_refuse_change BEFORE UPDATE OR DELETE ON {table_name} "
            "FOR EACH ROW EXECUTE FUNCTION clearwatch_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table_name}_refuse_truncate BEFORE TRUNCATE ON {table_name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION clearwatch_refuse_change()"
        )
    else:
        raise NotImplementedError(f"append-only triggers for {dialect}")


def allow_update_and_delete(table_name: str) -> None:
    """The downgrade of `refuse_update_and_delete`."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table_name}_refuse_{verb}")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table_name}_refuse_change ON {table_name}")
        op.execute(f"DROP TRIGGER IF EXISTS {table_name}_refuse_truncate ON {table_name}")
