"""A raw SQL statement as a person at a database console would type it (drills only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class RawSqlConsole:
    """Runs one statement in its own transaction; returns the database's refusal, if any."""

    engine: Engine

    def __call__(self, statement: str) -> str | None:
        try:
            with self.engine.begin() as connection:
                connection.execute(text(statement))
        except DBAPIError as error:
            return str(error.orig).splitlines()[0]
        return None
