"""The overdraft-advance drill's books, halt and package on each database (the CLI adds the
monitor, in a store of its own, on SQLite)."""

from __future__ import annotations

from pathlib import Path

from clearwatch.adapters.db.raw_sql import RawSqlConsole
from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.services.drills.harness import DrillStore
from clearwatch.services.drills.overdraft_advance import run_overdraft_advance_drill
from tests.support.drills import OVERDRAFT_ADVANCE_BOOKS_CHECKS


def test_the_overdraft_advance_drill_passes_on_each_database(
    app: Application, tmp_path: Path
) -> None:
    store = DrillStore(
        uow=app.uow,
        read_uow=app.read_uow,
        tools=build_backoffice_tools(app.columnar),
        hand_edit=RawSqlConsole(app.engine),
        workdir=tmp_path / "inputs",
    )
    report = run_overdraft_advance_drill(store=store)
    assert report.passed, [check for check in report.checks if not check.passed]
    checks = [(check.name, check.detail) for check in report.checks]
    assert checks[:-1] == list(OVERDRAFT_ADVANCE_BOOKS_CHECKS)
    assert checks[-1][0] == "the audit chain verifies"
