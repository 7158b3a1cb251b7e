"""Executions that overdraw are booked; the broker's own funds cover the shortfall (垫付)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.domain.backoffice import accounts as acc
from clearwatch.services.backoffice.books_check import check_books
from clearwatch.services.backoffice.eod_outputs import write_package
from clearwatch.services.backoffice.import_batch import ImportStatus, import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from tests.backoffice_batches import BROKER, execution, static_batch, write_batch

DAY = date(2026, 11, 20)  # a Friday: the halt stops the client's Monday
NEXT_DAY = date(2026, 11, 23)
# F002 holds 50,000.00 and buys 6,000 × 10.00 = 60,000.00 plus fees 15.00 + 0.60 + 2.05 + 1.20.
SHORTFALL_FEN = 6_001_885 - 5_000_000
# The same 6,000 shares in two executions: fees per execution, 12.56 + 6.28.
SPLIT_SHORTFALL_FEN = 6_001_884 - 5_000_000


def _trading(tmp_path: Path, batch_id: str, rows: list[list[str]], day: date = DAY) -> Path:
    return write_batch(
        tmp_path / batch_id,
        kind="trading",
        business_date=day.isoformat(),
        batch_id=batch_id,
        files={"executions.csv": rows},
    )


def _import(app: Application, tools: BackOfficeTools, directory: Path):  # type: ignore[no-untyped-def]
    return import_batch(directory=directory, uow=app.uow(), tools=tools, at=app.clock.now())


def _natural(app: Application, account: str, day: date = DAY) -> int:
    with app.uow() as uow:
        table = uow.books.balances(
            broker_id=BROKER, as_of=day, account_prefix=account, asset=acc.CASH
        )
    return acc.natural_balance(account, sum(table.column("quantity").to_pylist()))


def test_an_overdrawing_batch_is_booked_and_own_funds_cover_the_shortfall(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s"))
    trades = [
        execution("E1", "F002", "B", 4000, "10.00"),
        execution("E2", "F002", "B", 2000, "10.00"),
        execution("E3", "F001", "B", 100, "10.00"),
    ]
    result = _import(app, any_tools, _trading(tmp_path, "T1", trades))
    assert result.status is ImportStatus.APPLIED
    assert [a["shortfall"] for a in result.advances] == ["10018.84"]
    assert _natural(app, "client:F002") == -SPLIT_SHORTFALL_FEN
    assert _natural(app, "receivable:F002") == SPLIT_SHORTFALL_FEN
    assert _natural(app, acc.OWN_FUNDS) == SPLIT_SHORTFALL_FEN
    assert _natural(app, "receivable:F001") == 0
    with app.uow() as uow:
        assert check_books(uow=uow, broker_id=BROKER, as_of=DAY) == []
        entry = uow.books.entry(f"advance:{BROKER}:{DAY}:T1")
        halts = uow.intraday.halts(business_date=NEXT_DAY)
    assert entry is not None and entry.kind == "advance"
    assert [(h.fund_account, h.raised_by) for h in halts] == [("F002", "books")]
    evidence = halts[0].evidence
    assert evidence["rule"] == "client_cash_overdrawn_by_executions"
    assert "executions E1..E2 (2) of batch B001:T1 overdrew F002" in evidence["cause"]
    assert evidence["shortfall"] == "10018.84"


def test_a_later_batch_advances_only_what_is_newly_short(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s"))
    _import(app, any_tools, _trading(tmp_path, "T1", [execution("E1", "F002", "B", 6000, "10.00")]))
    # The next day F002 (still short, still owing the advance) buys 100 × 10.00 + 5.06 more.
    later = _trading(tmp_path, "T2", [execution("E9", "F002", "B", 100, "10.00")], NEXT_DAY)
    result = _import(app, any_tools, later)
    assert [a["shortfall"] for a in result.advances] == ["1005.06"]
    assert _natural(app, "receivable:F002", NEXT_DAY) == SHORTFALL_FEN + 100_506
    assert _natural(app, "client:F002", NEXT_DAY) == -(SHORTFALL_FEN + 100_506)
    with app.uow() as uow:
        assert check_books(uow=uow, broker_id=BROKER, as_of=NEXT_DAY) == []


def test_a_sale_by_a_client_already_covered_needs_no_new_advance(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s", holdings=[("F002", "SH.600000", "500")]))
    _import(app, any_tools, _trading(tmp_path, "T1", [execution("E1", "F002", "B", 6000, "10.00")]))
    later = _trading(tmp_path, "T2", [execution("E9", "F002", "S", 500, "10.00")], NEXT_DAY)
    assert _import(app, any_tools, later).advances == ()


def test_the_package_shows_the_negative_balance(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s"))
    _import(app, any_tools, _trading(tmp_path, "T1", [execution("E1", "F002", "B", 6000, "10.00")]))
    write_package(app.uow(), any_tools, BROKER, DAY, tmp_path / "out")
    with (tmp_path / "out" / "package" / "client_funds.csv").open(encoding="utf-8") as handle:
        balances = {row["fund_account"]: row["balance"] for row in csv.DictReader(handle)}
    assert balances["F002"] == "-10018.85"


def test_each_overdrawn_client_names_only_its_own_executions(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    """Found for all overdrawn clients in one pass over the batch: interleaved executions
    (and a client that stays in funds between them) are counted to the right client."""
    clients = (("F001", "100000.00"), ("F002", "50000.00"), ("F003", "1000.00"))
    _import(app, any_tools, static_batch(tmp_path / "s", clients=clients))
    trades = [
        execution("E7", "F003", "B", 200, "10.00"),
        execution("E2", "F002", "B", 3000, "10.00"),
        execution("E5", "F001", "B", 100, "10.00"),
        execution("E1", "F003", "B", 100, "10.00"),
        execution("E9", "F002", "B", 3000, "10.00"),
        execution("E4", "F002", "B", 10, "10.00"),
    ]
    result = _import(app, any_tools, _trading(tmp_path, "T1", trades))
    causes = [a["cause"] for a in result.advances]
    assert len(causes) == 2
    assert "executions E2..E9 (3) of batch B001:T1 overdrew F002" in causes[0]
    assert "executions E1..E7 (2) of batch B001:T1 overdrew F003" in causes[1]
    with app.uow() as uow:
        assert check_books(uow=uow, broker_id=BROKER, as_of=DAY) == []
