"""Fixtures of the monitor intake tests: a loaded registry and a submit helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from clearwatch.adapters.files.csv_package_reader import CsvPackageSource
from clearwatch.adapters.files.registry_reader import read_registry_files
from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.receipt import Receipt
from clearwatch.services.monitor.registry import RegistryLoadResult, load_registry
from clearwatch.services.monitor.submit_package import SubmitContext
from tests.support.identities import submit_as_owner
from tests.support.packages import write_registry

Submit = Callable[[Path], Receipt]


def load(app: Application, directory: Path) -> RegistryLoadResult:
    return load_registry(
        files=read_registry_files(str(directory)),
        source=str(directory),
        actor="tester",
        uow=app.uow(),
        clock=app.clock,
    )


def context(app: Application) -> SubmitContext:
    return SubmitContext(
        clock=app.clock,
        uow_factory=app.uow,
        read_uow_factory=app.read_uow,
        columnar=app.columnar,
        source=CsvPackageSource(),
    )


@pytest.fixture
def registered(app: Application, tmp_path: Path) -> Application:
    """The app on each database with the default registry loaded."""
    result = load(app, write_registry(tmp_path / "registry"))
    assert result.loaded, result.errors
    return app


@pytest.fixture
def registered_sqlite(sqlite_app: Application, tmp_path: Path) -> Application:
    result = load(sqlite_app, write_registry(tmp_path / "registry"))
    assert result.loaded, result.errors
    return sqlite_app


@pytest.fixture
def submit(registered_sqlite: Application) -> Submit:
    def run(directory: Path) -> Receipt:
        return submit_as_owner(registered_sqlite, directory, context(registered_sqlite))

    return run
