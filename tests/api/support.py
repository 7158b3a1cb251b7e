"""What the API tests share: a store with people in it, clients, tars, row counts, the world.

People are written straight into the store (user, roles, credentials), as a database fixture
would: the tests need admins of SIPF and of two back offices side by side, which no single
admin could register through the policy. Every request then goes through the real API.
"""

from __future__ import annotations

import io
import tarfile
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import inspect, text

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.credentials import needs_second_factor
from clearwatch.domain.access.organisations import parse_organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.chain import AuditRecord, HashAlgorithm
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS
from clearwatch.entrypoints.api.app import create_app
from clearwatch.services.monitor.delivery_approval import approve_warning, review_warnings
from clearwatch.services.monitor.registry import load_registry
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.submit_package import submit_package
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS, KIND_OF, clean_world
from tests.support.packages import csv_text, write_package, write_registry

with warnings.catch_warnings():
    # Starlette prefers httpx2 for its test client; httpx is what is installed and works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
API = "/api/v1"
BUSINESS_TIME = datetime(2026, 11, 20, 16, 0, tzinfo=SHANGHAI)
NOT_COUNTED = frozenset({"audit_log", "alembic_version"})  # a denial adds its audit record

__all__ = ["DAY", "TestClient"]


def new_app(home: Path, database_url: str | None = None, **settings: Any) -> Application:
    """An application on a fresh store under `home` (SQLite unless a URL is given)."""
    app = build_application(
        Settings(
            home=home,
            database_url=database_url or f"sqlite:///{home / 'clearwatch.sqlite3'}",
            columnar_root=str(home / "columnar"),
            audit_algorithm=HashAlgorithm.SHA256,
            engine_backend=EngineBackend.DUCKDB,
            **settings,
        ),
        FixedClock(BUSINESS_TIME),
    )
    app.init_schema()
    return app


def client_of(app: Application) -> TestClient:
    # The lifespan (periodic audit anchoring) is not started: these tests anchor nothing.
    return TestClient(create_app(app, anchor_every_seconds=None))


def user_id_of(organisation: str, role: Role) -> str:
    return f"{organisation.lower().replace(':', '-')}-{role.value}"


def person(
    app: Application,
    organisation: str,
    role: Role,
    user_id: str | None = None,
    *,
    password: str | None = None,
) -> str:
    """A user holding `role` in `organisation`, written into the store if absent; with
    `password`, also a password (and a second factor when the role decides)."""
    user_id = user_id or user_id_of(organisation, role)
    now = app.real_clock.now()
    with app.uow() as uow:
        if uow.access.user(user_id) is None:
            uow.access.add_user(
                user_id=user_id,
                organisation=parse_organisation(organisation),
                created_at=now,
                created_by="test-fixture",
            )
        uow.access.add_role(user_id=user_id, role=role, granted_at=now, granted_by="test-fixture")
        if password is not None and uow.credentials.credentials(user_id) is None:
            tools = app.authentication
            uow.credentials.set_password(
                user_id=user_id, password_hash=tools.hasher.hash(password), at=now
            )
            if needs_second_factor(frozenset({role})):
                uow.credentials.set_second_factor(user_id=user_id, secret=pyotp.random_base32())
        uow.commit()
    return user_id


def totp_of(app: Application, user_id: str) -> pyotp.TOTP:
    with app.read_uow() as uow:
        stored = uow.credentials.credentials(user_id)
    assert stored is not None and stored.totp_secret is not None
    return pyotp.TOTP(stored.totp_secret)


def bearer(
    app: Application, user_id: str, *, minutes: int = 60, second_factor: bool = True
) -> dict[str, str]:
    """What `login` would hand this user (with their code, unless told otherwise), signed
    with the store's key."""
    now = app.real_clock.now()
    token = app.authentication.signer.issue(
        user_id=user_id,
        issued_at=now,
        expires_at=now + timedelta(minutes=minutes),
        second_factor=second_factor,
    )
    return {"Authorization": f"Bearer {token}"}


def tar_of(directory: Path, *, gzip: bool = False, prefix: str = "./") -> bytes:
    """A tar of the folder's files, as `tar -C directory -cf - .` would make it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gzip else "w") as tar:
        for path in sorted(directory.iterdir()):
            tar.add(path, arcname=f"{prefix}{path.name}")
    return buffer.getvalue()


def row_counts(app: Application) -> dict[str, int]:
    """Rows of every table but the audit log, in one statement."""
    tables = sorted(set(inspect(app.engine).get_table_names()) - NOT_COUNTED)
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {name})" for name in tables)
    with app.engine.connect() as connection:
        counts = connection.execute(text(query)).one()
    return dict(zip(tables, counts, strict=True))


def audit_records(app: Application, after_seq: int = 0) -> list[AuditRecord]:
    with app.read_uow() as uow:
        return list(uow.audit.records(after_seq=after_seq))


def audit_head(app: Application) -> int:
    with app.read_uow() as uow:
        return max((r.seq for r in uow.audit.latest(limit=1)), default=0)


def write_world(root: Path) -> dict[str, Path]:
    """The day's packages of a market where B002 is 500.00 short: a major warning for B002,
    routed to CITY-SZ with a special report to CSRC; everyone else agrees."""
    world = clean_world()
    world["B002"]["client_funds.csv"].append(["Z2", "z2", "normal", "K002", "-500.00"])
    packages = {}
    for institution, files in world.items():
        kind = KIND_OF[institution[0]]
        columns = {f.name: f.column_names for f in PACKAGE_SPECS[kind].files}
        packages[institution] = write_package(
            root / institution,
            kind,
            institution,
            DAY,
            {name: csv_text(_header(columns[name], rows), rows) for name, rows in files.items()},
        )
    return packages


def _header(columns: tuple[str, ...], rows: list[list[str]]) -> str:
    # The rows give the leading columns; a trailing column with a default may be left out.
    return ",".join(columns[: len(rows[0])] if rows else columns)


def load_world(app: Application, root: Path, *, run: bool = True) -> dict[str, Path]:
    """Registry, every package of the world submitted by its own submitter, the day run."""
    registry = write_registry(root / "registry", INSTITUTIONS, FILINGS)
    loaded = load_registry(
        files=app.read_registry_files(registry),
        source=str(registry),
        actor="test-fixture",
        uow=app.uow(),
        clock=app.clock,
    )
    assert loaded.loaded, loaded.errors
    packages = write_world(root / "world")
    for institution, directory in packages.items():
        gate = app.gate(local_caller(person(app, institution, Role.SUBMITTER)))
        receipt = submit_package(directory=str(directory), context=app.submit_context(), gate=gate)
        assert receipt.status.value == "accepted", receipt.to_json()
    if run:
        run_day(business_date=DAY, actor="test-fixture", context=app.run_day_context())
    return packages


def approve_warnings(app: Application, institution: str | None = None) -> int:
    """A second analyst (a reviewer who did not run the day) approves the proposed warnings of
    the latest results, of one institution or all: only then do bureaus, institutions and
    CSRC see them. Returns how many were approved."""
    reviewer = app.gate(local_caller(person(app, "SIPF", Role.REVIEWER, "second-analyst")))
    context = app.delivery_context()
    proposed = review_warnings(gate=reviewer, context=context, status=WarningStatus.PROPOSED)
    chosen = [w for w in proposed if institution in (None, w.institution_id)]
    for warning in chosen:
        approve_warning(warning_id=warning.warning_id, gate=reviewer, context=context)
    return len(chosen)


BANK_HEADERS = {
    "special_account_balances.csv": "account_no,broker_id,purpose,branch_region,balance",
    "special_account_transactions.csv": (
        "txn_id,account_no,booked_at,direction,amount,counterparty_account,counterparty_kind"
    ),
}


def forged_k001(root: Path) -> Path:
    """K001's package again, sequence 2: the outflow to `other` gone, the money put back."""
    files = clean_world()["K001"]
    rows = {
        "special_account_balances.csv": files["special_account_balances.csv"],
        "special_account_transactions.csv": [],
    }
    return write_package(
        root / "forged-k001",
        "bank_daily",
        "K001",
        DAY,
        {name: csv_text(BANK_HEADERS[name], value) for name, value in rows.items()}
        | {"client_depository.csv": "broker_id,fund_account,client_id,balance\n"},
        sequence=2,
    )
