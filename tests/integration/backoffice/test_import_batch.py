"""Importing batches: the worked examples in the books, idempotency, named rejections."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from clearwatch.bootstrap import Application
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.domain.backoffice.journal import EntryKind, JournalEntry, Posting, Source
from clearwatch.services.backoffice.books_check import central_available, check_books
from clearwatch.services.backoffice.import_batch import ImportStatus, import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from tests.backoffice_batches import BROKER, execution, static_batch, write_batch

DAY = date(2026, 11, 20)


def _cash(app: Application, fund_account: str, day: date = DAY) -> int:
    with app.uow() as uow:
        table = uow.books.balances(
            broker_id=BROKER, as_of=day, account_prefix=f"client:{fund_account}", asset="CASH"
        )
    return -sum(table.column("quantity").to_pylist())


def _import(app: Application, tools: BackOfficeTools, directory: Path):  # type: ignore[no-untyped-def]
    return import_batch(directory=directory, uow=app.uow(), tools=tools, at=app.clock.now())


def _trading(tmp_path: Path, rows: list[list[str]], batch_id: str = "T1", **files) -> Path:  # type: ignore[no-untyped-def]
    return write_batch(
        tmp_path / batch_id,
        kind="trading",
        business_date="2026-11-20",
        batch_id=batch_id,
        files={"executions.csv": rows, **files},
    )


def test_the_worked_buy_and_sell_change_client_cash_by_the_spec_amounts(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s", holdings=[("F002", "SH.600000", "1000")]))
    trades = [
        execution("E1", "F001", "B", 1000, "10.00"),
        execution("E2", "F002", "S", 1000, "10.00"),
    ]
    result = _import(app, any_tools, _trading(tmp_path, trades))
    assert result.status is ImportStatus.APPLIED
    assert _cash(app, "F001") == 10_000_000 - 1_000_564  # 100,000.00 − 10,005.64
    assert _cash(app, "F002") == 5_000_000 + 998_936  # 50,000.00 + 9,989.36
    with app.uow() as uow:
        assert check_books(uow=uow, broker_id=BROKER, as_of=DAY) == []
        entry = uow.books.entry(f"trades:{BROKER}:{DAY}:T1")
    assert entry is not None
    assert entry.source.detail_digest is not None
    assert (entry.source.record_first, entry.source.record_last) == ("E1", "E2")
    assert app.columnar.exists(entry.source.detail_digest)


def test_selling_shares_bought_the_same_day_is_refused_and_nothing_applied(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(sqlite_app, tools, static_batch(tmp_path / "s"))
    trades = [
        execution("E1", "F001", "B", 1000, "10.00"),
        execution("E2", "F001", "S", 500, "10.10"),
    ]
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, _trading(tmp_path, trades))
    rejection = refused.value.rejections[0]
    assert rejection.rule is Rule.SELL_MUST_NOT_EXCEED_SELLABLE
    assert (rejection.file, rejection.line, rejection.column) == ("executions.csv", 3, "quantity")
    assert _cash(sqlite_app, "F001") == 10_000_000
    with sqlite_app.uow() as uow:
        assert uow.batches.find(BROKER, "T1") is None


def test_shares_bought_yesterday_are_sellable_today(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(sqlite_app, tools, static_batch(tmp_path / "s", business_date="2026-11-19"))
    buy = write_batch(
        tmp_path / "t0",
        kind="trading",
        business_date="2026-11-19",
        batch_id="T0",
        files={"executions.csv": [execution("E1", "F001", "B", 1000, "10.00")]},
    )
    _import(sqlite_app, tools, buy)
    available = central_available(
        uow=sqlite_app.uow(), tools=tools, broker_id=BROKER, business_date=DAY
    )
    assert available.shares == {("F001", "SH.600000"): 1000}
    assert available.cash_fen["F001"] == 10_000_000 - 1_000_564
    result = _import(
        sqlite_app, tools, _trading(tmp_path, [execution("E2", "F001", "S", 1000, "10.00")])
    )
    assert result.entries_posted == 1


def test_the_same_batch_imported_four_times_changes_the_books_once(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s"))
    batch = _trading(
        tmp_path,
        [],
        **{"cash_adjustments.csv": [["A1", "F001", "-1234.56", "lending_dividend_deduction"]]},
    )
    statuses = [_import(app, any_tools, batch).status for _ in range(4)]
    assert statuses == [ImportStatus.APPLIED] + [ImportStatus.ALREADY_IMPORTED] * 3
    assert _cash(app, "F001") == 10_000_000 - 123_456
    with app.uow() as uow:
        assert [b.status for b in uow.batches.listing(BROKER)] == ["applied", "applied"]


def test_a_different_batch_for_the_same_kind_and_date_is_refused(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(sqlite_app, tools, static_batch(tmp_path / "s"))
    _import(sqlite_app, tools, _trading(tmp_path, [execution("E1", "F001", "B", 100, "10.00")]))
    second = _trading(tmp_path, [execution("E1", "F001", "B", 100, "10.00")], batch_id="T2")
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, second)
    assert refused.value.rejections[0].rule is Rule.ONE_BATCH_PER_KIND_AND_DATE


def test_a_batch_id_reused_with_other_content_is_refused(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(sqlite_app, tools, static_batch(tmp_path / "s"))
    _import(sqlite_app, tools, _trading(tmp_path, [execution("E1", "F001", "B", 100, "10.00")]))
    other = _trading(tmp_path / "x", [execution("E9", "F001", "B", 100, "10.00")])
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, other)
    assert refused.value.rejections[0].rule is Rule.BATCH_ID_MUST_KEEP_ITS_CONTENT


@pytest.mark.parametrize(
    ("row", "line", "column"),
    [
        (execution("E2", "F001", "X", 100, "10.00"), 3, "side"),
        (execution("E2", "F001", "B", 100, "10.0001"), 3, "price"),
        (execution("E2", "F001", "B", 0, "10.00"), 3, "quantity"),
        (execution("E2", "F404", "B", 100, "10.00"), 3, "fund_account"),
        (execution("E1", "F001", "B", 100, "10.00"), 3, "market"),
    ],
)
def test_bad_input_is_refused_with_file_line_and_column_and_nothing_applied(
    sqlite_app: Application,
    tools: BackOfficeTools,
    tmp_path: Path,
    row: list[str],
    line: int,
    column: str,
) -> None:
    _import(sqlite_app, tools, static_batch(tmp_path / "s"))
    batch = _trading(tmp_path, [execution("E1", "F001", "B", 100, "10.00"), row])
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, batch)
    rejection = refused.value.rejections[0]
    assert (rejection.file, rejection.line, rejection.column) == ("executions.csv", line, column)
    assert _cash(sqlite_app, "F001") == 10_000_000


def test_a_tampered_file_fails_its_hash_and_a_missing_column_is_named(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    batch = static_batch(tmp_path / "s")
    with (batch / "clients.csv").open("a") as stream:
        stream.write("F003,CF003,normal,K001,,active\n")
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, batch)
    assert refused.value.rejections[0].rule is Rule.FILE_HASH_MUST_MATCH
    headless = write_batch(
        tmp_path / "h",
        kind="bank",
        business_date="2026-11-20",
        batch_id="K1",
        files={"bank_transfers.csv": [["X1", "F001", "in", "1.00", "K001"]]},
        headers={
            "bank_transfers.csv": ["transfer_id", "fund_account", "direction", "amount", "bank_id"]
        },
    )
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, headless)
    rejection = refused.value.rejections[0]
    assert (rejection.rule, rejection.line, rejection.column) == (
        Rule.COLUMN_MUST_BE_PRESENT,
        1,
        "booked_at",
    )


def test_opening_cash_that_does_not_balance_is_refused(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    batch = write_batch(
        tmp_path / "s",
        kind="static",
        business_date="2026-11-20",
        batch_id="S1",
        files={
            "special_accounts.csv": [["SA001", "K001", "client_settlement"]],
            "clients.csv": [["F001", "C1", "normal", "K001", "", "active"]],
            "opening.csv": [["F001", "CASH", "100.00"], ["SA001", "CASH", "99.99"]],
        },
    )
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, batch)
    assert refused.value.rejections[0].rule is Rule.OPENING_CASH_MUST_BALANCE


def test_transfers_in_and_out_move_the_special_account_and_withdrawals_are_bounded(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s"))
    rows = [
        ["X1", "F001", "in", "500.00", "K001", "2026-11-20T09:00:00+08:00"],
        ["X2", "F002", "out", "50000.01", "K001", "2026-11-20T09:05:00+08:00"],
    ]
    batch = write_batch(
        tmp_path / "k",
        kind="bank",
        business_date="2026-11-20",
        batch_id="K1",
        files={"bank_transfers.csv": rows},
    )
    with pytest.raises(BatchRejected) as refused:
        _import(app, any_tools, batch)
    assert refused.value.rejections[0].rule is Rule.WITHDRAWAL_MUST_NOT_EXCEED_WITHDRAWABLE
    assert refused.value.rejections[0].line == 3
    rows[1][3] = "50000.00"
    batch = write_batch(
        tmp_path / "k2",
        kind="bank",
        business_date="2026-11-20",
        batch_id="K1",
        files={"bank_transfers.csv": rows},
    )
    _import(app, any_tools, batch)
    assert (_cash(app, "F001"), _cash(app, "F002")) == (10_050_000, 0)
    with app.uow() as uow:
        special = uow.books.balances(broker_id=BROKER, as_of=DAY, account_prefix="special:")
        assert special.column("quantity").to_pylist() == [15_000_000 + 50_000 - 5_000_000]
        assert check_books(uow=uow, broker_id=BROKER, as_of=DAY) == []


def test_the_books_refuse_update_and_delete_at_the_database(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s"))
    # The opening is a bulk entry (postings in the columnar store): one relational entry too,
    # so that bo_postings has a row for its trigger to refuse.
    with app.uow() as uow:
        uow.books.post(
            JournalEntry(
                broker_id=BROKER,
                business_date=DAY,
                kind=EntryKind.CASH_ADJUSTMENT,
                idempotency_key="adjustment:one",
                source=Source(user="test"),
                postings=(Posting("client:F001", "CASH", -1), Posting("own_funds", "CASH", 1)),
            ),
            recorded_at=app.clock.now(),
        )
        uow.commit()
    for statement in (
        "UPDATE bo_postings SET quantity = quantity * 2",
        "UPDATE bo_entries SET postings_digest = NULL",
        "DELETE FROM bo_entries",
        "UPDATE bo_batch_status SET status = 'received'",
    ):
        with pytest.raises(Exception, match="append-only"), app.uow() as uow:
            uow.connection.execute(text(statement))


def test_incident_b_a_26_file_return_batch_retried_four_times_deducts_once(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    clients = tuple((f"F{i:03d}", "100000.00") for i in range(1, 8))
    _import(sqlite_app, tools, static_batch(tmp_path / "s", clients=clients))
    amounts = [
        "-40000.00",
        "-40000.00",
        "-40000.00",
        "-40000.00",
        "-40000.00",
        "-40000.00",
        "-32500.00",
    ]  # 272,500.00 across seven clients
    deductions = [
        [f"L{i}", fa, amount, "lending_dividend_deduction"]
        for i, ((fa, _), amount) in enumerate(zip(clients, amounts, strict=True))
    ]
    files: dict[str, list[list[str]]] = {"cash_adjustments.csv": deductions, "executions.csv": []}
    files |= {f"return_{n:02d}.csv": [[str(n)]] for n in range(24)}
    batch = write_batch(
        tmp_path / "return", kind="trading", business_date="2026-11-20", batch_id="R1", files=files
    )
    results = [_import(sqlite_app, tools, batch) for _ in range(4)]
    assert len(results[0].files_kept) == 24 and len(results[0].files_applied) == 2
    assert [r.status for r in results[1:]] == [ImportStatus.ALREADY_IMPORTED] * 3
    total = sum(10_000_000 - _cash(sqlite_app, fa) for fa, _ in clients)
    assert total == 27_250_000


def test_a_gb18030_batch_with_chinese_names_imports(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    batch = write_batch(
        tmp_path / "g",
        kind="static",
        business_date="2026-11-20",
        batch_id="G1",
        encoding="gb18030",
        files={
            "special_accounts.csv": [["SA001", "K001", "client_settlement"]],
            "clients.csv": [["F001", "客户甲", "normal", "K001", "0.0003", "active"]],
            "opening.csv": [["F001", "CASH", "10.00"], ["SA001", "CASH", "10.00"]],
        },
    )
    assert _import(sqlite_app, tools, batch).status is ImportStatus.APPLIED
    assert _cash(sqlite_app, "F001") == 1_000


def test_check_names_every_breach_of_books_tampered_with_by_an_insert(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _import(app, any_tools, static_batch(tmp_path / "s"))
    with app.uow() as uow:
        uow.connection.execute(
            text(
                "INSERT INTO bo_postings (entry_pk, broker_id, business_date, account, asset, "
                "quantity) SELECT entry_pk, broker_id, business_date, 'client:F002', 'CASH', "
                "6000000 FROM bo_entries"
            )
        )
        uow.commit()
    with app.uow() as uow:
        breaches = check_books(uow=uow, broker_id=BROKER, as_of=DAY)
    assert [b.describe() for b in breaches] == [
        f"entry_must_balance_per_asset: opening:{BROKER}/CASH (6000000)",
        "client_cash_must_not_be_negative: client:F002 (-1000000)",
        "client_cash_must_equal_special_reserve_and_transit: books (-6000000)",
    ]
