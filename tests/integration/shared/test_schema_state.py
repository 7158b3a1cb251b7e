"""The schema check every command makes, read without Alembic, agrees with Alembic."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from clearwatch.adapters.db.migrate import current_revisions, head_revisions
from clearwatch.adapters.db.schema_state import SchemaState, migration_revisions, schema_state
from clearwatch.bootstrap import build_application
from clearwatch.config import Settings


def test_the_heads_read_from_the_scripts_are_alembics_heads() -> None:
    assert migration_revisions().heads == frozenset(head_revisions())


def test_a_store_is_missing_then_current_then_ahead_of_this_version(tmp_path: Path) -> None:
    app = build_application(Settings.from_environment({"CLEARWATCH_HOME": str(tmp_path)}))
    assert schema_state(app.engine) is SchemaState.MISSING
    app.init_schema()
    assert schema_state(app.engine) is SchemaState.CURRENT
    assert frozenset(current_revisions(app.engine)) == migration_revisions().heads
    with app.engine.begin() as connection:  # as a newer clearwatch would leave it
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    assert schema_state(app.engine) is SchemaState.AHEAD


def test_a_first_unit_of_work_makes_the_embedded_store_once(tmp_path: Path) -> None:
    app = build_application(Settings.from_environment({"CLEARWATCH_HOME": str(tmp_path)}))
    with app.read_uow() as uow:
        assert [r.action for r in uow.audit.latest(limit=5)] == ["store.schema_upgraded"]
    with app.uow() as uow:
        assert len(uow.audit.latest(limit=5)) == 1
