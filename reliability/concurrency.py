"""Concurrency matrix: submitters, run-days, importers and approvers at once, on one store each.

    python -m reliability.concurrency --workers 4 --rounds 5 [--postgres URL]

Each worker is a thread with its own application (its own connection pool and engines), as a
separate server process would have, and all of a round's workers start together at a barrier.
On the monitor's store:

- **submitters**: every package of the round (each institution, each date) is submitted by two
  submitters at once: exactly one `accepted`, one `duplicate`, never a rejection;
- **run-days**: run the round's days over and over while packages arrive, then once more
  each at the same moment: no error, versions numbered 1, 2, 3 … without a gap or a repeat,
  and a last run alone finds nothing new to record.

On the back office's store (a deployment of its own, with its own people):

- **importers**: two different bank batches per date (deposits, withdrawals) and each of them
  imported by every importer: per date exactly one batch applied, every other import
  `already_imported` or refused as `one_batch_per_kind_and_date_…`;
- **approvers**: makers request manual adjustments while every checker tries to approve every
  pending request: each request approved exactly once, every other attempt refused by name;
  the approved adjustments are then imported (by every importer at once, one batch).

Totals are exact to the fen: client cash moves by the winning batches' transfers plus the
approved adjustments; the monitor holds exactly the round's packages, their rows exactly.
A worker that raises anything but a named refusal is an unhandled error; a worker still
running after `JOIN_SECONDS` is a deadlock. The matrix runs on SQLite, and on PostgreSQL
when a URL is given (`--postgres`, or `CLEARWATCH_TEST_POSTGRES_URL`), each store in a schema
of its own that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import AccessRefused, AccessRejection, ApprovalStatus
from clearwatch.domain.backoffice.approval_content import adjustment_content
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS, ColumnSpec, FileSpec, ValueType
from clearwatch.services.access.approvals import (
    approve_committed,
    list_requests,
    request_approval_committed,
)
from clearwatch.services.backoffice.import_batch import ImportResult, import_batch
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.submit_package import submit_package
from reliability.fuzz_inputs import BANK, BROKER, CLIENTS, csv_bytes, file_entry
from reliability.identity import SYSTEM_ACTOR, submit_gate
from reliability.stores import (
    STORE_TIME,
    checker_id,
    maker_id,
    open_books,
    open_store,
    postgres_schema,
    same_store,
    set_up_monitor,
    set_up_people,
    write_batch,
)

JOIN_SECONDS = 600  # far past any round; a worker still running then is stuck
FIRST_DAY = date(2027, 1, 4)  # a Monday
DAYS_PER_ROUND = 2
ADJUSTMENTS_PER_MAKER = 3
PACKAGE_ROWS = 3
POSTGRES_VARIABLE = "CLEARWATCH_TEST_POSTGRES_URL"
INSTITUTIONS = {
    "B001": "broker_daily",
    "B002": "broker_daily",
    "K001": "bank_daily",
    "K002": "bank_daily",
    "C001": "csdc_daily",
}


class MatrixFailed(AssertionError):
    """A worker raised an unhandled error, got stuck, or the totals are not exact."""


@dataclass
class Tally:
    """What the workers of a round saw, by outcome; and what went wrong."""

    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, outcome: str) -> None:
        with self.lock:
            self.outcomes[outcome] += 1

    def problem(self, message: str) -> None:
        with self.lock:
            self.problems.append(message)


def run_workers(workers: Sequence[tuple[str, Callable[[], None]]], tally: Tally) -> None:
    """Start every worker at one barrier; an exception that is not a refusal is recorded as
    unhandled (a refusal a worker does not expect is recorded by the worker itself)."""
    barrier = threading.Barrier(len(workers))

    def guarded(name: str, work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except Exception as error:  # the matrix reports it; that is its purpose
            tally.problem(f"{name}: unhandled {type(error).__name__}: {error} [{_where(error)}]")

    threads = [threading.Thread(target=guarded, args=w, name=w[0], daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for thread in threads:
        if thread.is_alive():
            tally.problem(f"{thread.name}: still running after {JOIN_SECONDS} s (deadlock?)")


def _where(error: BaseException) -> str:
    """The innermost frames of the error's first cause: where it really went wrong."""
    while error.__cause__ is not None:
        error = error.__cause__
    frames = traceback.extract_tb(error.__traceback__)[-8:]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))


def round_days(round_no: int) -> list[date]:
    first = FIRST_DAY + timedelta(weeks=round_no)
    return [first + timedelta(days=n) for n in range(DAYS_PER_ROUND)]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise MatrixFailed(message)


# -- the monitor ------------------------------------------------------------------------


def write_packages(root: Path, days: list[date]) -> dict[str, Path]:
    """One valid package per institution and date; the amounts differ by date."""
    packages = {}
    for day in days:
        for institution, kind in INSTITUTIONS.items():
            files = {spec.name: _package_file(spec, day) for spec in PACKAGE_SPECS[kind].files}
            directory = root / f"{institution}-{day}"
            _write_package(directory, kind, institution, day, files)
            packages[f"{institution} {day}"] = directory
    return packages


def _package_file(spec: FileSpec, day: date) -> bytes:
    """A few rows, each value valid for its column; keys unique by row."""
    enum_keys = [c for c in spec.columns if c.name in spec.key and c.value_type is ValueType.ENUM]
    count = min([PACKAGE_ROWS] + [len(c.choices) for c in enum_keys])
    rows = [[_value(column, i, day) for column in spec.columns] for i in range(count)]
    return csv_bytes(spec.column_names, rows)


def _value(column: ColumnSpec, i: int, day: date) -> str:
    match column.value_type:
        case ValueType.ENUM:
            return column.choices[i % len(column.choices)]
        case ValueType.MONEY | ValueType.POSITIVE_MONEY:
            return f"{day.day * 100 + i + 1}.00"
        case ValueType.TIMESTAMP:
            return f"{day}T10:00:00+08:00"
        case ValueType.OPTIONAL_TEXT:
            return ""
        case _:
            return f"{column.name[:2].upper()}{i}"


def _write_package(
    directory: Path, kind: str, institution: str, day: date, files: dict[str, bytes]
) -> None:
    directory.mkdir(parents=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    manifest = {
        "format": "clearwatch.package/1",
        "kind": kind,
        "institution_id": institution,
        "business_date": day.isoformat(),
        "sequence": 1,
        "encoding": "utf-8",
        "files": [file_entry(n, d, "utf-8") for n, d in sorted(files.items())],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def submitter(app: Application, packages: list[tuple[str, Path]], tally: Tally) -> None:
    for label, directory in packages:
        institution = label.split()[0]
        receipt = submit_package(
            directory=str(directory),
            context=app.submit_context(),
            gate=submit_gate(app, institution),
        )
        tally.count(f"submit {receipt.status.value}")
        if receipt.status is ReceiptStatus.REJECTED:
            tally.problem(f"submit {label} rejected: {[e.code.value for e in receipt.errors]}")


def run_dayer(app: Application, days: list[date], done: threading.Event, tally: Tally) -> None:
    """Run the days while packages arrive, then once more when every submitter is done."""
    while not done.is_set():
        for day in days:
            outcome = run_day(business_date=day, actor=SYSTEM_ACTOR, context=app.run_day_context())
            tally.count(f"run_day {'recorded' if outcome.recorded else 'unchanged'}")
    for day in days:
        outcome = run_day(business_date=day, actor=SYSTEM_ACTOR, context=app.run_day_context())
        tally.count(f"run_day {'recorded' if outcome.recorded else 'unchanged'}")


def check_monitor(app: Application, packages: dict[str, Path], days: list[date]) -> None:
    """Exactly the round's packages, once each, with exactly their rows; versions without a
    gap or repeat; a last run alone records nothing new."""
    with app.engine.connect() as connection:
        for day in days:
            count = connection.execute(
                text("select count(*) from monitor_packages where business_date = :d"), {"d": day}
            ).scalar_one()
            _expect(count == len(INSTITUTIONS), f"{count} packages stored for {day}")
            versions = (
                connection.execute(
                    text(
                        "select result_version from monitor_runs where business_date = :d "
                        "order by result_version"
                    ),
                    {"d": day},
                )
                .scalars()
                .all()
            )
            _expect(list(versions) == list(range(1, len(versions) + 1)), f"versions {versions}")
        rows = connection.execute(
            text(
                "select coalesce(sum(f.rows), 0) from monitor_package_files f join "
                "monitor_packages p on p.package_id = f.package_id "
                "where p.business_date in :days"
            ).bindparams(_expanding("days")),
            {"days": days},
        ).scalar_one()
    expected_rows = sum(_data_rows(directory) for directory in packages.values())
    _expect(rows == expected_rows, f"{rows} rows stored, {expected_rows} submitted")
    for day in days:
        last = run_day(business_date=day, actor=SYSTEM_ACTOR, context=app.run_day_context())
        _expect(not last.recorded, f"a last run of {day} alone found something new")


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def _data_rows(directory: Path) -> int:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return sum(int(entry["rows"]) for entry in manifest["files"])


# -- the back office --------------------------------------------------------------------


def write_bank_batches(root: Path, days: list[date]) -> list[tuple[Path, int]]:
    """Per date, deposits and withdrawals as two different bank batches (one will win):
    each batch and what it moves client cash by, in fen."""
    header = ("transfer_id", "fund_account", "direction", "amount", "bank_id", "booked_at")
    batches = []
    for day in days:
        for direction, sign in (("in", 1), ("out", -1)):
            rows = [
                [
                    f"X-{day}-{direction}-{n}",
                    client,
                    direction,
                    f"{(n + 1) * 100}.00",
                    BANK,
                    f"{day}T10:00:00+08:00",
                ]
                for n, client in enumerate(CLIENTS)
            ]
            moved = sign * sum((n + 1) * 100_00 for n in range(len(CLIENTS)))
            files = {"bank_transfers.csv": csv_bytes(header, rows)}
            directory = root / f"bank-{day}-{direction}"
            write_batch(directory, "bank", day, f"K-{day}-{direction}", files)
            batches.append((directory, moved))
    return batches


def importer(app: Application, batches: list[Path], tally: Tally) -> None:
    for directory in batches:
        try:
            result: ImportResult = import_batch(
                directory=directory,
                uow=app.uow(),
                tools=app.backoffice_tools,
                at=STORE_TIME,
                actor=SYSTEM_ACTOR,
            )
            tally.count(f"import {result.status.value}")
        except BatchRejected as refused:
            rule = refused.rejections[0].rule
            tally.count(f"import refused {rule.value}")
            if rule is not Rule.ONE_BATCH_PER_KIND_AND_DATE:
                tally.problem(f"import {directory.name} refused: {refused}")


def maker(app: Application, number: int, round_no: int, tally: Tally) -> None:
    for n in range(ADJUSTMENTS_PER_MAKER):
        adjustment_id, client = _adjustment(number, round_no, n)
        request_approval_committed(
            uow=app.uow(),
            kind="manual_adjustment",
            subject_ref=f"adjustment:{BROKER}:{adjustment_id}",
            payload=adjustment_content(
                fund_account=client, amount_fen=_adjusted_fen(n), reason="manual"
            ),
            maker=maker_id(number),
            at=app.real_clock.now(),
        )
        tally.count("request made")


def _adjustment(maker_no: int, round_no: int, n: int) -> tuple[str, str]:
    return f"ADJ-{round_no}-{maker_no}-{n}", CLIENTS[(maker_no + n) % len(CLIENTS)]


def _adjusted_fen(n: int) -> int:
    return (n + 1) * 1_00  # +1.00, +2.00, +3.00: small, and exact to check


def checker(app: Application, number: int, expected: int, tally: Tally) -> None:
    """Approve every pending request, until the round's requests are all decided."""
    deadline = time.monotonic() + JOIN_SECONDS / 2
    while time.monotonic() < deadline:
        requests = list_requests(uow=app.read_uow())
        pending = [r for r in requests if r.status is ApprovalStatus.PENDING]
        if not pending and len(requests) >= expected:
            return
        for request in pending:
            try:
                approve_committed(
                    uow=app.uow(),
                    request_id=request.request_id,
                    checker=checker_id(number),
                    at=app.real_clock.now(),
                )
                tally.count("approve approved")
            except AccessRefused as refused:
                tally.count(f"approve refused {refused.rule}")
                if refused.rejection is not AccessRejection.REQUEST_MUST_BE_PENDING:
                    tally.problem(f"approval {request.request_id} refused: {refused}")
        time.sleep(0.01)
    tally.problem(f"checker {number}: requests still pending at the deadline")


def write_adjustments(root: Path, day: date, makers: int, round_no: int) -> tuple[Path, int]:
    """The round's approved manual adjustments as one trading batch, and their total in fen."""
    rows, total = [], 0
    for number in range(makers):
        for n in range(ADJUSTMENTS_PER_MAKER):
            adjustment_id, client = _adjustment(number, round_no, n)
            rows.append([adjustment_id, client, f"{_adjusted_fen(n) // 100}.00", "manual"])
            total += _adjusted_fen(n)
    header = ("adjustment_id", "fund_account", "amount", "reason")
    directory = root / f"adjustments-{day}"
    write_batch(
        directory, "trading", day, f"T-{day}", {"cash_adjustments.csv": csv_bytes(header, rows)}
    )
    return directory, total


def client_cash_fen(app: Application, day: date) -> int:
    with app.uow() as uow:
        table = uow.books.balances(
            broker_id=BROKER, as_of=day, account_prefix="client:", asset="CASH"
        )
    # Client cash is what the broker owes: credit-normal, so its postings sum negative.
    return -int(sum(table.column("quantity").to_pylist()))


def check_approvals(app: Application, expected: int) -> None:
    """Every request decided once: approved, by a checker who is not its maker."""
    requests = list_requests(uow=app.read_uow())
    _expect(len(requests) == expected, f"{len(requests)} requests, {expected} made")
    for request in requests:
        _expect(
            request.status is ApprovalStatus.APPROVED,
            f"request {request.request_id} is {request.status.value}",
        )
        _expect(request.checker not in (None, request.maker), f"{request.request_id} self-checked")


# -- a round ----------------------------------------------------------------------------


@dataclass
class Stores:
    monitor: Application
    back_office: Application
    work: Path


def monitor_workers(
    stores: Stores, workers: int, round_no: int, tally: Tally, stack: ExitStack
) -> tuple[list[tuple[str, Callable[[], None]]], Callable[[], None]]:
    """The round's submitters and run-days, and the check of what they left."""
    days = round_days(round_no)
    packages = write_packages(stores.work / f"round-{round_no}" / "packages", days)
    labelled = sorted(packages.items())
    done = threading.Event()
    finished = Counter[str]()
    lock = threading.Lock()

    def submit(number: int, app: Application) -> Callable[[], None]:
        # Submitter n sends every package whose index is n or n + 1 (mod workers): each
        # package is sent by two submitters at once.
        mine = [p for i, p in enumerate(labelled) if (i - number) % workers in (0, 1 % workers)]

        def work() -> None:
            try:
                submitter(app, mine, tally)
            finally:
                with lock:
                    finished["submitters"] += 1
                    if finished["submitters"] == workers:
                        done.set()

        return work

    apps = [stack.enter_context(_closing(same_store(stores.monitor))) for _ in range(2 * workers)]
    jobs: list[tuple[str, Callable[[], None]]] = []
    for n in range(workers):
        jobs.append((f"submitter-{n}", submit(n, apps[n])))
        jobs.append((f"run-day-{n}", partial(run_dayer, apps[workers + n], days, done, tally)))
    return jobs, lambda: check_monitor(stores.monitor, packages, days)


def back_office_workers(
    stores: Stores, workers: int, round_no: int, tally: Tally, stack: ExitStack
) -> tuple[list[tuple[str, Callable[[], None]]], Callable[[], int]]:
    """The round's importers, makers and checkers; and the cash the round must move."""
    days = round_days(round_no)
    root = stores.work / f"round-{round_no}" / "batches"
    bank = write_bank_batches(root, days)
    apps = [
        stack.enter_context(_closing(same_store(stores.back_office))) for _ in range(3 * workers)
    ]
    jobs: list[tuple[str, Callable[[], None]]] = []
    expected = workers * ADJUSTMENTS_PER_MAKER * (round_no + 1)  # every round's requests
    for n in range(workers):
        # Half the importers take the deposits first, half the withdrawals: both orders race.
        order = [directory for directory, _ in (bank if n % 2 == 0 else reversed(bank))]
        jobs.append((f"importer-{n}", partial(importer, apps[n], order, tally)))
        jobs.append((f"maker-{n}", partial(maker, apps[workers + n], n, round_no, tally)))
        jobs.append((f"checker-{n}", partial(checker, apps[2 * workers + n], n, expected, tally)))

    def moved() -> int:
        """What the winners of each date moved client cash by."""
        winners = _winning_batches(stores.back_office, days)
        return sum(fen for directory, fen in bank if directory.name in winners)

    return jobs, moved


def _winning_batches(app: Application, days: list[date]) -> set[str]:
    found = set()
    with app.uow() as uow:
        for day in days:
            batches = uow.batches.of_kind_and_date(BROKER, "bank", day)
            _expect(len(batches) == 1, f"{len(batches)} bank batches hold {day}")
            found.add(f"bank-{day}-{batches[0].batch_id.rsplit('-', 1)[-1]}")
    return found


@contextmanager
def _closing(app: Application) -> Iterator[Application]:
    try:
        yield app
    finally:
        app.dispose()


def run_round(stores: Stores, workers: int, round_no: int) -> Tally:
    """All four kinds of worker at once; then the adjustments' import race; then the totals."""
    tally = Tally()
    days = round_days(round_no)
    cash_before = client_cash_fen(stores.back_office, days[-1])
    with ExitStack() as stack:
        monitor_jobs, check_monitor_round = monitor_workers(stores, workers, round_no, tally, stack)
        office_jobs, moved = back_office_workers(stores, workers, round_no, tally, stack)
        run_workers(monitor_jobs + office_jobs, tally)
        if tally.problems:
            return tally
        check_monitor_round()
        check_approvals(stores.back_office, workers * ADJUSTMENTS_PER_MAKER * (round_no + 1))
        root = stores.work / f"round-{round_no}" / "batches"
        adjustments, adjusted = write_adjustments(root, days[0], workers, round_no)
        apps = [
            stack.enter_context(_closing(same_store(stores.back_office))) for _ in range(workers)
        ]
        adjusters = [
            (f"adjuster-{n}", partial(importer, app, [adjustments], tally))
            for n, app in enumerate(apps)
        ]
        run_workers(adjusters, tally)
    expected = cash_before + moved() + adjusted
    found = client_cash_fen(stores.back_office, days[-1])
    _expect(found == expected, f"client cash {found} fen, expected exactly {expected}")
    return tally


@contextmanager
def open_stores(work: Path, postgres_url: str | None, workers: int) -> Iterator[Stores]:
    """The monitor's and the back office's stores, set up; on PostgreSQL, in new schemas."""
    shutil.rmtree(work, ignore_errors=True)
    with ExitStack() as stack:
        urls: list[str | None] = [None, None]
        if postgres_url:
            urls = [stack.enter_context(postgres_schema(postgres_url)) for _ in range(2)]
        monitor = stack.enter_context(_closing(open_store(work / "monitor", urls[0])))
        set_up_monitor(monitor)
        office = stack.enter_context(_closing(open_store(work / "back-office", urls[1])))
        set_up_people(office, makers=workers, checkers=workers)
        open_books(office, work / "opening")
        yield Stores(monitor, office, work)


def run(
    *,
    backend: str,
    workers: int,
    rounds: int,
    work: Path,
    postgres_url: str | None = None,
    log: Any = None,
) -> dict[str, Any]:
    """The matrix on one backend: `rounds` rounds of `workers` workers of each kind."""
    started = time.perf_counter()
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    with open_stores(work, postgres_url if backend == "postgres" else None, workers) as stores:
        for round_no in range(rounds):
            try:
                tally = run_round(stores, workers, round_no)
            except MatrixFailed as failed:
                problems.append(f"round {round_no}: {failed}")
                break
            outcomes.update(tally.outcomes)
            problems += [f"round {round_no}: {p}" for p in tally.problems]
            if log is not None:
                print(f"{backend} round {round_no}: {len(tally.problems)} problem(s)", file=log)
            if tally.problems:
                break
    return {
        "backend": backend,
        "workers_per_kind": workers,
        "rounds": rounds,
        "clean": not problems,
        "problems": problems[:20],
        "outcomes": dict(sorted(outcomes.items())),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reliability.concurrency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--workers", type=int, default=4, help="workers of each kind")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/clearwatch-concurrency"))
    parser.add_argument("--postgres", default=os.environ.get(POSTGRES_VARIABLE))
    arguments = parser.parse_args(argv)
    backends = ["sqlite"] + (["postgres"] if arguments.postgres else [])
    summaries = [
        run(
            backend=backend,
            workers=arguments.workers,
            rounds=arguments.rounds,
            work=arguments.work / backend,
            postgres_url=arguments.postgres,
            log=sys.stderr,
        )
        for backend in backends
    ]
    print(json.dumps(summaries, indent=2))
    return 0 if all(summary["clean"] for summary in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
