"""The relational store: migrations, named constraints, unit of work, SQLite locking."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import inspect, text

from clearwatch.adapters.db.migrate import current_revisions, head_revisions
from clearwatch.adapters.db.schema import metadata
from clearwatch.bootstrap import Application
from clearwatch.services.audit.audit_log import record_audit


def test_init_twice_is_harmless_and_reaches_every_head(app: Application) -> None:
    first = app.init_schema()
    second = app.init_schema()
    assert first == second == current_revisions(app.engine) == head_revisions()


def test_every_constraint_has_a_name(app: Application) -> None:
    inspector = inspect(app.engine)
    for table in metadata.sorted_tables:
        if table.primary_key.columns:  # a few append-only detail tables have no key of their own
            assert inspector.get_pk_constraint(table.name)["name"], table.name
        for unique in inspector.get_unique_constraints(table.name):
            assert unique["name"], table.name
        for foreign in inspector.get_foreign_keys(table.name):
            assert foreign["name"], table.name


def test_money_columns_are_never_numeric() -> None:
    for table in metadata.sorted_tables:
        for column in table.columns:
            assert type(column.type).__name__ not in ("Numeric", "DECIMAL", "Float", "REAL"), (
                f"{table.name}.{column.name} must store integer fen"
            )


def test_sqlite_runs_in_wal_mode(sqlite_app: Application) -> None:
    with sqlite_app.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_sqlite_writers_take_the_lock_up_front(sqlite_app: Application, tmp_path: Path) -> None:
    """A second writer waits for the first (BEGIN IMMEDIATE) instead of interleaving."""
    order: list[str] = []
    first_inside = threading.Event()

    def writer(name: str, hold: threading.Event | None) -> None:
        with sqlite_app.uow() as uow:
            order.append(f"{name}-begin")
            if hold is not None:
                first_inside.set()
                hold.wait(timeout=5)
            record_audit(
                uow,
                actor=name,
                action="t",
                object_ref="o",
                payload={},
                recorded_at=sqlite_app.clock.now(),
            )
            uow.commit()
            order.append(f"{name}-commit")

    release = threading.Event()
    first = threading.Thread(target=writer, args=("first", release))
    first.start()
    first_inside.wait(timeout=5)
    second = threading.Thread(target=writer, args=("second", None))
    second.start()
    second.join(timeout=0.5)
    release.set()
    first.join()
    second.join()
    assert order == ["first-begin", "first-commit", "second-begin", "second-commit"]
