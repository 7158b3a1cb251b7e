"""Drill B (duplicate import): a 26-file return batch retried four times, status hand-edited.

The incident: returning 26 data files from the fast trading system to the central system failed;
staff hand-edited the import status and re-ran it; it took four tries. The securities-lending
dividend deduction file was imported every time and the duplicates were not removed: seven
institutional clients were charged about 1,090,100 instead of 272,500, found two days later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from clearwatch.domain.backoffice.approval_content import correction_content
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.money import format_fen
from clearwatch.services.backoffice.books_reference import client_cash_balances
from clearwatch.services.backoffice.import_batch import (
    CORRECTION_KIND,
    ImportResult,
    import_batch,
    read_manifest,
)
from clearwatch.services.drills.harness import (
    DRILL_BROKER,
    DRILL_DAY,
    DrillClock,
    DrillLog,
    DrillReport,
    DrillStore,
    approve_with_segregation,
    audit_intact,
    money,
    register_people,
    static_batch,
    write_batch,
)

# The deduction file: seven institutional clients, 272,500.00 in all.
DEDUCTIONS_FEN = {
    "F1001": 85_000_00,
    "F1002": 62_500_00,
    "F1003": 41_000_00,
    "F1004": 33_000_00,
    "F1005": 24_000_00,
    "F1006": 15_500_00,
    "F1007": 11_500_00,
}
DEDUCTION_TOTAL_FEN = 272_500_00
OPENING_FEN = 2_000_000_00  # each client's cash before the deduction
FILES_IN_BATCH = 26
DEDUCTION_FILE = "cash_adjustments.csv"
DAMAGED_FILE = "return_14.csv"
HAND_EDITS = (
    "UPDATE bo_batch_status SET status = 'failed'",
    "DELETE FROM bo_batch_files WHERE role = 'cash_adjustments.csv'",
    "DELETE FROM bo_applied_records",
)


def _files(*, regenerated: bool = False) -> dict[str, list[list[str]]]:
    """The deduction file and the 25 other files the trading system returns.

    `regenerated`: the trading system wrote the deduction file again, same records in another
    order, so the file's hash differs and only the records' keys show it is the same."""
    deductions = [
        [f"LD-{account}", account, format_fen(-amount), "lending_dividend_deduction"]
        for account, amount in DEDUCTIONS_FEN.items()
    ]
    files = {DEDUCTION_FILE: deductions[::-1] if regenerated else deductions}
    for number in range(2, FILES_IN_BATCH + 1):
        files[f"return_{number:02d}.csv"] = [[str(row), f"record {row}"] for row in range(1, 4)]
    return files


def _batch(
    store: DrillStore,
    name: str,
    batch_id: str,
    *,
    damaged: str | None = None,
    corrects_batch_id: str | None = None,
    regenerated: bool = False,
) -> Path:
    return write_batch(
        store.workdir / name,
        kind="trading",
        batch_id=batch_id,
        files=_files(regenerated=regenerated),
        damaged=damaged,
        corrects_batch_id=corrects_batch_id,
    )


def _balances(store: DrillStore) -> dict[str, int]:
    with store.read_uow() as uow:
        table = client_cash_balances(uow, DRILL_BROKER, DRILL_DAY)
    return {
        str(a): int(b)
        for a, b in zip(
            table.column("fund_account").to_pylist(),
            table.column("balance").to_pylist(),
            strict=True,
        )
    }


def _charged(store: DrillStore) -> dict[str, int]:
    balances = _balances(store)
    return {account: OPENING_FEN - balances.get(account, 0) for account in DEDUCTIONS_FEN}


def _try(
    store: DrillStore, clock: DrillClock, log: DrillLog, number: int, directory: Path
) -> ImportResult | BatchRejected:
    clock.advance(timedelta(minutes=20))
    try:
        result = import_batch(
            directory=directory, uow=store.uow(), tools=store.tools, at=clock.now()
        )
    except BatchRejected as rejected:
        first = rejected.rejections[0]
        log.say(
            f"try {number}: the batch is refused whole, nothing applied ({first.describe()})",
            control=first.rule.value,
        )
        return rejected
    log.say(
        f"try {number}: {result.status.value}: {len(result.files_applied)} files applied, "
        f"{len(result.files_kept)} kept, {len(result.files_already_imported)} recognised as "
        f"already imported, {result.records_skipped} records skipped, "
        f"{result.entries_posted} entries posted",
        control=None if result.entries_posted else "idempotent import (batch, file, record)",
    )
    return result


def run_duplicate_import_drill(*, store: DrillStore) -> DrillReport:
    log = DrillLog(clients=frozenset(DEDUCTIONS_FEN))
    clock = DrillClock(
        datetime.combine(DRILL_DAY, datetime.min.time(), SHANGHAI) + timedelta(hours=17)
    )
    register_people(store, clock.now())
    static = static_batch(
        store.workdir / "static", cash_by_client={a: OPENING_FEN for a in DEDUCTIONS_FEN}
    )
    import_batch(directory=static, uow=store.uow(), tools=store.tools, at=clock.now())
    log.say(
        f"Seven institutional clients hold {money(OPENING_FEN)} each; the return batch from the "
        f"trading system has {FILES_IN_BATCH} files, among them the securities-lending dividend "
        f"deduction file ({money(DEDUCTION_TOTAL_FEN)} in all)."
    )
    first = _try(store, clock, log, 1, _batch(store, "try1", "RET-1", damaged=DAMAGED_FILE))
    untouched = _charged(store)
    log.check(
        "a damaged batch applies nothing",
        isinstance(first, BatchRejected) and not any(untouched.values()),
        money(sum(untouched.values())),
    )
    second = _try(store, clock, log, 2, _batch(store, "try2", "RET-1"))
    _hand_edits(store, log)
    third = _try(store, clock, log, 3, _batch(store, "try3", "RET-1"))
    fourth = _correction(store, clock, log)
    charged = _charged(store)
    total = sum(charged.values())
    log.say(
        f"the seven clients are charged {money(total)} in all "
        f"(the incident: about 1,090,100, four times the file)",
        control="each file applied once; each record applied once",
    )
    log.check(
        "the deduction file's total is charged once", total == DEDUCTION_TOTAL_FEN, money(total)
    )
    log.check(
        "each client is charged its own line once",
        charged == DEDUCTIONS_FEN,
        ", ".join(f"{a} {money(v)}" for a, v in charged.items()),
    )
    results = [r for r in (first, second, third, fourth) if isinstance(r, ImportResult)]
    posted = sum(result.entries_posted for result in results)
    log.check(
        "each deduction record is posted once", posted == len(DEDUCTIONS_FEN), f"{posted} entries"
    )
    _retries_post_nothing(log, third, fourth)
    with store.read_uow() as uow:
        applied_files = uow.batches.applied_files(DRILL_BROKER, DEDUCTION_FILE)
    hashes = [applied.sha256 for applied in applied_files]
    log.check(
        "no file is applied twice",
        len(hashes) == len(set(hashes)),
        f"{len(hashes)} versions of {DEDUCTION_FILE} applied, {len(set(hashes))} distinct",
    )
    audit_intact(store, log)
    return DrillReport("duplicate-import", tuple(log.lines), tuple(log.checks), log.clients)


def _retries_post_nothing(
    log: DrillLog, third: ImportResult | BatchRejected, fourth: ImportResult | BatchRejected
) -> None:
    """The retry of the same batch and the approved correction are let in and post nothing:
    the one is known by its batch id, the other file by file and record by record."""
    if isinstance(third, BatchRejected) or isinstance(fourth, BatchRejected):
        log.check("the retries post nothing", False, "a retry was refused")
        return
    log.check(
        "the retries post nothing",
        third.entries_posted == 0 and fourth.entries_posted == 0,
        f"retry: {third.status.value}, {third.entries_posted} entries; "
        f"correction: {len(fourth.files_already_imported)} files already imported, "
        f"{fourth.records_skipped} records skipped, {fourth.entries_posted} entries",
    )


def _hand_edits(store: DrillStore, log: DrillLog) -> None:
    log.say("staff believe the import failed and go to the database console to reset its status")
    refused = 0
    for statement in HAND_EDITS:
        error = store.hand_edit(statement)
        if error is not None:
            refused += 1
            log.say(f"  {statement}: refused ({error})", control="append-only trigger")
        else:
            log.say(f"  {statement}: it went through")
    log.check(
        "hand edits of the import status are refused",
        refused == len(HAND_EDITS),
        f"{refused}/{len(HAND_EDITS)}",
    )


def _correction(
    store: DrillStore, clock: DrillClock, log: DrillLog
) -> ImportResult | BatchRejected:
    """Try 4: re-packaged under a new id; only an approved correction gets in; it adds nothing."""
    repackaged = _try(store, clock, log, 4, _batch(store, "try4", "RET-1-RETRY"))
    log.check(
        "a second batch for the same kind and date is refused",
        isinstance(repackaged, BatchRejected),
        repackaged.rejections[0].rule.value
        if isinstance(repackaged, BatchRejected)
        else repackaged.status.value,
    )
    directory = _batch(store, "try4b", "RET-1-CORR", corrects_batch_id="RET-1", regenerated=True)
    approve_with_segregation(
        store,
        log,
        kind=CORRECTION_KIND,
        subject_ref=read_manifest(directory).subject_ref(),
        at=clock.now(),
        content=correction_content(read_manifest(directory)),
    )
    return _try(store, clock, log, 4, directory)
