"""Fixtures of the API tests: a fresh store (SQLite, and PostgreSQL when configured) and a
client of the real app over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application
from tests.api.support import TestClient, client_of, new_app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Application]:
    """The store the API serves, with an inbox root for end of day; on each database."""
    inbox_root = tmp_path / "inboxes"
    inbox_root.mkdir()
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_schema_url")
    app = new_app(tmp_path / "home", url, inbox_root=inbox_root)
    yield app
    app.dispose()


@pytest.fixture
def client(api_app: Application) -> TestClient:
    return client_of(api_app)
