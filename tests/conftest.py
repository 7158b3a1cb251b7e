"""Shared fixtures: a freshly initialised application on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import Settings
from clearwatch.domain.shared.calendar import SHANGHAI

# No test is timed: a busy CI machine (two cores) must not fail a property for being slow.
settings.register_profile("clearwatch", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("clearwatch")

POSTGRES_URL_VARIABLE = "CLEARWATCH_TEST_POSTGRES_URL"
DEFAULT_TEST_TIME = datetime(2026, 11, 20, 16, 0, tzinfo=SHANGHAI)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def postgres_url_or_skip() -> str:
    url = postgres_url()
    if url is None:
        # Only a machine without PostgreSQL configured skips; .ci/run always sets the URL.
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    return url


def _settings(home: Path, database_url: str) -> Settings:
    return Settings(
        home=home,
        database_url=database_url,
        columnar_root=str(home / "columnar"),
        audit_algorithm="sha256",
        engine_backend="duckdb",
    )


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own schedulers
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` (pyproject.toml): one worker per module of shared fixtures."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from tests.xdist_modules import ModuleGroupScheduling

    return ModuleGroupScheduling(config, log)


@pytest.fixture
def clock() -> FixedClock:
    """A clock tests move by hand: `clock.at = ...`."""
    return FixedClock(DEFAULT_TEST_TIME)


def _sqlite_application(home: Path, clock: FixedClock) -> Application:
    return build_application(_settings(home, f"sqlite:///{home / 'clearwatch.sqlite3'}"), clock)


@pytest.fixture(scope="session")
def migrated_sqlite_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose SQLite store is migrated to the head, once per worker: migrating costs a
    test 0.27 s of CPU, copying this home 0.03 s (some 300 tests start from an empty store)."""
    home = tmp_path_factory.mktemp("migrated-sqlite") / "home"
    app = _sqlite_application(home, FixedClock(DEFAULT_TEST_TIME))
    app.init_schema()
    app.dispose()
    return home


@pytest.fixture
def sqlite_app(tmp_path: Path, clock: FixedClock, migrated_sqlite_home: Path) -> Application:
    home = tmp_path / "home"
    # The migration's audit entry carries the clock's time: a copy only for the default time.
    if clock.now() == DEFAULT_TEST_TIME:
        shutil.copytree(migrated_sqlite_home, home)
    app = _sqlite_application(home, clock)
    app.init_schema()  # a copy is at the head already: this only marks the store ready
    return app


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def postgres_app(
    tmp_path: Path, clock: FixedClock, postgres_schema_url: str
) -> Iterator[Application]:
    app = build_application(_settings(tmp_path / "home", postgres_schema_url), clock)
    app.init_schema()
    yield app
    app.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest) -> Application:
    """The same test on SQLite and on PostgreSQL (skipped only when no URL is configured)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_app")  # type: ignore[no-any-return]
    return request.getfixturevalue("postgres_app")  # type: ignore[no-any-return]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for driving the `clearwatch` CLI against a fresh home."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLEARWATCH_")}
    env["CLEARWATCH_HOME"] = str(tmp_path / "cli-home")
    env["CLEARWATCH_REPLAY"] = "1"  # tests replay business days with --at
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # never the tester's own sign-in
    env["COLUMNS"] = "200"  # Rich wraps to the terminal; tests read whole cells
    return env
