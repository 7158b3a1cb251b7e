"""Fixtures of the web tests: a fresh store (SQLite, and PostgreSQL when configured) and a
client of the real application (API and pages) over it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from tests.api.support import TestClient, client_of, new_app
from tests.conftest import postgres_url_or_skip
from tests.scenarios.test_cases_review import REVIEW_TIME, gap_world, new_monitor, overdraft_world


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def web_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application]:
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_schema_url")
    app = new_app(tmp_path / "home", url)
    yield app
    app.dispose()


@pytest.fixture
def browser(web_app: Application) -> TestClient:
    """A client that keeps cookies, as a browser does."""
    return client_of(web_app)


@contextmanager
def _fresh_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards (for a
    module's store; the root conftest's fixture of the same is per test)."""
    base = make_url(postgres_url_or_skip()).set(drivername="postgresql+psycopg")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def review_day(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Application]:
    """A day with cases and proposed warnings (by `tester`), shared by a module's tests in
    order: B001 took 100.00 out of its settlement account (F3, F4, F6 → CN-SH); a client of
    B002 is overdrawn by 499.99 (F2 → CITY-SZ). The business clock is the review's morning."""
    root = tmp_path_factory.mktemp("web-review")
    with ExitStack() as stack:
        url = stack.enter_context(_fresh_schema()) if request.param == "postgres" else None
        app = new_app(root / "home", url)
        stack.callback(app.dispose)
        assert isinstance(app.clock, FixedClock)
        monitor = new_monitor(app, app.clock, root)
        world = gap_world()
        world["B002"] = overdraft_world()["B002"]
        monitor.submit_world(world)
        monitor.run(REVIEW_TIME)
        app.clock.at = REVIEW_TIME
        yield app
