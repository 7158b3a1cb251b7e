"""Fuzz harness: valid packages and batches, corrupted, then submitted and imported for real.

    python -m reliability.fuzz --cases 100000 --seed 1

Each case is a valid monitor package or back-office batch (`reliability.fuzz_inputs`) with up to
three corruptions (`reliability.fuzz_mutations`): bytes, encodings, quoting, sizes, manifests
and the file system, the manifest re-hashed or not so that a corruption reaches the parser as
often as the hash check. It is written to a directory and submitted (`submit_package`, as its
institution's submitter) or imported (`import_batch`) on a real store. Every case must end:

- as a receipt or a refusal named by its rule — any other exception, or a case running past
  `CASE_SECONDS`, is unhandled;
- with nothing half applied: a rejected package adds only its rejection record, a refused
  batch adds nothing at all; an accepted package adds itself, an applied batch leaves the books'
  invariants holding;
- with every rejection located: the file, and the line and column where the rule is about a
  value or a row;
- and an uncorrupted case accepted (applied), so that the valid inputs are valid indeed.

Cases run in chunks of `CHUNK_CASES`, each on a new store (Hypothesis seeded per chunk, by the
run's seed and the chunk's place), so the store does not grow without bound. A chunk's store
and its cases' folders are scratch, kept in memory where the machine has a tmpfs
(`scratch_root`); a failing chunk's store is moved to `--work`. Chunks run
`--jobs` at a time in worker processes (default: one per core), each in its own folder; a
chunk's cases are the same whichever process runs it. Each finished chunk is written to
`journal.jsonl` in `--work`, and `--resume` runs only the chunks it lacks (a run may span
sessions, and ask for more cases than the first did). A failure is shrunk by Hypothesis to
its plainest form and printed, and no chunk is started after it.

    python -m reliability.fuzz --cases 100000 --seed 1 --work /tmp/fuzz            # started
    python -m reliability.fuzz --cases 100000 --seed 1 --work /tmp/fuzz --resume   # continued
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import text

from clearwatch.bootstrap import Application
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.domain.monitor.receipt import Receipt, ReceiptStatus
from clearwatch.domain.monitor.rejections import PackageError, PackageRule
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.backoffice.books_check import check_books_committed
from clearwatch.services.backoffice.import_batch import ImportStatus, import_batch
from clearwatch.services.monitor.submit_package import submit_package
from reliability.fuzz_inputs import (
    BROKER,
    CASE,
    DATE,
    Bundle,
    audit_key,
    file_entry,
    public_key_hex,
    valid_batches,
    valid_packages,
)
from reliability.fuzz_mutations import Mutation, apply_to_files, apply_to_manifest, mutations
from reliability.identity import SYSTEM_ACTOR, submit_gate
from reliability.stores import STORE_TIME, open_books, open_store, set_up_monitor

CHUNK_CASES = 2_000  # a new store each: books that grow slow every import down
SCRATCH = Path("/dev/shm")  # a tmpfs on Linux: chunks' stores and cases, never kept there
BATCH_ONE_IN = 4
BOOKS_CHECK_EVERY = 20  # applied batches between two outside checks of the books
CASE_SECONDS = 30  # far beyond any case (tens of milliseconds): past it, the case hung
FIRST_DAY = date(2027, 1, 4)  # a Monday; case n's business date is the n-th weekday from it
COUNTED = (
    "monitor_packages",
    "monitor_package_files",
    "monitor_package_rejections",
    "bo_batches",
    "bo_batch_files",
    "bo_entries",
    "bo_applied_records",
)
COUNT_ALL = text("select " + ", ".join(f"(select count(*) from {table})" for table in COUNTED))
# Where a rule is about a value or a row, the rejection must say the line (and the column).
PACKAGE_VALUE_RULES = frozenset(
    PackageRule(rule)
    for rule in (
        "text_must_not_be_empty",
        "identifier_must_not_contain_control_characters",
        "identifier_must_not_have_surrounding_whitespace",
        "amount_must_have_digits_dot_two_decimals",
        "amount_must_not_be_too_long",
        "amount_must_be_positive",
        "date_must_be_iso_date",
        "timestamp_must_be_iso_with_offset",
        "quantity_must_be_integer",
        "price_must_have_at_most_three_decimals",
        "rate_must_be_decimal",
        "value_must_be_one_of_choices",
        "key_must_be_unique",
    )
)
PACKAGE_ROW_RULES = frozenset(
    {PackageRule.ROW_MUST_HAVE_HEADER_WIDTH, PackageRule.CSV_MUST_BE_WELL_FORMED}
)
PACKAGE_UNLOCATED = frozenset(
    {
        PackageRule.INSTITUTION_MUST_BE_REGISTERED,
        PackageRule.INSTITUTION_KIND_MUST_MATCH,
        PackageRule.BUSINESS_DATE_MUST_BE_BUSINESS_DAY,
        PackageRule.SEQUENCE_MUST_INCREASE_FOR_NEW_CONTENT,
    }
)
BATCH_VALUE_RULES = frozenset(
    {
        Rule.VALUE_MUST_MATCH_TYPE,
        Rule.KEY_MUST_BE_UNIQUE,
        Rule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS,
        Rule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE,
    }
)
BATCH_FILE_RULES = frozenset(
    {
        Rule.FILE_MUST_BE_OF_THE_KIND,
        Rule.FILE_MUST_BE_LISTED_ONCE,
        Rule.FILE_MUST_EXIST,
        Rule.FILE_MUST_BE_REGULAR,
        Rule.FILE_HASH_MUST_MATCH,
        Rule.FILE_MUST_DECODE,
        Rule.COLUMN_MUST_BE_PRESENT,
        Rule.ROW_COUNT_MUST_MATCH,
    }
)


class CaseFailed(AssertionError):
    """A case broke one of the harness's promises (the message says which)."""


class CaseHung(Exception):
    """A case ran past `CASE_SECONDS`."""


@dataclass(frozen=True)
class Case:
    bundle: Bundle
    corruptions: list[Mutation]
    rehash: str  # "none", "hashes" (sha256 only) or "all" (sha256 and rows)


def fuzz_cases() -> st.SearchStrategy[Case]:
    return st.builds(
        Case,
        # About three packages to a batch: a valid batch is the costliest case by far (it is
        # applied, a few hundred milliseconds). A middle pick is a batch: Hypothesis favours
        # the ends of a range and the first branch of a `one_of`.
        st.sampled_from(range(BATCH_ONE_IN)).flatmap(
            lambda pick: valid_batches() if pick == BATCH_ONE_IN // 2 else valid_packages()
        ),
        mutations(),
        st.sampled_from(["none", "hashes", "all"]),
    )


def business_day(number: int) -> date:
    """The `number`-th weekday from FIRST_DAY: a new business date for every case."""
    return FIRST_DAY + timedelta(weeks=number // 5, days=number % 5)


def materialise(case: Case, number: int) -> Bundle:
    """The case's bundle for case `number`: placeholders filled, manifest listing its files,
    file corruptions, the re-hash it asks for, then the manifest's corruptions."""
    bundle = copy.deepcopy(case.bundle)
    day = business_day(number).isoformat()
    fill = {CASE: str(number), DATE: day}
    for name, data in bundle.files.items():
        for mark, value in fill.items():
            data = data.replace(mark.encode(), value.encode())
        bundle.files[name] = data
    for key, value in bundle.manifest.items():
        if isinstance(value, str):
            bundle.manifest[key] = value.replace(CASE, fill[CASE]).replace(DATE, day)
    bundle.manifest["files"] = [
        file_entry(name, data, bundle.encoding) for name, data in sorted(bundle.files.items())
    ]
    for corruption in case.corruptions:
        apply_to_files(bundle, corruption)
    if case.rehash != "none":
        for entry in bundle.manifest["files"]:
            if entry["name"] in bundle.files:
                fresh = file_entry(entry["name"], bundle.files[entry["name"]], bundle.encoding)
                entry["sha256"] = fresh["sha256"]
                entry["rows"] = fresh["rows"] if case.rehash == "all" else entry["rows"]
    for corruption in case.corruptions:
        apply_to_manifest(bundle, corruption)
    return bundle


def write_bundle(bundle: Bundle, directory: Path) -> None:
    directory.mkdir(parents=True)
    names = sorted(bundle.files)
    for name, data in bundle.files.items():
        path, special = directory / name, bundle.specials.get(name)
        if special == "symlink":
            path.symlink_to(next((n for n in names if n != name), "manifest.json"))
        elif special == "symlink_zero":
            path.symlink_to("/dev/zero")
        elif special == "directory":
            path.mkdir()
        elif special == "fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(data)
    for name, data in bundle.extra_files.items():
        (directory / name).write_bytes(data)
    manifest = directory / "manifest.json"
    raw = bundle.manifest_bytes
    content = raw if raw is not None else _manifest_json(bundle.manifest)
    special = bundle.specials.get("manifest.json")
    if special == "directory":
        manifest.mkdir()
    elif special == "fifo":
        os.mkfifo(manifest)
    elif special == "symlink":
        (directory / ".manifest-target.json").write_bytes(content)
        manifest.symlink_to(".manifest-target.json")
    else:
        manifest.write_bytes(content)


def _manifest_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expired(_signum: int, _frame: Any) -> None:
        raise CaseHung(f"the case ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Stats:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    families: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)  # time in the product, per outcome
    passed: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0  # float ok: the chunks' process CPU, setup and generation included

    def add(self, other: Stats) -> None:
        self.cases += other.cases
        self.outcomes.update(other.outcomes)
        self.families.update(other.families)
        self.passed.update(other.passed)
        for outcome, seconds in other.seconds.items():
            self.seconds[outcome] = self.seconds.get(outcome, 0.0) + seconds
        self.cpu_seconds += other.cpu_seconds

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Stats:
        counters = {name: Counter(document[name]) for name in ("outcomes", "families", "passed")}
        return cls(
            cases=document["cases"],
            seconds=dict(document["seconds"]),
            cpu_seconds=document["cpu_seconds"],
            **counters,
        )


class FuzzStore:
    """A store with the registry, the submitters and B001's clients the cases need: a copy of
    the one this process set up first (`_set_up_store`), so that a new store costs a copy of a
    few files, not the migrations, the registry and the opening books again."""

    def __init__(self, home: Path) -> None:
        shutil.rmtree(home.parent, ignore_errors=True)
        home.parent.mkdir(parents=True)
        shutil.copytree(_set_up_store(), home)
        self.app = open_store(home)  # at the head already: marks the copy ready, no migration
        self.applied = 0

    def check_books(self, broker: str, day: date) -> None:
        """The books' invariants, checked again from outside the import that posted."""
        breaches = check_books_committed(uow=self.app.read_uow(), broker_id=broker, as_of=day)
        _expect(not breaches, f"the books of {broker} breached on {day}: {breaches[:3]}")

    def counts(self) -> dict[str, int]:
        """The counted tables' sizes, in one statement (one round trip a check, not seven)."""
        with self.app.engine.connect() as connection:
            row = connection.execute(COUNT_ALL).one()
        return dict(zip(COUNTED, (int(count) for count in row), strict=True))

    def close(self) -> None:
        self.app.dispose()


_SET_UP: dict[int, Path] = {}  # by process: a set-up store it copies, removed when it exits


def _set_up_store() -> Path:
    """This process's set-up store (made on first use, in the scratch root): migrated, with
    the registry, the submitters and B001's opening books."""
    made = _SET_UP.get(os.getpid())
    if made is None:
        folder = Path(tempfile.mkdtemp(prefix="clearwatch-fuzz-store-", dir=scratch_root(None)))
        # Removed when the process ends: run by the exit of a worker process too, which
        # `atexit` is not (multiprocessing's children leave by `os._exit`).
        Finalize(
            None, shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, exitpriority=0
        )
        made = folder / "home"
        app = open_store(made)
        try:
            set_up_monitor(app)
            open_books(app, folder / "opening")
        finally:
            app.dispose()
        _SET_UP[os.getpid()] = made
    return made


def _grew(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        table: after[table] - before[table] for table in COUNTED if after[table] != before[table]
    }


def _key_pinned_by_an_earlier_case(app: Application, institution: str, receipt: Receipt) -> bool:
    """Whether an honest head was refused only because the monitor pinned another key first.

    The monitor pins a broker's first head's key (trust on first use): when an earlier case
    of the same store was a head signed by another key (`head:other_key`) and came first, it
    was rightly accepted and pinned that key, and every later honest head is rightly refused.
    Found by the full run (2026-12-04, chunk 31 of seed 1), not by the sample."""
    if {error.code for error in receipt.errors} != {"audit_head_key_must_be_pinned_key"}:
        return False
    with app.read_uow() as uow:
        pinned = uow.packages.pinned_key(institution)
    return pinned is not None and pinned != public_key_hex(audit_key(institution))


def check_package(store: FuzzStore, case: Case, bundle: Bundle, directory: Path) -> str:
    """Submit as the manifest's institution (B001 if it names none); judge the outcome."""
    named = bundle.manifest.get("institution_id")
    institution = named if isinstance(named, str) and named else "B001"
    app = store.app
    before = store.counts()
    try:
        receipt = submit_package(
            directory=str(directory),
            context=app.submit_context(),
            gate=submit_gate(app, institution),
        )
    except Refused as refusal:  # the policy, before anything is read: nothing may change
        _expect(
            _grew(before, store.counts()) == {}, f"a denied submit changed the store: {refusal}"
        )
        _expect(bool(case.corruptions), f"an uncorrupted package was denied: {refusal}")
        return f"denied:{refusal.rule}"
    grew = _grew(before, store.counts())
    json.dumps(receipt.to_json())  # the receipt must always print
    if receipt.status is ReceiptStatus.ACCEPTED:
        _expect(
            grew.get("monitor_packages") == 1 and "monitor_package_rejections" not in grew,
            f"an accepted package changed {grew}",
        )
        return "accepted"
    if not case.corruptions and _key_pinned_by_an_earlier_case(app, institution, receipt):
        return "rejected:key_pinned_by_an_earlier_case"
    _expect(bool(case.corruptions), f"an uncorrupted package was {_describe(receipt)}")
    if receipt.status is ReceiptStatus.DUPLICATE:
        _expect(grew == {}, f"a duplicate changed {grew}")
        return "duplicate"
    _expect(grew == {"monitor_package_rejections": 1}, f"a rejection changed {grew}")
    _expect(bool(receipt.errors), "a rejection without errors")
    for error in receipt.errors:
        _expect(_package_error_located(error), f"rejection not located: {error.to_json()}")
    return f"rejected:{receipt.errors[0].code.value}"


def _describe(receipt: Receipt) -> str:
    return f"{receipt.status.value}: {[e.to_json() for e in receipt.errors[:3]]}"


def _package_error_located(error: PackageError) -> bool:
    if error.code in PACKAGE_VALUE_RULES:
        return bool(error.file) and error.line is not None and bool(error.column)
    if error.code in PACKAGE_ROW_RULES:
        return bool(error.file) and error.line is not None
    if error.code.value.startswith("manifest_") and error.code not in (
        PackageRule.MANIFEST_HASH_MUST_MATCH,
        PackageRule.MANIFEST_ROWS_MUST_MATCH,
    ):
        return error.file in (None, "manifest.json")
    return error.code in PACKAGE_UNLOCATED or bool(error.file)


def check_batch(store: FuzzStore, case: Case, bundle: Bundle, directory: Path) -> str:
    """Import the batch; a refusal must name its rule and place, and change nothing."""
    app = store.app
    before = store.counts()
    try:
        result = import_batch(
            directory=directory,
            uow=app.uow(),
            tools=app.backoffice_tools,
            at=STORE_TIME,
            actor=SYSTEM_ACTOR,
        )
    except Refused as refusal:
        grew = _grew(before, store.counts())
        _expect(grew == {}, f"a refused batch changed {grew}: {refusal}")
        _expect(bool(case.corruptions), f"an uncorrupted batch was refused: {refusal}")
        if isinstance(refusal, BatchRejected):
            for rejection in refusal.rejections:
                _expect(
                    _batch_error_located(
                        rejection.rule, rejection.file, rejection.line, rejection.column
                    ),
                    f"rejection not located: {rejection.describe()}",
                )
        return f"refused:{refusal.rule}"
    grew = _grew(before, store.counts())
    if result.status is ImportStatus.APPLIED:
        _expect(grew.get("bo_batches") == 1, f"an applied batch changed {grew}")
        store.applied += 1
        if store.applied % BOOKS_CHECK_EVERY == 1:  # the import checked them too; now and then
            broker = str(bundle.manifest.get("broker_id"))
            store.check_books(broker, date.fromisoformat(result.business_date))
        return "applied"
    _expect(grew == {}, f"an already imported batch changed {grew}")
    return "already_imported"


def _batch_error_located(rule: Rule, file: str, line: int | None, column: str) -> bool:
    if file == "manifest.json":  # a manifest field: named by the field, a line means nothing
        return rule not in BATCH_VALUE_RULES or bool(column)
    if rule in BATCH_VALUE_RULES:
        return bool(file) and line is not None and bool(column)
    if rule in BATCH_FILE_RULES:
        return bool(file)
    return True  # the manifest as a whole, or a books rule over the batch


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CaseFailed(message)


def check_case(store: FuzzStore, case: Case, number: int, work: Path) -> str:
    """Write the case, run it within the time limit; its outcome's label."""
    bundle = materialise(case, number)
    directory = work / "case"
    shutil.rmtree(directory, ignore_errors=True)
    write_bundle(bundle, directory)
    check = check_package if bundle.target == "package" else check_batch
    with time_limit(CASE_SECONDS):
        return check(store, case, bundle, directory)


@dataclass(frozen=True)
class Chunk:
    """Cases `first`..`first + cases - 1` of a run, on a store of their own. Its Hypothesis
    seed depends on the run's seed and where it starts only: a chunk's cases are the same
    whichever process runs it, in whatever order, in this session or a resumed one."""

    number: int
    first: int
    cases: int
    seed: int


def plan_chunks(cases: int, seed_value: int, chunk: int) -> list[Chunk]:
    return [
        Chunk(number, first, min(chunk, cases - first), seed_value * 1_000_003 + first)
        for number, first in enumerate(range(0, cases, chunk))
    ]


@dataclass
class ChunkDone:
    """What a chunk reports to the run: its figures, and its failure if it found one."""

    chunk: Chunk
    stats: Stats
    failure: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "chunk": self.chunk.number,
            "first": self.chunk.first,
            "stats": self.stats.to_json(),
            "failure": self.failure,
        }


def run_chunk(work: Path, chunk: Chunk) -> ChunkDone:
    """Run one chunk in a scratch folder (`scratch_root`), removed when it passes; when it
    fails, its store is kept as `work/chunk-NNNNN`, beside the failure's report."""
    cpu_started = time.process_time()
    name = f"chunk-{chunk.number:05d}"
    scratch = Path(tempfile.mkdtemp(prefix="clearwatch-fuzz-", dir=scratch_root(work)))
    stats = Stats()
    failure: list[str] | None = None
    try:
        _run_chunk(scratch / name, chunk, stats)
    except Exception as error:  # the shrunk failing case, as Hypothesis raised it
        failure = _failure_report(error, work / f"failure-{chunk.number:05d}.txt")
        # The last case written is not the failing one (Hypothesis shrank it since), and
        # may be a FIFO, which a copy would block on: the report holds the case.
        shutil.rmtree(scratch / name / "case", ignore_errors=True)
        shutil.rmtree(work / name, ignore_errors=True)
        shutil.move(scratch / name, work / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stats.cpu_seconds = time.process_time() - cpu_started
    return ChunkDone(chunk, stats, failure)


def scratch_root(work: Path | None) -> Path:
    """Where chunks keep their store and write their cases: in memory (`SCRATCH`, a tmpfs)
    when the machine has one, else `work`. A case commits a few times and writes and removes
    a folder of files: on a disk shared with other work, waiting for the syncs and the
    directory updates cost the sample of `make test` more wall time than its CPU."""
    if SCRATCH.is_dir() and os.access(SCRATCH, os.W_OK | os.X_OK):
        return SCRATCH
    return work if work is not None else Path(tempfile.gettempdir())


def _run_chunk(work: Path, chunk: Chunk, stats: Stats) -> None:
    store = FuzzStore(work / "store" / "home")
    counter = [0]  # case numbers (business dates) start again with each new store

    @settings(
        max_examples=chunk.cases,
        deadline=None,
        database=None,
        verbosity=Verbosity.normal,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @seed(chunk.seed)
    @given(case=fuzz_cases())
    def one(case: Case) -> None:
        counter[0] += 1
        started = time.perf_counter()
        outcome = check_case(store, case, counter[0], work)
        stats.cases += 1
        general = f"{case.bundle.target} {outcome.split(':')[0]}"
        stats.outcomes[general] += 1
        elapsed = time.perf_counter() - started
        stats.seconds[general] = stats.seconds.get(general, 0.0) + elapsed
        stats.outcomes[outcome] += 1
        stats.families.update(mutation.family for mutation in case.corruptions)
        if case.corruptions and outcome in ("accepted", "applied"):
            # Corruptions the readers rightly let through (a quoted field, CRLF line ends):
            # still worth running, but counted, to keep the mix mostly about bad input.
            stats.passed.update(f"{m.family}:{m.params[-1]}" for m in case.corruptions)

    try:
        one()
        store.check_books(BROKER, business_day(counter[0]))  # everything the chunk posted
    finally:
        store.close()


class Journal:
    """`journal.jsonl` in the work folder: the run's parameters, then one line per finished
    chunk, so that `--resume` runs only the chunks not yet done (a failed one again)."""

    def __init__(self, work: Path, parameters: dict[str, int], *, resume: bool) -> None:
        self.path = work / "journal.jsonl"
        self.done: dict[int, ChunkDone] = {}
        if resume and self.path.exists():
            self._read(parameters)
        else:
            self.path.write_text(json.dumps({"run": parameters}) + "\n", encoding="utf-8")

    def _read(self, parameters: dict[str, int]) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        found = json.loads(lines[0]).get("run") if lines else None
        if found != parameters:
            raise SystemExit(f"{self.path} is of another run ({found}), not {parameters}")
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the last line, cut short by a killed run
            if entry["failure"] is None:
                chunk = Chunk(entry["chunk"], entry["first"], entry["stats"]["cases"], 0)
                self.done[chunk.number] = ChunkDone(chunk, Stats.from_json(entry["stats"]))

    def record(self, done: ChunkDone) -> None:
        with self.path.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(done.to_json()) + "\n")


def run(
    *,
    cases: int,
    seed_value: int,
    work: Path,
    chunk: int = CHUNK_CASES,
    seconds_max: float | None = None,
    log: Any = None,
    jobs: int = 1,
    resume: bool = False,
) -> dict[str, Any]:
    """Run `cases` cases in chunks, `jobs` chunks at a time (in this process when 1), no new
    chunk once `seconds_max` has passed or a chunk has failed; the summary, with the failures.
    With `resume`, the chunks `work`'s journal records as passed are counted, not run again."""
    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    # A chunk's cases depend on the seed and the chunk size only: a resumed run may ask for
    # more cases than the first did, and the chunks already done still count.
    journal = Journal(work, {"seed": seed_value, "chunk": chunk}, resume=resume)
    stats, failures, resumed = Stats(), [], 0
    to_run = []
    for planned in plan_chunks(cases, seed_value, chunk):
        done = journal.done.get(planned.number)
        if done is not None and done.stats.cases == planned.cases:
            stats.add(done.stats)
            resumed += 1
        else:
            to_run.append(planned)

    def finished(done: ChunkDone) -> bool:
        """Count a chunk in; whether the run may start another."""
        journal.record(done)
        stats.add(done.stats)
        failures.extend(done.failure or [])
        if log is not None:
            elapsed = time.perf_counter() - started
            print(f"chunk {done.chunk.number}: {stats.cases} cases, {elapsed:.0f} s", file=log)
        late = seconds_max is not None and time.perf_counter() - started > seconds_max
        return not failures and not late

    if jobs <= 1:
        for next_chunk in to_run:
            if not finished(run_chunk(work, next_chunk)):
                break
    else:
        _run_in_parallel(work, to_run, jobs, finished)
    return _summary(stats, failures, time.perf_counter() - started, resumed=resumed)


def _run_in_parallel(
    work: Path, chunks: list[Chunk], jobs: int, finished: Callable[[ChunkDone], bool]
) -> None:
    """Keep `jobs` worker processes busy with chunks until they are done or `finished` says
    stop; chunks already started are finished (and journaled) all the same."""
    context = multiprocessing.get_context("forkserver")
    # What a chunk imports, once in the fork server (not this module: run as `-m`, it is the
    # main module, which the server imports under another name).
    context.set_forkserver_preload(["reliability.stores", "reliability.fuzz_mutations"])
    waiting = list(reversed(chunks))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        running = {
            pool.submit(run_chunk, work, waiting.pop()) for _ in range(min(jobs, len(waiting)))
        }
        go_on = True
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                go_on = finished(future.result()) and go_on
            while go_on and waiting and len(running) < jobs:
                running.add(pool.submit(run_chunk, work, waiting.pop()))


def _summary(stats: Stats, failures: list[str], seconds: float, *, resumed: int) -> dict[str, Any]:
    return {
        "cases": stats.cases,
        "unhandled": len(failures),
        "failure": failures or None,
        "chunks_resumed": resumed,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(stats.cpu_seconds, 1),
        "cpu_milliseconds_per_case": round(1000 * stats.cpu_seconds / max(stats.cases, 1), 1),
        "outcomes": dict(stats.outcomes.most_common()),
        "corruptions": dict(stats.families.most_common()),
        "corruptions_passed": dict(stats.passed.most_common(25)),
        "milliseconds_per_case": {
            outcome: round(1000 * seconds / stats.outcomes[outcome], 1)
            for outcome, seconds in sorted(stats.seconds.items())
        },
    }


def _failure_report(error: BaseException, path: Path) -> list[str]:
    """Each distinct failure in one line (the whole report, with Hypothesis's falsifying
    examples, goes to `path`)."""
    path.write_text("".join(traceback.format_exception(error)), encoding="utf-8")
    found = error.exceptions if isinstance(error, BaseExceptionGroup) else (error,)
    return [f"{type(e).__name__}: {str(e)[:300]} (see {path})" for e in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reliability.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=CHUNK_CASES, help="cases to a store")
    parser.add_argument("--work", type=Path, default=Path("/tmp/clearwatch-fuzz"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="chunks at once")
    parser.add_argument(
        "--resume", action="store_true", help="run only the chunks the work folder's journal lacks"
    )
    parser.add_argument("--seconds-max", type=float, help="start no chunk after this long")
    arguments = parser.parse_args(argv)
    summary = run(
        cases=arguments.cases,
        seed_value=arguments.seed,
        work=arguments.work,
        chunk=arguments.chunk,
        seconds_max=arguments.seconds_max,
        log=sys.stderr,
        jobs=arguments.jobs,
        resume=arguments.resume,
    )
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0 if summary["failure"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
