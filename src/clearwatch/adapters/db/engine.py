"""Engines for the relational store: SQLite (WAL, BEGIN IMMEDIATE) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

sqlite_busy_timeout_seconds = 60
# Bulk inserts of postings land all over the account index; SQLite's default 2 MB page cache
# would reread those pages from the OS every few rows.
sqlite_page_cache_kib = 65_536
READ_ONLY_OPTION = "clearwatch_read_only"
# Connections a process keeps open, so that a server opens none per request: a new SQLite
# connection costs its PRAGMAs and a read of the schema, a PostgreSQL one a round of
# authentication. A served process has at once at most the API's store threads (8), anyio's
# threads for plain `def` routes (40) and its background jobs holding one each; an SQLite
# connection kept is a file handle and the pages it has read (at most sqlite_page_cache_kib).
sqlite_connections_kept = 48
postgres_connections_kept = 16  # each server process; PostgreSQL allows 100 by default
# Beyond them, briefly (a burst, a unit of work opened inside another): closed on return.
connections_extra_max = 16


def normalise_url(url: str) -> str:
    """Plain `postgresql://` URLs go through psycopg 3, the driver we test."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=postgres_connections_kept,
        max_overflow=connections_extra_max,
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    pool: dict[str, Any] = {}
    if database and database != ":memory:":  # one in-memory database is one connection
        pool = {"pool_size": sqlite_connections_kept, "max_overflow": connections_extra_max}
    engine = create_engine(url, connect_args={"timeout": sqlite_busy_timeout_seconds}, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can take the
        # write lock up front (BEGIN IMMEDIATE) instead of failing on upgrade later.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_busy_timeout_seconds * 1000}")
        cursor.execute(f"PRAGMA cache_size=-{sqlite_page_cache_kib}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
