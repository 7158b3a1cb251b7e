"""The migrations and the table definitions describe the same schema: no drift either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import BigInteger, Column, Engine, MetaData, String, create_engine

from clearwatch.adapters.db.migrate import upgrade_schema
from clearwatch.adapters.db.schema import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh store upgraded to every head by the migrations alone."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'drift.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    engine = create_engine(url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def _differences(engine: Engine, tables: MetaData = metadata) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, tables))


def test_migrated_schema_equals_the_table_definitions(migrated: Engine) -> None:
    assert _differences(migrated) == []


def test_a_table_definition_the_migrations_lack_is_caught(migrated: Engine) -> None:
    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["bo_batches"].append_column(Column("note", String(64)))
    drifted.tables["bo_postings"].c.asset.type = BigInteger()
    found = {
        (change[0], change[2], change[3].name)  # ("add_column", schema, table, Column)
        if change[0] == "add_column"
        else (change[0], change[2], change[3])  # ("modify_type", schema, table, column, ...)
        for change in _flat(drifted, migrated)
    }
    assert found == {("add_column", "bo_batches", "note"), ("modify_type", "bo_postings", "asset")}


def _flat(tables: MetaData, engine: Engine) -> list[Any]:
    """Differences as a flat list: column changes come grouped per table, one list each."""
    return [
        change
        for difference in _differences(engine, tables)
        for change in (difference if isinstance(difference, list) else [difference])
    ]
