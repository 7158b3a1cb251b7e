"""Bulk entries keep their postings in the columnar store; every read answers as if they
were relational rows, and a tampered object is detected."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import text

from clearwatch.adapters.columnar import ColumnarIntegrityError
from clearwatch.adapters.db.backoffice import bulk_postings
from clearwatch.bootstrap import Application
from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.journal import (
    EntryKind,
    EntryNotBalanced,
    JournalEntry,
    Posting,
    Source,
)

DAY_0, DAY_1 = date(2026, 11, 19), date(2026, 11, 20)
BULK, ROWS = "BULK", "ROWS"  # the same postings, as a bulk entry and as relational rows

# Opening on D-1, trades on D: client cash and holdings credit-normal (a client's gain is
# negative); one client overdrawn and one short a share, so the invariant reads find them.
OPENING = [
    ("client:F001", acc.CASH, -1_000_000),
    ("client:F002", acc.CASH, -500_000),
    ("client:F002", "SH.600000", -300),
    ("special:S1", acc.CASH, 1_500_000),
    ("custody:SH", "SH.600000", 300),
]
TRADES = [
    ("client:F001", acc.CASH, 1_200_000),  # spends more than it has: negative cash
    ("client:F001", "SH.600000", -100),
    ("client:F002", "SH.600000", 400),  # sells more than it holds: negative holding
    ("client:F002", acc.CASH, -700_000),
    ("transit:SH", acc.CASH, -500_000),
    ("custody:SH", "SH.600000", -300),
]


def _entry(
    broker: str, kind: EntryKind, day: date, postings: tuple[Posting, ...] = ()
) -> JournalEntry:
    return JournalEntry(
        broker_id=broker,
        business_date=day,
        kind=kind,
        idempotency_key=f"{kind.value}:{broker}:{day}",
        source=Source(batch_ref=f"{broker}:B{day.day}", file_sha256="0" * 64),
        postings=postings,
        memo="test",
    )


def _table(rows: list[tuple[str, str, int]]) -> pa.Table:
    # Deliberately not in (account, asset) order: the store sorts.
    rows = list(reversed(rows))
    return pa.table(
        {
            "account": pa.array([r[0] for r in rows], pa.string()),
            "asset": pa.array([r[1] for r in rows], pa.string()),
            "quantity": pa.array([r[2] for r in rows], pa.int64()),
        }
    )


def _post_both_ways(app: Application) -> None:
    at = app.clock.now()
    transfer = (Posting("client:F001", acc.CASH, -50_000), Posting("special:S1", acc.CASH, 50_000))
    with app.uow() as uow:
        for day, kind, rows in (
            (DAY_0, EntryKind.OPENING, OPENING),
            (DAY_1, EntryKind.TRADE_SETTLEMENT, TRADES),
        ):
            uow.books.post_bulk(_entry(BULK, kind, day), _table(rows), recorded_at=at)
            postings = tuple(Posting(a, s, q) for a, s, q in rows)
            uow.books.post(_entry(ROWS, kind, day, postings), recorded_at=at)
        for broker in (BULK, ROWS):  # an ordinary entry beside them
            uow.books.post(_entry(broker, EntryKind.BANK_TRANSFER, DAY_1, transfer), recorded_at=at)
        uow.commit()


def _tamper_postings_of(app: Application, entry_key: str) -> None:
    """Flip one byte in the middle of the entry's stored postings object."""
    with app.uow() as uow:
        digest = uow.connection.execute(
            text("SELECT postings_digest FROM bo_entries WHERE idempotency_key = :k"),
            {"k": entry_key},
        ).scalar_one()
    stored = Path(app.columnar.uri(digest))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))


def test_a_bulk_entry_keeps_its_postings_in_the_columnar_store(app: Application) -> None:
    _post_both_ways(app)
    with app.uow() as uow:
        rows = uow.connection.execute(
            text(
                "SELECT e.postings_digest, e.postings_rows, count(p.entry_pk) "
                "FROM bo_entries e LEFT JOIN bo_postings p ON p.entry_pk = e.entry_pk "
                "WHERE e.broker_id = :b AND e.kind <> 'bank_transfer' "
                "GROUP BY e.entry_pk, e.postings_digest, e.postings_rows ORDER BY e.entry_pk"
            ),
            {"b": BULK},
        ).all()
        trades = uow.books.entry(f"trade_settlement:{BULK}:{DAY_1}")
    assert [(rows_, postings) for _, rows_, postings in rows] == [(5, 0), (6, 0)]
    assert all(app.columnar.exists(digest) for digest, _, _ in rows)
    stored = app.columnar.read_table(rows[1][0])
    assert stored.column("account").to_pylist() == sorted(a for a, _, _ in TRADES)
    assert trades is not None
    assert set(trades.postings) == {Posting(a, s, q) for a, s, q in TRADES}


def test_every_read_of_bulk_postings_equals_the_relational_answer(app: Application) -> None:
    _post_both_ways(app)

    def answers(broker: str) -> list[object]:
        with app.uow() as uow:
            books = uow.books
            return [
                books.balances(broker_id=broker, as_of=DAY_0).to_pylist(),
                books.balances(broker_id=broker, as_of=DAY_1).to_pylist(),
                books.balances(
                    broker_id=broker, as_of=DAY_1, account_prefix="client:", asset=acc.CASH
                ).to_pylist(),
                books.balances(
                    broker_id=broker, as_of=DAY_1, account_prefix="client:", exclude_trades_on=DAY_1
                ).to_pylist(),
                books.cash_sums_by_class(broker_id=broker, as_of=DAY_1),
                books.negative_client_balances(broker_id=broker, as_of=DAY_1),
                books.negative_client_balances(broker_id=broker, as_of=DAY_0),
                books.unbalanced_entries(broker_id=broker),
                books.movements(
                    broker_id=broker,
                    business_date=DAY_1,
                    kind=EntryKind.TRADE_SETTLEMENT.value,
                    account_prefix="transit:",
                ).to_pylist(),
                books.movements(
                    broker_id=broker,
                    business_date=DAY_1,
                    kind=EntryKind.BANK_TRANSFER.value,
                    account_prefix="special:",
                ).to_pylist(),
                # The broker's side, answered from the sums kept for the process.
                *(
                    books.balances(broker_id=broker, as_of=day, account_prefix=prefix).to_pylist()
                    for day in (DAY_0, DAY_1)
                    for prefix in ("special:", "custody:", "transit:", "receivable:")
                ),
                books.balances(
                    broker_id=broker, as_of=DAY_1, account_prefix="custody:", asset="SH.600000"
                ).to_pylist(),
                books.cash_sums_by_class(broker_id=broker, as_of=DAY_0),
            ]

    bulk, relational = answers(BULK), answers(ROWS)
    assert bulk == relational
    assert bulk[5] == [("client:F001", acc.CASH, -150_000), ("client:F002", "SH.600000", -100)]


def test_a_tampered_postings_object_is_detected(app: Application) -> None:
    _post_both_ways(app)
    _tamper_postings_of(app, f"opening:{BULK}:{DAY_0}")
    with app.uow() as uow, pytest.raises(ColumnarIntegrityError):
        uow.books.balances(broker_id=BULK, as_of=DAY_1)
    with app.uow() as uow, pytest.raises(ColumnarIntegrityError):
        uow.books.entry(f"opening:{BULK}:{DAY_0}")
    with app.uow() as uow:  # the relational books are untouched
        assert uow.books.negative_client_balances(broker_id=ROWS, as_of=DAY_0) == []


def test_an_unbalanced_bulk_entry_is_refused_and_nothing_is_posted(app: Application) -> None:
    off_by_one = [*OPENING[:-1], ("custody:SH", "SH.600000", 299)]
    with app.uow() as uow:
        with pytest.raises(EntryNotBalanced, match=r"SH\.600000"):
            uow.books.post_bulk(
                _entry(BULK, EntryKind.OPENING, DAY_0),
                _table(off_by_one),
                recorded_at=app.clock.now(),
            )
        assert not uow.books.has_entry(f"opening:{BULK}:{DAY_0}")


def test_the_negative_balance_search_is_reused_only_for_the_same_content(
    app: Application,
) -> None:
    """The check step asks what the batch's check just asked: the answer is kept by the
    objects' digests and the relational sums, so a new posting is never answered stale, and
    a tampered object is still caught."""
    _post_both_ways(app)
    with app.uow() as uow:
        first = uow.books.negative_client_balances(broker_id=BULK, as_of=DAY_1)
    kept = dict(bulk_postings._positive_searches)
    with app.uow() as uow:
        assert uow.books.negative_client_balances(broker_id=BULK, as_of=DAY_1) == first
    # Answered from what was kept: a new search would have stored a new table under its key.
    assert kept and all(bulk_postings._positive_searches[k] is v for k, v in kept.items())
    top_up = (Posting("client:F001", acc.CASH, -150_000), Posting("special:S1", acc.CASH, 150_000))
    with app.uow() as uow:
        entry = _entry(BULK, EntryKind.CASH_ADJUSTMENT, DAY_1, top_up)
        uow.books.post(entry, recorded_at=app.clock.now())
        uow.commit()
    with app.uow() as uow:
        assert uow.books.negative_client_balances(broker_id=BULK, as_of=DAY_1) == [
            ("client:F002", "SH.600000", -100)
        ]
    _tamper_postings_of(app, f"trade_settlement:{BULK}:{DAY_1}")
    with app.uow() as uow, pytest.raises(ColumnarIntegrityError):
        uow.books.negative_client_balances(broker_id=BULK, as_of=DAY_1)


def test_the_broker_side_sums_are_kept_by_content_and_still_checked(app: Application) -> None:
    """Settlement, both checks and the package ask the broker's accounts of the same objects:
    one scan serves them all, a new posting is never answered stale, and a tampered object is
    still caught on the next ask."""
    _post_both_ways(app)

    def transit_and_classes() -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
        with app.uow() as uow:
            return (
                uow.books.balances(
                    broker_id=BULK, as_of=DAY_1, account_prefix="transit:", asset=acc.CASH
                ).to_pylist(),
                uow.books.cash_sums_by_class(broker_id=BULK, as_of=DAY_1),
            )

    first = transit_and_classes()
    assert first[0] == [{"account": "transit:SH", "asset": acc.CASH, "quantity": -500_000}]
    kept = dict(bulk_postings._broker_side)
    assert transit_and_classes() == first
    assert kept and all(bulk_postings._broker_side[k] is v for k, v in kept.items())
    move = (Posting("special:S1", acc.CASH, -70_000), Posting("transit:SH", acc.CASH, 70_000))
    with app.uow() as uow:
        entry = _entry(BULK, EntryKind.CSDC_SETTLEMENT, DAY_1, move)
        uow.books.post(entry, recorded_at=app.clock.now())
        uow.commit()
    transit, classes = transit_and_classes()
    assert transit == [{"account": "transit:SH", "asset": acc.CASH, "quantity": -430_000}]
    before = dict(first[1])
    assert dict(classes) == before | {
        "special:": before["special:"] - 70_000,
        "transit:": before["transit:"] + 70_000,
    }
    _tamper_postings_of(app, f"trade_settlement:{BULK}:{DAY_1}")
    with app.uow() as uow, pytest.raises(ColumnarIntegrityError):
        uow.books.balances(broker_id=BULK, as_of=DAY_1, account_prefix="transit:")
    with app.uow() as uow, pytest.raises(ColumnarIntegrityError):
        uow.books.unbalanced_entries(broker_id=BULK)  # the entry's kept sums: checked too


def test_the_clients_cash_is_kept_by_the_negative_search_and_still_checked(
    app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The package asks the clients' cash of the objects the batch's check has just searched,
    and the check asks the receivables: both are answered from that search's one grouping,
    the relational sums added as ever; a holding that only a relational posting turns
    negative is still found; a tampered object is still caught."""
    for kept in (
        bulk_postings._positive_searches,
        bulk_postings._client_cash,
        bulk_postings._broker_side,
    ):
        kept.clear()  # earlier tests may have kept answers about the same objects
    _post_both_ways(app)

    def cash(broker: str) -> list[dict[str, Any]]:
        with app.uow() as uow:
            return uow.books.balances(
                broker_id=broker, as_of=DAY_1, account_prefix="client:", asset=acc.CASH
            ).to_pylist()

    def negative(broker: str) -> list[tuple[str, str, int]]:
        with app.uow() as uow:
            return uow.books.negative_client_balances(broker_id=broker, as_of=DAY_1)

    def receivables_and_classes(broker: str) -> tuple[object, ...]:
        with app.uow() as uow:
            return (
                uow.books.balances(
                    broker_id=broker, as_of=DAY_1, account_prefix="receivable:", asset=acc.CASH
                ).to_pylist(),
                uow.books.cash_sums_by_class(broker_id=broker, as_of=DAY_1),
            )

    expected = cash(ROWS), receivables_and_classes(ROWS)
    assert negative(BULK) == negative(ROWS)
    with monkeypatch.context() as patched:  # no scan of the objects is needed any more

        def no_scan(*_: object) -> str:
            raise AssertionError("the objects were scanned again")

        patched.setattr(bulk_postings.BulkPostings, "_scans", no_scan)
        assert (cash(BULK), receivables_and_classes(BULK)) == expected
    assert expected[0][0] == {"account": "client:F001", "asset": acc.CASH, "quantity": 150_000}
    # F001 holds 100 shares in the objects; a relational entry takes 150 away from it.
    taken = (Posting("client:F001", "SH.600000", 150), Posting("custody:SH", "SH.600000", -150))
    with app.uow() as uow:
        for broker in (BULK, ROWS):
            entry = _entry(broker, EntryKind.CASH_ADJUSTMENT, DAY_1, taken)
            uow.books.post(entry, recorded_at=app.clock.now())
        uow.commit()
    assert negative(BULK) == negative(ROWS)
    assert ("client:F001", "SH.600000", -50) in negative(BULK)
    _tamper_postings_of(app, f"trade_settlement:{BULK}:{DAY_1}")
    with pytest.raises(ColumnarIntegrityError):
        cash(BULK)
