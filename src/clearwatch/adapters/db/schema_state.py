"""Whether the store's schema is this version's, read without loading Alembic (fast start).

Every command asks this once before its first transaction; Alembic itself (a third of a second
to import) is loaded only when the schema must be created or upgraded.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from clearwatch.adapters.db.engine import READ_ONLY_OPTION

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


class SchemaState(Enum):
    CURRENT = "current"
    MISSING = "missing"  # never initialised: no version table, or an empty one
    BEHIND = "behind"  # an older version's schema: an upgrade brings it to the heads
    AHEAD = "ahead"  # revisions this version does not know: a newer clearwatch wrote it


@dataclass(frozen=True)
class Revisions:
    known: frozenset[str]
    heads: frozenset[str]


@cache
def migration_revisions() -> Revisions:
    """Every revision of the migration scripts, and the heads (revisions nothing builds on)."""
    known: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS_DIR.glob("*.py"):
        values = dict(_ASSIGNMENT.findall(script.read_text(encoding="utf-8")))
        known.add(ast.literal_eval(values["revision"]))
        down = ast.literal_eval(values.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else (down or ()))
    return Revisions(frozenset(known), frozenset(known - parents))


def stored_revisions(engine: Engine) -> frozenset[str]:
    # Read-only: on SQLite a plain transaction would take the write lock (BEGIN IMMEDIATE).
    with engine.connect().execution_options(**{READ_ONLY_OPTION: True}) as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return frozenset()
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return frozenset(row[0] for row in rows)


def schema_state(engine: Engine) -> SchemaState:
    stored = stored_revisions(engine)
    revisions = migration_revisions()
    if not stored:
        return SchemaState.MISSING
    if stored == revisions.heads:
        return SchemaState.CURRENT
    if stored <= revisions.known:
        return SchemaState.BEHIND
    return SchemaState.AHEAD
