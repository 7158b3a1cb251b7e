"""Stores the fuzz and concurrency harnesses work on: a monitor with its registry and
submitters, a broker back office with its clients' opening books and its people.

A back office is its own deployment (spec: one per broker), so its first admin is the back
office's own; the monitor's first admin is SIPF's. Each harness builds the stores it needs,
on SQLite by default or on a PostgreSQL schema of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application, build_application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.monitor.registry import load_registry
from reliability.fuzz_inputs import (
    BANK,
    BROKER,
    CLIENT_CASH,
    CLIENT_SHARES,
    CLIENTS,
    SECURITY,
    csv_bytes,
    file_entry,
)
from reliability.identity import SYSTEM_ACTOR, register_submitters
from reliability.worker import settings_for

STORE_TIME = datetime(2026, 11, 20, 16, 0, tzinfo=SHANGHAI)
OPENING_DAY = date(2026, 12, 31)
REGISTRY_INSTITUTIONS = (
    ("B001", "broker", "示例证券", "CN-SH"),
    ("B002", "broker", "深圳示例证券", "CITY-SZ"),
    ("K001", "bank", "示例银行", "CN-BJ"),
    ("K002", "bank", "第二银行", "CN-GD"),
    ("C001", "csdc", "中国结算", "CN-BJ"),
)
REGISTRY_ACCOUNTS = (
    ("SA-001", "K001", "B001", "client_settlement", "CN-SH", "2026-01-05"),
    ("SA-003", "K002", "B002", "client_settlement", "CITY-SZ", "2026-02-02"),
)
BACK_OFFICE = f"BO:{BROKER}"
BACK_OFFICE_ADMIN = "bo-admin"


def open_store(home: Path, database_url: str | None = None) -> Application:
    """A new, initialised store at `home` (and `database_url`, if not the embedded one)."""
    app = build_application(settings_for(home, database_url=database_url), FixedClock(STORE_TIME))
    app.init_schema()
    return app


def same_store(app: Application) -> Application:
    """Another application on `app`'s store, with its own connections: another process."""
    return build_application(app.settings, app.clock)


def set_up_monitor(app: Application) -> None:
    """The harnesses' registry, and a registered submitter for every institution in it."""
    register_submitters(app, [row[0] for row in REGISTRY_INSTITUTIONS])
    files: dict[str, bytes | None] = {
        "institutions.csv": csv_bytes(
            ("institution_id", "kind", "name", "region"),
            [list(row) for row in REGISTRY_INSTITUTIONS],
        ),
        "special_accounts.csv": csv_bytes(
            ("account_no", "bank_id", "broker_id", "purpose", "branch_region", "filed_on"),
            [list(row) for row in REGISTRY_ACCOUNTS],
        ),
    }
    result = load_registry(
        files=files, source="harness", actor=SYSTEM_ACTOR, uow=app.uow(), clock=app.clock
    )
    assert result.loaded, result.errors  # the harness's own registry: a bug if refused


def open_books(app: Application, directory: Path) -> None:
    """B001's first day: its clients, each with `CLIENT_CASH` and shares, and the special
    account holding their cash."""
    cash_fen = int(CLIENT_CASH.replace(".", "")) * len(CLIENTS)
    opening = [[client, "CASH", CLIENT_CASH] for client in CLIENTS]
    opening += [[client, SECURITY, str(CLIENT_SHARES)] for client in CLIENTS]
    opening.append(["SA001", "CASH", f"{cash_fen // 100}.{cash_fen % 100:02d}"])
    tables = {
        "clients.csv": (
            ("fund_account", "client_id", "account_kind", "bank_id", "commission_rate", "status"),
            [[c, "C" + c, "normal", BANK, "", "active"] for c in CLIENTS],
        ),
        "special_accounts.csv": (
            ("account_no", "bank_id", "purpose"),
            [["SA001", BANK, "client_settlement"]],
        ),
        "opening.csv": (("account", "asset", "quantity"), opening),
    }
    files = {name: csv_bytes(header, rows) for name, (header, rows) in tables.items()}
    write_batch(directory, "static", OPENING_DAY, "OPENING", files)
    import_batch(directory=directory, uow=app.uow(), tools=app.backoffice_tools, at=STORE_TIME)


def write_batch(
    directory: Path, kind: str, day: date, batch_id: str, files: dict[str, bytes]
) -> Path:
    """A `clearwatch.batch/1` directory for B001 holding `files`, with its manifest."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    manifest: dict[str, Any] = {
        "format": "clearwatch.batch/1",
        "kind": kind,
        "broker_id": BROKER,
        "business_date": day.isoformat(),
        "batch_id": batch_id,
        "encoding": "utf-8",
        "files": [file_entry(name, data, "utf-8") for name, data in sorted(files.items())],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


def set_up_people(app: Application, *, makers: int, checkers: int) -> None:
    """The back office's admin (its first user), its operators (makers) and checkers."""
    at = app.real_clock.now()
    add_user(
        uow=app.uow(),
        user_id=BACK_OFFICE_ADMIN,
        roles=[Role.ADMIN],
        organisation=BACK_OFFICE,
        actor=None,
        at=at,
    )
    people = [(maker_id(n), Role.OPERATOR) for n in range(makers)]
    people += [(checker_id(n), Role.CHECKER) for n in range(checkers)]
    for user_id, role in people:
        add_user(
            uow=app.uow(),
            user_id=user_id,
            roles=[role],
            organisation=BACK_OFFICE,
            actor=BACK_OFFICE_ADMIN,
            at=at,
        )


def maker_id(number: int) -> str:
    return f"bo-maker-{number}"


def checker_id(number: int) -> str:
    return f"bo-checker-{number}"


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A URL whose search_path is a new schema of `base_url`'s database, dropped afterwards."""
    schema = f"h_{uuid.uuid4().hex[:12]}"
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
