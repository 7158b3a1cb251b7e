"""Create or upgrade the relational schema to every head; safe to run again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_schema(engine: Engine) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Upgrade to all heads (areas add their own branches); the revisions before and after.

    "Before" is read in the upgrade's own transaction: of two processes upgrading a fresh
    store at once, the second sees the first one's work and reports no change.
    """
    config = _config()
    with engine.begin() as connection:
        before = _revisions(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    return before, current_revisions(engine)


def _revisions(connection: Connection) -> tuple[str, ...]:
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return _revisions(connection)


def head_revisions() -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory.from_config(_config()).get_heads()))
