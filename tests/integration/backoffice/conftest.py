"""Fixtures of the back-office tests: the tools wired over the app's columnar store."""

from __future__ import annotations

import pytest

from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.services.backoffice.ports import BackOfficeTools


@pytest.fixture
def tools(sqlite_app: Application) -> BackOfficeTools:
    return build_backoffice_tools(sqlite_app.columnar, threads=1)


@pytest.fixture
def any_tools(app: Application) -> BackOfficeTools:
    return build_backoffice_tools(app.columnar, threads=1)
