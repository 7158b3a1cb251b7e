"""The crash harness's stores, copied whole: the home folder and, on PostgreSQL, the store's
own database, so that a trial starts from the clean run's store before an operation on either
backend.

On SQLite the database is a file in the home and copying the folder is enough. On PostgreSQL
each home has a database of its own, named after the harness's database and the home's path
(`<database>_cr_<hash>`), and a copy is `CREATE DATABASE … TEMPLATE`: the server copies the
files, which is what copying the folder does for SQLite. A template must have no connection
open; the harness copies only stores whose commands have ended (a killed child's connection
ends with it: the server notices the closed socket, and `WITH (FORCE)` ends one still there).
"""

from __future__ import annotations

import hashlib
import shutil
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url


def database_url(postgres: str | None, home: Path) -> str | None:
    """The URL of `home`'s own database on the server of `postgres`; None on SQLite."""
    if postgres is None:
        return None
    url = make_url(postgres).set(drivername="postgresql+psycopg")
    return url.set(database=database_name(postgres, home)).render_as_string(hide_password=False)


def database_name(postgres: str, home: Path) -> str:
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return f"{make_url(postgres).database}_cr_{digest}"


def new_store(postgres: str | None, home: Path) -> None:
    """An empty home, and an empty database for it on PostgreSQL (a former one dropped)."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if postgres is not None:
        _recreate(postgres, database_name(postgres, home), template=None)


def copy_store(postgres: str | None, source: Path, target: Path) -> None:
    """`target` made a copy of the store at `source` (whatever `target` held, gone)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    if postgres is not None:
        template = database_name(postgres, source)
        _recreate(postgres, database_name(postgres, target), template=template)


def drop_stores(postgres: str | None, homes: list[Path]) -> None:
    """The databases of `homes` dropped (their folders are the caller's)."""
    if postgres is not None:
        for home in homes:
            _execute(postgres, f'DROP DATABASE IF EXISTS "{database_name(postgres, home)}"')


def _recreate(postgres: str, name: str, *, template: str | None) -> None:
    _execute(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    copied = f' TEMPLATE "{template}"' if template else ""
    _execute(postgres, f'CREATE DATABASE "{name}"{copied}')


def _execute(postgres: str, statement: str) -> None:
    with _admin(postgres).connect() as connection:
        connection.execute(text(statement))


@cache
def _admin(postgres: str) -> Engine:
    """The server, through the harness's own database: CREATE and DROP DATABASE run outside
    a transaction."""
    url = make_url(postgres).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
