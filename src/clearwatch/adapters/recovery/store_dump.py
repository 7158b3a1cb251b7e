"""The relational store as one file: SQLite's online backup API, or pg_dump / pg_restore.

Both copy a running store consistently: SQLite's backup API copies one snapshot of the pages
(WAL readers go on, writers wait only for the step); pg_dump reads in one repeatable-read
transaction. The database password never appears on a command line: it goes to the tools
in their environment (`PGPASSWORD`), which `ps` does not show to other users.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from clearwatch.adapters.db.schema_state import SchemaState, schema_state
from clearwatch.adapters.private_files import OWNER_ONLY, owner_only_dir
from clearwatch.domain.shared.errors import ClearwatchError, ConfigurationError

pg_tool_timeout_seconds = 6 * 60 * 60  # a national store's dump takes hours, not days
_PG_TOOL_DIRS = "/usr/lib/postgresql/*/bin"


class DumpFailed(ClearwatchError):
    """pg_dump or pg_restore ended with an error (its last line says why)."""


class SqliteDump:
    """The embedded store's file, copied page by page by SQLite itself."""

    kind = "sqlite"

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        if not database:
            raise ConfigurationError("an in-memory SQLite store cannot be backed up")
        self._engine = engine
        self._path = Path(database)

    def dump(self, path: Path) -> None:
        owner_only_dir(path.parent)
        source = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True)
        target = sqlite3.connect(path)
        try:
            os.chmod(path, OWNER_ONLY)
            source.backup(target)  # every page in one step: one consistent snapshot
        finally:
            target.close()
            source.close()

    def is_empty(self) -> bool:
        return not self._path.exists() or schema_state(self._engine) is SchemaState.MISSING

    def load(self, path: Path) -> None:
        self._engine.dispose()  # no pooled connection may hold the file while it is replaced
        owner_only_dir(self._path.parent)
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(self._path)
        try:
            os.chmod(self._path, OWNER_ONLY)
            source.backup(target)
        finally:
            target.close()
            source.close()

    def discard(self) -> None:
        self._engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self._path}{suffix}").unlink(missing_ok=True)


class PostgresDump:
    """A PostgreSQL store through pg_dump's custom format; its schema alone when the URL's
    `search_path` names one (a store shares its database with others)."""

    kind = "postgresql"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._url = engine.url

    def dump(self, path: Path) -> None:
        owner_only_dir(path.parent)
        arguments = ["--format=custom", "--no-owner", "--no-privileges", f"--file={path}"]
        schema = _schema_of(self._url)
        if schema is not None:
            arguments.append(f"--schema={schema}")
        _run_pg_tool("pg_dump", [*arguments, _conninfo(self._url)], self._url)
        os.chmod(path, OWNER_ONLY)

    def is_empty(self) -> bool:
        return schema_state(self._engine) is SchemaState.MISSING

    def load(self, path: Path) -> None:
        arguments = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        schema = _schema_of(self._url)
        if schema is not None:
            # The dump creates its schema; an empty one made for the store is dropped first.
            with self._engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}"'))
        self._engine.dispose()
        _run_pg_tool(
            "pg_restore", [*arguments, f"--dbname={_conninfo(self._url)}", str(path)], self._url
        )

    def discard(self) -> None:
        schema = _schema_of(self._url) or "public"
        with self._engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        self._engine.dispose()


def _schema_of(url: URL) -> str | None:
    options = str(url.query.get("options", ""))
    for part in options.split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0]
    return None


def _conninfo(url: URL) -> str:
    """A libpq URL for the tools: no driver name, no password (it goes in the environment)."""
    plain = make_url(url).set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def pg_tool(name: str) -> str:
    """The newest installed `name` (pg_dump, pg_restore): PATH, then Debian's versioned dirs."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(glob.glob(f"{_PG_TOOL_DIRS}/{name}"), key=_version_key)
    if not candidates:
        raise ConfigurationError(
            f"{name} is not installed: a PostgreSQL store is backed up with PostgreSQL's "
            "client tools (apt-get install postgresql-client)"
        )
    return candidates[-1]


def _version_key(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _run_pg_tool(name: str, arguments: list[str], url: URL) -> None:
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    # A fixed tool and arguments built above, never through a shell.
    done = subprocess.run(
        [pg_tool(name), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=pg_tool_timeout_seconds,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DumpFailed(f"{name} failed: {last}")
