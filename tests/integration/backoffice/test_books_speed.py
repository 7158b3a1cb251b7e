"""The faster paths of the journal give what the row-by-row paths gave."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.invariants import cash_totals
from clearwatch.domain.backoffice.journal import EntryKind, JournalEntry, Posting, Source
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.run_eod import EodRequest, run_eod
from tests.backoffice_batches import BROKER
from tests.integration.backoffice.eod_days import DAY_1, DAY_2, inbox_day_1, inbox_day_2


def _entry(key: str, fund_account: str, amount: int) -> JournalEntry:
    return JournalEntry(
        broker_id=BROKER,
        business_date=date(2026, 11, 20),
        kind=EntryKind.BANK_TRANSFER,
        idempotency_key=key,
        source=Source(batch_ref=f"{BROKER}:B1", file_sha256="0" * 64),
        postings=(
            Posting(acc.client(fund_account), acc.CASH, -amount),
            Posting(acc.special("S1"), acc.CASH, amount),
        ),
        memo="bank transfer in",
    )


def test_records_posted_together_are_each_entry_with_its_key_applied(app: Application) -> None:
    entries = [_entry(f"transfer:{BROKER}:T{i}", f"F{i % 3}", 100 + i) for i in range(7)]
    keys = [f"T{i}" for i in range(7)]
    with app.uow() as uow:
        uow.books.post_records(
            entries, role="bank_transfers.csv", keys=keys, recorded_at=app.clock.now()
        )
        uow.commit()
    with app.uow() as uow:
        assert uow.books.applied_keys(BROKER, "bank_transfers.csv", keys) == set(keys)
        for entry in entries:
            stored = uow.books.entry(entry.idempotency_key)
            assert stored is not None
            assert set(stored.postings) == set(entry.postings)
        client_cash = uow.books.balances(
            broker_id=BROKER, as_of=date(2026, 11, 20), account_prefix="client:", asset=acc.CASH
        )
    # F0 got T0, T3 and T6: 100 + 103 + 106 fen (client cash is credit-normal).
    assert client_cash.to_pylist()[0] == {"account": "client:F0", "asset": "CASH", "quantity": -309}


def test_cash_summed_per_class_in_the_database_equals_summing_every_account(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    for day, inbox in ((DAY_1, inbox_day_1), (DAY_2, inbox_day_2)):
        request = EodRequest(
            business_date=date.fromisoformat(day),
            inbox=inbox(tmp_path / "in"),
            out_root=tmp_path / "out",
        )
        run_eod(uow=app.uow(), tools=any_tools, clock=app.clock, request=request)
    for day in (DAY_1, DAY_2):
        with app.uow() as uow:
            cash = uow.books.balances(
                broker_id=BROKER, as_of=date.fromisoformat(day), asset=acc.CASH
            )
            per_class = uow.books.cash_sums_by_class(
                broker_id=BROKER, as_of=date.fromisoformat(day)
            )
        per_account = cash_totals(
            zip(
                cash.column("account").to_pylist(), cash.column("quantity").to_pylist(), strict=True
            )
        )
        assert len(per_class) >= 4  # client, special, reserve and more: a real mix of classes
        assert cash_totals(per_class) == per_account
