"""Both drills and the books adapter on each database (the CLI runs them on SQLite only)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from clearwatch.adapters.db.raw_sql import RawSqlConsole
from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.drills.duplicate_import import run_duplicate_import_drill
from clearwatch.services.drills.harness import DrillStore, write_batch
from clearwatch.services.drills.phantom_funds import run_phantom_funds_drill
from clearwatch.services.intraday.central_funds import BooksCentralFunds
from tests.support.drills import DUPLICATE_IMPORT_CHECKS, PHANTOM_FUNDS_CHECKS

from .conftest import BROKER, DAY


def _store(app: Application, tmp_path: Path) -> DrillStore:
    return DrillStore(
        uow=app.uow,
        read_uow=app.read_uow,
        tools=build_backoffice_tools(app.columnar),
        hand_edit=RawSqlConsole(app.engine),
        workdir=tmp_path / "inputs",
    )


def test_the_phantom_funds_drill_passes_on_each_database(app: Application, tmp_path: Path) -> None:
    report = run_phantom_funds_drill(store=_store(app, tmp_path))
    assert report.passed, [check for check in report.checks if not check.passed]
    assert [(check.name, check.detail) for check in report.checks] == list(PHANTOM_FUNDS_CHECKS)


def test_the_duplicate_import_drill_passes_on_each_database(
    app: Application, tmp_path: Path
) -> None:
    report = run_duplicate_import_drill(store=_store(app, tmp_path))
    assert report.passed, [check for check in report.checks if not check.passed]
    assert [(check.name, check.detail) for check in report.checks] == list(DUPLICATE_IMPORT_CHECKS)


def test_the_books_give_nodes_cash_sellable_shares_and_each_clients_commission_rate(
    app: Application, tmp_path: Path
) -> None:
    store = _store(app, tmp_path)
    directory = write_batch(
        tmp_path / "static",
        kind="static",
        batch_id="S1",
        files={
            "special_accounts.csv": [["SA001", "K001", "client_settlement"]],
            "clients.csv": [
                ["F1", "C1", "normal", "K001", "0.0003", "active"],
                ["F2", "C2", "normal", "K001", "", "active"],
            ],
            "opening.csv": [
                ["F1", "CASH", "1000.00"],
                ["F2", "CASH", "500.00"],
                ["F1", "SH.600000", "300"],
                ["SA001", "CASH", "1500.00"],
            ],
        },
    )
    import_batch(directory=directory, uow=app.uow(), tools=store.tools, at=app.clock.now())
    positions = BooksCentralFunds(app.read_uow, store.tools).positions(
        broker_id=BROKER, business_date=DAY
    )
    assert positions["F1"].cash_available_fen == 1000_00
    assert positions["F1"].shares_sellable == {"SH.600000": 300}
    assert positions["F1"].commission_rate == Decimal("0.0003")
    assert (positions["F2"].cash_available_fen, positions["F2"].commission_rate) == (500_00, None)
