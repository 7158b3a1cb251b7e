"""Imports at once, as two importers would run them: one batch per kind and date, no traceback.

Each round, two importers start together on one store, each with its own engine as separate
processes would, on a new date: with two different bank batches for that date (the other a
900,000.00 withdrawal nobody approved as a correction) exactly one applies and the other is
refused by name; with the same batch twice, one applies and the other is `already_imported`.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

from clearwatch.bootstrap import Application, build_application, build_backoffice_tools
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.services.backoffice.import_batch import ImportResult, import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from tests.backoffice_batches import BANK, BROKER, static_batch, write_batch

ROUNDS = 50
SAME_BATCH_ROUNDS = 10  # the same write transaction and indexes decide it: fewer rounds do
FIRST_DAY = date(2026, 11, 20)
IMPORTERS = 2
JOIN_SECONDS = 120


def _bank_batch(root: Path, day: date, batch_id: str, direction: str, amount: str) -> Path:
    return write_batch(
        root / batch_id,
        kind="bank",
        business_date=day.isoformat(),
        batch_id=batch_id,
        files={
            "bank_transfers.csv": [
                [f"X-{batch_id}", "F001", direction, amount, BANK, f"{day}T10:00:00+08:00"]
            ]
        },
    )


def _race(
    racers: list[tuple[Application, BackOfficeTools]], directories: list[Path]
) -> list[object]:
    """Every importer waits at the barrier, then imports; each outcome is a result, a
    refusal, or whatever else it raised (which the test then shows)."""
    barrier = threading.Barrier(len(directories))
    outcomes: list[object] = [None] * len(directories)

    def run(index: int) -> None:
        app, tools = racers[index]
        barrier.wait()
        try:
            outcomes[index] = import_batch(
                directory=directories[index], uow=app.uow(), tools=tools, at=app.clock.now()
            )
        except Exception as error:  # the test shows any other outcome as it was raised
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(directories))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    return outcomes


def _name(outcome: object) -> str:
    if isinstance(outcome, ImportResult):
        return outcome.status.value
    if isinstance(outcome, BatchRejected):
        return outcome.rejections[0].rule.value
    return repr(outcome)


def _rounds(
    app: Application, tmp_path: Path, rounds: int, expected: list[str], *, same_batch: bool
) -> None:
    """Each round a new date: two importers start together; the outcomes are `expected`,
    one bank batch holds the date, and one transfer is in the books for it."""
    clients = (("F001", "100000000.00"), ("F002", "50000.00"))
    opening = static_batch(tmp_path / "s", clients=clients)
    tools = build_backoffice_tools(app.columnar, threads=1)
    import_batch(directory=opening, uow=app.uow(), tools=tools, at=app.clock.now())
    apps = [build_application(app.settings, app.clock) for _ in range(IMPORTERS)]
    racers = [(racer, build_backoffice_tools(racer.columnar, threads=1)) for racer in apps]
    try:
        for round_no in range(rounds):
            day = FIRST_DAY + timedelta(days=round_no)
            deposit = _bank_batch(tmp_path, day, f"IN{round_no}", "in", "100.00")
            other = deposit if same_batch else _bank_batch(
                tmp_path, day, f"OUT{round_no}", "out", "900000.00"
            )  # fmt: skip
            outcomes = sorted(_name(o) for o in _race(racers, [deposit, other]))
            assert outcomes == sorted(expected), (round_no, outcomes)
            with app.uow() as uow:
                assert len(uow.batches.of_kind_and_date(BROKER, "bank", day)) == 1
                transfers = uow.books.movements(
                    broker_id=BROKER, business_date=day, kind="bank_transfer", account_prefix=""
                )
            # One transfer's two postings: the loser posted nothing.
            assert transfers.num_rows == 2, (round_no, transfers.to_pylist())
    finally:
        for racer in apps:
            racer.engine.dispose()


def test_two_different_batches_for_one_kind_and_date_at_once_apply_one_and_refuse_the_other(
    app: Application, tmp_path: Path
) -> None:
    expected = ["applied", Rule.ONE_BATCH_PER_KIND_AND_DATE.value]
    _rounds(app, tmp_path, ROUNDS, expected, same_batch=False)


def test_the_same_batch_imported_twice_at_once_is_applied_once_and_already_imported_once(
    app: Application, tmp_path: Path
) -> None:
    _rounds(app, tmp_path, SAME_BATCH_ROUNDS, ["applied", "already_imported"], same_batch=True)
