"""The store's generations (`services/shared/generations.py`): a row per area, and the
triggers that add one to it in every transaction writing a table of the area.

Kept on SQLite only. SQLite has one writer at a time, so a counter row costs writers nothing
more; on PostgreSQL concurrent writers of an area would queue on the row until commit, and a
transaction holding it while it waits for the audit chain's lock (or the other way round) could
deadlock. There `read` answers None and every request reads its rows afresh, as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Engine, Integer, String, Table

from clearwatch.adapters.db.metadata import metadata
from clearwatch.services.shared.generations import Generations

store_generations = Table(
    "store_generations",
    metadata,
    Column("area", String(16), primary_key=True),
    Column("generation", Integer, nullable=False),
)

ACCESS, WARNINGS = "access", "warnings"

# Every table whose rows a kept read is made of, with the changes that count: exactly what
# `caller_record` and the warnings listing read. A new column such a read takes from another
# table puts that table here too. An update of a credential's sign-in counters changes no
# caller, so only its epoch counts.
WATCHED: dict[str, tuple[str, tuple[str, ...]]] = {
    "access_users": (ACCESS, ("INSERT", "UPDATE", "DELETE")),
    "access_user_roles": (ACCESS, ("INSERT", "UPDATE", "DELETE")),
    "access_credentials": (ACCESS, ("INSERT", "UPDATE OF credential_epoch", "DELETE")),
    "access_emergency_grants": (ACCESS, ("INSERT", "UPDATE", "DELETE")),
    "access_emergency_grant_ends": (ACCESS, ("INSERT", "UPDATE", "DELETE")),
    "monitor_runs": (WARNINGS, ("INSERT", "UPDATE", "DELETE")),
    "monitor_warnings": (WARNINGS, ("INSERT", "UPDATE", "DELETE")),
    "monitor_warning_decisions": (WARNINGS, ("INSERT", "UPDATE", "DELETE")),
}


def sqlite_triggers(tables: Iterable[str] = WATCHED) -> dict[str, str]:
    """The triggers that keep the generations on SQLite, by name: of every table watched, or
    of `tables` (a migration names the tables it watches: later ones add theirs)."""
    statements = {}
    for table in tables:
        area, changes = WATCHED[table]
        for change in changes:
            name = f"{table}_counts_{change.split()[0].lower()}"
            statements[name] = (
                f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {change} ON {table} "
                f"BEGIN UPDATE store_generations SET generation = generation + 1 "
                f"WHERE area = '{area}'; END"
            )
    return statements


class SqlStoreGenerations:
    """One statement, outside any transaction: the generations committed at this instant.

    Answers None on PostgreSQL, and on an SQLite store missing any of its triggers (a console
    user dropped one: then the counts would not follow the rows, and nothing is kept)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._kept: bool | None = None  # decided on the first read

    def read(self) -> Generations | None:
        if self._kept is None:
            self._kept = self._engine.dialect.name == "sqlite" and self._triggers_present()
        if not self._kept:
            return None
        # The pool's DBAPI connection, autocommit (engine.py): no BEGIN, no rollback.
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            rows = dict(cursor.execute("SELECT area, generation FROM store_generations"))
            cursor.close()
        finally:
            connection.close()
        return Generations(access=int(rows[ACCESS]), warnings=int(rows[WARNINGS]))

    def _triggers_present(self) -> bool:
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            present = {row[0] for row in cursor.fetchall()}
            cursor.close()
        finally:
            connection.close()
        return set(sqlite_triggers()) <= present
