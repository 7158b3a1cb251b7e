"""Crash harness: kill -9 a command at a random instant, start again, and prove nothing was hurt.

    python -m reliability.crash --trials 1000 --seed 1

A small simulated market (`reliability.scenario`) gives a plan of operations: registry load,
batch imports (incident B's four deliveries among them), each broker's end of day, every
package submitted at its time (a broken one among them), and the monitor's daily run. A clean
reference run executes the plan once, keeping a copy of the store before each operation and
what the store holds after it.

Each trial picks one operation, restores the store as it was before it, runs the operation in a
child process and kills it with SIGKILL: after a random delay within the operation's work, or
at a named crash point (`CLEARWATCH_CRASH_AT`: `after_publish`, `before_commit`), or right
after a random end-of-day step. A random delay is counted from the child's mark that its work
started (the process up, the plan read) and drawn within the work's duration in the clean run,
measured the same way; when the operation finishes before its kill (it ran faster than in the
clean run), the trial says so, restores the store and runs it again with a delay drawn within
the duration just observed, up to `KILL_ATTEMPTS` times. Each trial records where its kill
landed (`landed`: "inside" the work or "after" it) and the summary counts both. Then, as the
next start would:

1. the store opens: no orphan is left (columnar `tmp/`, temporary files anywhere in the home),
   `audit verify --data` holds and `broker check` finds no breach, for what the kill left;
2. the killed operation runs again, and every later one of its business day (`--finish day`,
   the default), or it alone (`--finish op`), or it and every later one (`--finish plan`);
3. the store equals the reference run's after the same operation, table by table (nothing lost,
   nothing twice), object by object, output file by output file; audit verify, the books
   check and the orphan check hold again.

The banks' packages are uploaded through the HTTP API (`Job.UPLOAD`: a tar streamed to
`POST /packages` of the real app, started and stopped in the child), so kills land mid-body,
mid-unpack and at the submit's named points; the API's next start removes the upload folder a
killed request left (`Application.remove_orphaned_uploads`).

Warnings go out too: after each day's run a reviewer approves its warnings (`Job.APPROVE`, the
outbox written with each approval) and one delivery round sends them (`Job.DELIVER`): to each
recipient's inbox, as documents (PDF and workbook) on its shelf, and as a signed webhook to a
loopback receiver in this process (`reliability.receiver`), which outlives every killed worker.
A round is killed at a random instant or at a named point: `<channel>_claimed` (the claim
committed, nothing sent) or `<channel>_sent` (the channel's outside act done, the outcome not
yet recorded). A killed claim is tried again only past `CLEARWATCH_DELIVERY_LEASE_SECONDS`, so
the round is run again that much later by business time, as the next start would. "Exactly
once", per channel, means:

- inbox: one message per (recipient, delivery key) and one `delivered` event, always — the
  message and the event commit in one transaction;
- documents: one `delivered` event, and the shelf holds the two files with the clean run's
  bytes — a retry writes the same bytes under the same name, which changes nothing;
- webhook: one `delivered` event; the receiver got the notice at least once, always with a
  valid signature and a fresh nonce, and kept one body per delivery key, the clean run's — a
  kill between "sent" and "recorded" makes the retry a repeat, which the receiver drops by the
  key (counted as `webhook_repeats`; a replayed nonce would be refused, and fails the trial).

The store's side of it (never two `delivered` events, inbox and audit in step with them)
is checked after the kill and after the re-run (`state.delivery_problems`); the receiver's
against the clean run's receiver after the same operation.

One operation and one way of killing it can be chosen (`--op 15 --kill point:before_commit`)
to run one suspect instant over and over. A trial is cheaper than it was: the fork server
preloads what the API and the delivery worker import (an upload child spent most of its time
importing FastAPI, and random kills landed in the imports), and a reference can be reused by
several runs of trials in one process (`prepare` once, `run(reference=...)`).

Trials run `--jobs` at a time (default: one per core), each worker process with its own trial
folder, fork server and webhook receiver; the receiver's URL, which delivered webhooks record,
is named back as the clean run's before a store is compared. A trial's draws depend on the
seed and its number only, so it is the same trial whichever worker runs it. The clean run is
saved in `--work` (`reference.pickle`, the snapshots) and each trial is appended to
`trials.jsonl`: `--resume` reuses the one and runs only the trials the other lacks.

With `--postgres URL` every store is on that server, a database each (`reliability.snapshots`):
the snapshots and a trial's restored store are copies of databases as well as of folders.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import random
import re
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.organisations import CSRC_ID
from reliability import snapshots
from reliability import state as store_state
from reliability.identity import register_monitor_staff, register_submitters
from reliability.receiver import WEBHOOKS_NAME, Receiver, write_webhooks
from reliability.scenario import (
    PLAN_NAME,
    Job,
    MarketSize,
    Op,
    institutions,
    load_plan,
    write_market,
)
from reliability.worker import UNARMED, WORK_STARTED, Arming, run_ops_child, settings_for

# Imported once by the fork server so that a child starts in milliseconds, not a second: the
# random delay then lands in the operation's own work rather than in Python's start-up.
PRELOAD = [
    "reliability.worker",
    "reliability.state",
    "pandas",
    "ibis",
    "ibis.backends.duckdb",
    "sqlglot",
    "clearwatch.adapters.db.unit_of_work",
    "clearwatch.adapters.db.migrate",
    "clearwatch.adapters.db.schema_state",
    "clearwatch.adapters.db.append_only",
    "clearwatch.adapters.db.audit.described_rows",
    "clearwatch.adapters.engine.monitor.backends",
    "clearwatch.adapters.engine.monitor.findings",
    "clearwatch.adapters.engine.backoffice.row_work",
    "clearwatch.adapters.files.csv_package_reader",
    "clearwatch.adapters.files.batch_reader",
    "clearwatch.adapters.files.registry_reader",
    "clearwatch.adapters.fee_schedule_file",
    "clearwatch.adapters.rules_file",
    "clearwatch.adapters.audit_checkpoints",
    "clearwatch.adapters.reports.monitor_day_html",
    "clearwatch.services.audit.anchor",
    # What an upload's child imported on its own: the API and its web pages (seconds of it).
    "fastapi.testclient",
    "clearwatch.entrypoints.api.app",
    # What every store-opening child imported on its own.
    "sqlite3",
    "pyarrow.dataset",
    "pyarrow.pandas_compat",
    "ibis.formats.pandas",
    "ibis.formats.pyarrow",
    "ibis.backends.duckdb.converter",
    "clearwatch.rules",
    # The approval and the delivery worker, with the documents' renderer.
    "clearwatch.services.monitor.delivery",
    "clearwatch.services.monitor.delivery_approval",
    "clearwatch.adapters.delivery.notice_documents",
    "clearwatch.adapters.delivery.webhook",
]
NAMED_POINTS = {
    Job.SUBMIT: ("after_publish", "before_commit"),
    Job.UPLOAD: ("after_publish", "before_commit"),
    Job.DELIVER: (
        "inbox_claimed",
        "documents_claimed",
        "documents_sent",
        "webhook_claimed",
        "webhook_sent",
    ),
}
EOD_STEPS = (
    "import",
    "settle_csdc",
    "check",
    "statements",
    "csdc_settlement",
    "reconciliation",
    "package",
)
# The four commands the harness is about, alike; loading the registry now and then.
JOB_WEIGHTS = {
    Job.SUBMIT: 1.0,
    Job.UPLOAD: 1.0,
    Job.RUN_DAY: 1.0,
    Job.IMPORT: 1.0,
    Job.EOD: 1.0,
    Job.REGISTRY: 0.2,
    Job.DELIVER: 1.0,
    Job.APPROVE: 0.2,
}
# A random kill lands this far into the operation's work at most, as a share of its duration
# (from the child's mark that the work started to its mark that it ended, in the clean run at
# first, then as the trial observed it).
DELAY_SPAN = 1.0
# A random kill's operation run at most this many times: again with a new delay each time it
# finished before its kill.
KILL_ATTEMPTS = 4
# Per operation a child runs: a re-run of the rest of a day or plan gets that many times it (one
# limit for the whole re-run was exceeded at a load average of 20, and read as a failure).
CHILD_TIMEOUT_SECONDS = 300
DEFAULT_MARKET = MarketSize()
KILLED = -9
REFERENCE_NAME = "reference.pickle"
JOURNAL_NAME = "trials.jsonl"
# How random kills are timed, saved with the clean run and in the journal's first line.
# 1 (none saved): from the child's start, within the clean run's start-to-exit time, the
# operation never run again; most kills of the first 422-trial run landed after the operation
# had finished. 2: from the child's "work started" mark, within the work's duration, redrawn
# when the operation finishes first. A resumed run takes only its own timing's files.
KILL_TIMING = 2
OLDER_TIMING = (
    "{path} was written by an older crash harness (kill timing {found}, now {KILL_TIMING}: "
    "random kills timed from the child's start, most landing after the operation had "
    "finished); its {what} cannot be counted with this run's. Run without --resume, or in "
    "a new --work folder."
)
FINISHES = ("op", "day", "plan")


@dataclass
class Reference:
    """The clean run: the plan, the store before each operation, its state after each."""

    work: Path
    plan: list[Op]
    dates: list[date]
    receiver: Receiver
    durations: list[float] = field(default_factory=list)
    # states[k + 1] is the state after operation k; states[0] the empty store's.
    states: list[dict[str, Any]] = field(default_factory=list)
    # received[k]: what the webhook receiver held before operation k (and after the last).
    received: list[dict[str, str]] = field(default_factory=list)
    # The clean run's receiver, which its deliveries' records name; a trial's own receiver
    # (another port) is named back as this one before its store is compared.
    url: str = ""
    # Where trials keep their store and their webhooks file: a folder per parallel worker.
    trials_root: Path | None = None
    # The PostgreSQL server the stores are on (each home a database of its own); None: SQLite.
    postgres: str | None = None

    def __post_init__(self) -> None:
        self.url = self.url or self.receiver.url
        self.trials_root = self.trials_root or self.work / "trial"

    def snapshot(self, index: int) -> Path:
        return self.work / "snapshots" / f"{index:03d}"

    @property
    def trial_home(self) -> Path:
        return self.trial_folder / "home"

    @property
    def trial_folder(self) -> Path:
        assert self.trials_root is not None  # set by __post_init__
        return self.trials_root

    @property
    def webhooks(self) -> Path:
        if self.receiver.url == self.url:
            return self.work / WEBHOOKS_NAME
        return self.trial_folder / WEBHOOKS_NAME

    def as_the_reference(self, state: dict[str, Any]) -> dict[str, Any]:
        """`state` with this worker's receiver named as the clean run's (the only difference
        a trial's own receiver makes: the URL its deliveries record)."""
        if self.receiver.url == self.url:
            return state
        renamed: dict[str, Any] = json.loads(json.dumps(state).replace(self.receiver.url, self.url))
        return renamed

    def save(self) -> None:
        """What trials in other processes (or a resumed run) need, beside the snapshots."""
        kept = {
            "dates": self.dates,
            "durations": self.durations,
            "states": self.states,
            "received": self.received,
            "url": self.url,
            "postgres": self.postgres,
            "kill_timing": KILL_TIMING,
        }
        (self.work / REFERENCE_NAME).write_bytes(pickle.dumps(kept))

    @classmethod
    def load(cls, work: Path, receiver: Receiver, trials_root: Path | None = None) -> Reference:
        """A saved clean run, its trials served by `receiver` (a worker's own, or the run's)."""
        kept = pickle.loads((work / REFERENCE_NAME).read_bytes())  # the harness's own, by `save`
        found = kept.pop("kill_timing", 1)
        if found != KILL_TIMING:
            receiver.close()
            raise SystemExit(
                OLDER_TIMING.format(
                    path=work / REFERENCE_NAME,
                    found=found,
                    KILL_TIMING=KILL_TIMING,
                    what="durations (start to exit, not the work's)",
                )
            )
        plan = load_plan(work / PLAN_NAME)
        reference = cls(work, plan, receiver=receiver, trials_root=trials_root, **kept)
        if receiver.url != reference.url:
            registry = work / "market" / "registry"
            reference.trial_folder.mkdir(parents=True, exist_ok=True)
            write_webhooks(reference.webhooks, receiver.url, _recipients(registry))
        return reference

    def settings(self, home: Path, arming: Arming = UNARMED) -> Settings:
        """The settings of a command on the store at `home`, as the clean run's commands."""
        url = snapshots.database_url(self.postgres, home)
        return settings_for(home, database_url=url, arming=arming, webhooks=self.webhooks)

    def inspect(self, home: Path) -> dict[str, Any]:
        url = snapshots.database_url(self.postgres, home)
        return inspect_home(home, self.dates, self.webhooks, database_url=url)

    def close(self) -> None:
        self.receiver.close()


@cache
def _context() -> ForkServerContext:
    """One fork server per process: it costs seconds to start and preload, once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


@dataclass(frozen=True)
class ChildRun:
    """How a child running operations ended."""

    exitcode: int | None  # -9 when killed
    # The operations' own work, start to end, as the child measured it; None if it did not end.
    work_seconds: float | None = None  # float ok: seconds
    # Killed by the harness's timer while its operations' work was under way (not before it
    # started, which the timer cannot do, nor after it ended, on the way out).
    killed_in_work: bool = False


def _run_child(
    context: ForkServerContext,
    ref: Reference,
    index: int,
    home: Path,
    *,
    arming: Arming = UNARMED,
    stop: int | None = None,
    kill_after: float | None = None,
    first_later_seconds: float = 0.0,
) -> ChildRun:
    """Run operations index..stop-1 in a child; SIGKILL it `kill_after` seconds after its
    operations' work started (the process up and the plan read), if it is still running."""
    settings = ref.settings(home, arming)
    end = index + 1 if stop is None else stop
    plan = ref.work / PLAN_NAME
    marks, child_marks = context.Pipe(duplex=False)
    child = context.Process(
        target=run_ops_child,
        args=(plan, index, end, settings, None, first_later_seconds, child_marks),
    )
    child.start()
    child_marks.close()  # the child's end: once the child is gone, reading it ends
    limit = CHILD_TIMEOUT_SECONDS * (end - index)
    started = _next_mark(marks, limit) == WORK_STARTED
    if started:
        child.join(limit if kill_after is None else kill_after)
    timed_out = child.is_alive()
    if timed_out:
        child.kill()
    child.join()
    work_seconds = _next_mark(marks, 0.0) if started else None
    marks.close()
    seconds = work_seconds if isinstance(work_seconds, float) else None  # float ok: seconds
    killed_in_work = started and timed_out and kill_after is not None and seconds is None
    return ChildRun(child.exitcode, seconds, killed_in_work)


def _next_mark(marks: Connection, timeout: float) -> object:  # float ok: seconds
    """The child's next mark, or None if it sends none within `timeout` seconds (or ended
    without)."""
    try:
        return marks.recv() if marks.poll(timeout) else None
    except EOFError:
        return None


def inspect_home(
    home: Path, dates: list[date], webhooks: Path | None = None, database_url: str | None = None
) -> dict[str, Any]:
    """The store at `home` opened as the next command would, read and checked."""
    app = build_application(settings_for(home, database_url=database_url, webhooks=webhooks))
    try:
        return store_state.inspect_store(app, dates=dates)
    finally:
        app.dispose()


def prepare(
    work: Path, size: MarketSize = DEFAULT_MARKET, postgres: str | None = None
) -> Reference:
    """Simulate the market and run the plan once, cleanly, keeping what the trials need (on
    SQLite, or each store a database of its own on the PostgreSQL server of `postgres`).
    The reference's receiver serves until `close`: its trials send webhooks to it."""
    context = _context()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    plan = write_market(work, size)
    dates = sorted({date.fromisoformat(op.day) for op in plan if op.day})
    ref = Reference(work, plan, dates, Receiver(), postgres=postgres)
    registry = work / "market" / "registry"
    write_webhooks(ref.webhooks, ref.receiver.url, _recipients(registry))
    home = work / "reference" / "home"
    snapshots.new_store(postgres, home)
    app = build_application(ref.settings(home))
    app.init_schema()  # as `clearwatch init` (a server's store is not made by first use)
    register_submitters(app, institutions(registry))
    register_monitor_staff(app)
    # The first checkpoint makes the audit signing key. Made here, every run of the plan
    # shares it; made by the first operation, a trial that kills that operation would make
    # another, random key, and every head it signs would differ from the reference's.
    app.anchor_appended()
    app.dispose()
    ref.states.append(ref.inspect(home)["state"])
    for index, op in enumerate(plan):
        snapshots.copy_store(ref.postgres, home, ref.snapshot(index))
        ref.received.append(ref.receiver.snapshot())
        clean = _run_child(context, ref, index, home)
        if clean.exitcode != 0 or clean.work_seconds is None:
            raise SystemExit(f"the reference run failed at operation {index} ({op.label})")
        ref.durations.append(clean.work_seconds)
        inspected = ref.inspect(home)
        problems = _check_problems(inspected["checks"])
        if problems or ref.receiver.received.repeats or ref.receiver.received.refused:
            raise SystemExit(f"the reference run is not clean after {op.label}: {problems}")
        ref.states.append(inspected["state"])
    ref.received.append(ref.receiver.snapshot())
    ref.save()
    return ref


def _recipients(registry: Path) -> list[str]:
    """Who may be sent a warning: every institution, every region's bureau, and CSRC."""
    lines = (registry / "institutions.csv").read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split(",") for line in lines if line]
    return [row[0] for row in rows] + [row[-1] for row in rows] + [CSRC_ID]


def _check_problems(checks: dict[str, Any]) -> list[str]:
    problems = [f"audit: {finding}" for finding in checks["audit"]["findings"]]
    problems += [f"books: {breach}" for breach in checks["books"]]
    problems += [f"orphan: {name}" for name in checks["orphans"]]
    problems += [f"delivery: {problem}" for problem in checks["deliveries"]]
    return problems


@dataclass(frozen=True)
class Target:
    """What trials may kill: one operation only (its index), one way only (a `Kill.mode`)."""

    op_index: int | None = None
    kill: str | None = None


ANYWHERE = Target()


def choose_operation(rng: random.Random, plan: list[Op], target: Target = ANYWHERE) -> int:
    """A job first, by `JOB_WEIGHTS`, so that each kind is killed about as often whatever
    its count in the plan (submits outnumber end-of-day runs five to one); then one of its
    operations."""
    if target.op_index is not None:
        return target.op_index
    jobs = sorted({op.job for op in plan}, key=list(Job).index)
    job = rng.choices(jobs, weights=[JOB_WEIGHTS[j] for j in jobs])[0]
    return rng.choice([index for index, op in enumerate(plan) if op.job is job])


@dataclass(frozen=True)
class Kill:
    """How one trial kills its operation."""

    mode: str  # "random", "point:<name>" or "eod_step:<step>"
    delay: float | None = None
    arming: Arming = UNARMED


def choose_kill(rng: random.Random, op: Op, duration: float, mode: str | None = None) -> Kill:
    """A random instant mostly; a named point or an end-of-day step boundary sometimes.
    `mode` chooses: "random", "point:<name>" or "eod_step:<step>"."""
    if mode is not None and mode != "random":
        kind, _, name = mode.partition(":")
        arming = Arming(crash_at=name) if kind == "point" else Arming(eod_kill_after=name)
        return Kill(mode, arming=arming)
    if mode == "random":
        return Kill("random", delay=rng.uniform(0.0, duration * DELAY_SPAN))
    roll = rng.random()
    points = NAMED_POINTS.get(op.job, ())
    if points and roll < 0.4:
        point = rng.choice(points)
        return Kill(f"point:{point}", arming=Arming(crash_at=point))
    if op.job is Job.EOD and roll < 0.4:
        step = rng.choice(EOD_STEPS)
        return Kill(f"eod_step:{step}", arming=Arming(eod_kill_after=step))
    return Kill("random", delay=rng.uniform(0.0, duration * DELAY_SPAN))


@dataclass
class Trial:
    number: int
    op_index: int
    op: str
    job: str
    kill: str
    delay: float | None  # float ok: seconds after the work started (the last drawn)
    exitcode: int | None = None
    left: str = ""  # what the kill left: "nothing", "partial" or "complete"
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    webhook_repeats: int = 0  # notices sent again after a kill, dropped by the receiver
    cpu_seconds: float = 0.0  # float ok: this process's and its commands' CPU for the trial
    # Where the kill landed: "inside" the operation's work (the timer, a named point or an
    # end-of-day step), or "after" it (the operation finished first, every time it was tried;
    # a named point it never reached). Empty: it failed on its own.
    landed: str = ""
    # Times the operation finished before its random kill and was run again from the same
    # store with a delay drawn anew within the duration just observed.
    finished_first: int = 0

    @property
    def converged(self) -> bool:
        return not self.problems


def trial_rng(seed: int, number: int) -> random.Random:
    """Trial `number`'s own draws: the same trial whichever worker runs it, and in whatever
    order, in this session or a resumed one."""
    return random.Random(seed * 1_000_003 + number)


def finish_stop(plan: list[Op], index: int, finish: str) -> int:
    """Where the re-run after a kill of operation `index` stops (exclusive): after it ("op"),
    after its business day's last operation ("day"), or at the end of the plan ("plan")."""
    if finish == "op":
        return index + 1
    if finish == "plan":
        return len(plan)
    days = [op.day for op in plan]
    for k in range(len(days) - 2, -1, -1):  # the registry load belongs to the day after it
        days[k] = days[k] or days[k + 1]
    return max(k for k in range(index, len(plan)) if days[k] == days[index]) + 1


def run_trial(
    ref: Reference, number: int, *, seed: int, finish: str, target: Target = ANYWHERE
) -> Trial:
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    context = _context()
    rng = trial_rng(seed, number)
    index = choose_operation(rng, ref.plan, target)
    op = ref.plan[index]
    kill = choose_kill(rng, op, ref.durations[index], target.kill)
    trial = Trial(number, index, op.label, op.job.value, kill.mode, kill.delay)
    home = ref.trial_home
    _kill_operation(context, ref, index, kill, rng, trial)
    if trial.exitcode not in (0, KILLED):
        trial.problems.append(f"the operation failed on its own: exit code {trial.exitcode}")
    after_kill = ref.inspect(home)
    trial.left = _what_was_left(ref, index, ref.as_the_reference(after_kill["state"]))
    trial.problems += [f"after the kill: {p}" for p in _check_problems(after_kill["checks"])]
    stop = finish_stop(ref.plan, index, finish)
    rerun = _run_child(
        context, ref, index, home, stop=stop, first_later_seconds=_restart_later(ref, op)
    )
    if rerun.exitcode != 0:
        trial.problems.append(f"the re-run failed: exit code {rerun.exitcode}")
    final = ref.inspect(home)
    trial.problems += [f"after the re-run: {p}" for p in _check_problems(final["checks"])]
    found = ref.as_the_reference(final["state"])
    trial.problems += [f"differs: {d}" for d in store_state.differences(ref.states[stop], found)]
    trial.problems += _receiver_problems(ref, stop)
    trial.webhook_repeats = ref.receiver.received.repeats
    trial.seconds = time.perf_counter() - started
    trial.cpu_seconds = _cpu_seconds() - cpu_started
    if not trial.converged:
        _keep_failure(ref, trial)
    return trial


def _kill_operation(
    context: ForkServerContext,
    ref: Reference,
    index: int,
    kill: Kill,
    rng: random.Random,
    trial: Trial,
) -> None:
    """Run operation `index` from the clean run's store before it, killed as `kill` says;
    the outcome goes into `trial`. A random kill whose operation finished first proved
    nothing: the store is restored and the operation run again, its delay drawn anew within
    the work's duration just observed (the reference's was measured on another run, maybe
    at another load), up to `KILL_ATTEMPTS` times."""
    for attempt in range(KILL_ATTEMPTS):
        snapshots.copy_store(ref.postgres, ref.snapshot(index), ref.trial_home)
        ref.receiver.restore(ref.received[index])
        done = _run_child(
            context, ref, index, ref.trial_home, arming=kill.arming, kill_after=kill.delay
        )
        trial.exitcode = done.exitcode
        trial.landed = _where_the_kill_landed(kill, done)
        if trial.landed != "after" or kill.delay is None or done.work_seconds is None:
            return
        if attempt + 1 < KILL_ATTEMPTS:
            trial.finished_first += 1
            kill = replace(kill, delay=rng.uniform(0.0, done.work_seconds * DELAY_SPAN))
            trial.delay = kill.delay


def _where_the_kill_landed(kill: Kill, done: ChildRun) -> str:
    """Where the kill landed: "inside" the operation's work, "after" it (the operation
    finished, or a named point it did not reach), or "" (the operation failed on its own)."""
    if kill.delay is None:  # killed at its own point or step, or it never reached it
        if done.exitcode == KILLED:
            return "inside"
        return "after" if done.exitcode == 0 else ""
    if done.killed_in_work:
        return "inside"
    return "after" if done.exitcode in (0, KILLED) else ""


def _cpu_seconds() -> float:  # float ok: seconds of CPU
    """This process's CPU and its commands': the fork server's children, ended and reaped (the
    server is this process's own, so its reaped children are this process's trials')."""
    own = time.process_time()
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    try:
        fields = Path(f"/proc/{server}/stat").read_text(encoding="ascii").rsplit(")", 1)[1]
    except OSError:
        return own  # not Linux, or no server yet: the commands' share is not counted
    ticks = sum(int(value) for value in fields.split()[11:15])  # utime stime cutime cstime
    return own + ticks / os.sysconf("SC_CLK_TCK")


def _restart_later(ref: Reference, op: Op) -> float:
    """A delivery round runs again past the lease of the claims a killed round left, as a
    worker started later would; every other job again at its own time."""
    if op.job is not Job.DELIVER:
        return 0.0
    settings = settings_for(ref.work, webhooks=ref.webhooks)
    return settings.delivery_lease_seconds + 1.0


def _receiver_problems(ref: Reference, stop: int) -> list[str]:
    """The webhooks' side of "exactly once": the receiver kept one body per delivery key, the
    clean run's, and refused nothing (no forged, stale or replayed request reached it)."""
    received = ref.receiver.received
    problems = [f"webhook refused: {rule}" for rule in received.refused]
    expected = ref.received[stop]
    if received.bodies != expected:
        missing = sorted(set(expected) - set(received.bodies))
        other = sorted(k for k in received.bodies if expected.get(k) != received.bodies[k])
        problems.append(f"webhooks differ: missing {missing[:3]}; other or extra {other[:3]}")
    return problems


def _what_was_left(ref: Reference, index: int, found: dict[str, Any]) -> str:
    if found == ref.states[index + 1]:
        return "complete"
    return "nothing" if found == ref.states[index] else "partial"


def _keep_failure(ref: Reference, trial: Trial) -> None:
    """The failing trial's store, for a person to look at."""
    kept = ref.work / "failures" / f"trial-{trial.number:05d}-op-{trial.op_index:02d}"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(ref.trial_folder, kept)
    (kept / "trial.json").write_text(json.dumps(trial.__dict__, indent=2), encoding="utf-8")


def summarise(trials: list[Trial], seconds: float) -> dict[str, Any]:
    return {
        "trials": len(trials),
        "converged": sum(t.converged for t in trials),
        "seconds": round(seconds, 1),
        "by_job": dict(Counter(t.job for t in trials)),
        "by_kill": dict(Counter(t.kill.split(":")[0] for t in trials)),
        "killed": sum(t.exitcode == KILLED for t in trials),
        "killed_inside_work": sum(t.landed == "inside" for t in trials),
        "finished_before_kill": sum(t.landed == "after" for t in trials),
        "redrawn": sum(t.finished_first for t in trials),
        "left": dict(Counter(t.left for t in trials)),
        "webhook_repeats": sum(t.webhook_repeats for t in trials),
        "cpu_seconds_per_trial": round(sum(t.cpu_seconds for t in trials) / max(len(trials), 1), 1),
        "failures": [
            {"trial": t.number, "op": t.op, "kill": t.kill, "problems": t.problems[:5]}
            for t in trials
            if not t.converged
        ],
    }


def result_line(summary: dict[str, Any]) -> str:
    """The run in one line: convergence, and whether the kills proved anything (a kill that
    lands after the operation finished tests a clean re-run, not a crash)."""
    return (
        f"{summary['converged']}/{summary['trials']} trials converged; "
        f"{summary['killed_inside_work']} killed inside the operation's work, "
        f"{summary['finished_before_kill']} finished before their kill "
        f"({summary['redrawn']} kills redrawn shorter after the operation finished first)"
    )


def run(
    *,
    trials: int,
    seed: int,
    work: Path,
    size: MarketSize = DEFAULT_MARKET,
    finish_plan: bool | None = None,
    finish: str = "day",
    log: Any = None,
    target: Target = ANYWHERE,
    reference: Reference | None = None,
    jobs: int = 1,
    resume: bool = False,
    postgres: str | None = None,
) -> dict[str, Any]:
    """Prepare the reference (unless one is given, which is reused as it is, or `resume`
    finds one saved in `work`), run the trials `jobs` at a time, and return the summary.
    `finish_plan` is the older spelling of `finish` ("plan" when true, "op" when false). With
    `resume`, the trials `trials.jsonl` holds are counted, not run again."""
    started = time.perf_counter()
    if finish_plan is not None:
        finish = "plan" if finish_plan else "op"
    ref = reference
    if ref is None and resume and (work / REFERENCE_NAME).exists():
        ref = Reference.load(work, Receiver())
    ref = ref if ref is not None else prepare(work, size, postgres)
    parameters = journal_parameters(seed, finish, target)
    journal = TrialJournal(ref.work / journal_name(target), parameters, resume)
    try:
        numbers = [n for n in range(trials) if n not in journal.done]
        if jobs <= 1:
            for number in numbers:
                journal.record(run_trial(ref, number, seed=seed, finish=finish, target=target), log)
        else:
            ref.save()
            _run_in_parallel(ref.work, numbers, jobs, (seed, finish, target), journal, log)
    finally:
        if reference is None:
            ref.close()
    done = sorted(journal.done.values(), key=lambda t: t.number)
    summary = summarise(done, time.perf_counter() - started)
    return summary | {"seed": seed, "operations": len(ref.plan), "finish": finish}


def journal_parameters(seed: int, finish: str, target: Target) -> dict[str, Any]:
    """What a resumed run must share with the journal's: the draws and how kills are timed."""
    return {"seed": seed, "finish": finish, **target.__dict__, "kill_timing": KILL_TIMING}


def journal_name(target: Target) -> str:
    """`trials.jsonl`; a targeted run's its own, so that a resumed reference serves several."""
    if target == ANYWHERE:
        return JOURNAL_NAME
    named = f"trials-op{target.op_index}-{target.kill or 'any'}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", named) + ".jsonl"


class TrialJournal:
    """A journal in the work folder: the run's parameters, then each finished trial."""

    def __init__(self, path: Path, parameters: dict[str, Any], resume: bool) -> None:
        self.path = path
        self.done: dict[int, Trial] = {}
        if resume and self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            found = json.loads(lines[0]).get("run") if lines else None
            timing = (found or {}).get("kill_timing", 1)
            if found is not None and timing != parameters.get("kill_timing", 1):
                raise SystemExit(
                    OLDER_TIMING.format(
                        path=self.path, found=timing, KILL_TIMING=KILL_TIMING, what="trials"
                    )
                )
            if found != parameters:
                raise SystemExit(f"{self.path} is of another run ({found}), not {parameters}")
            for line in lines[1:]:
                with contextlib.suppress(ValueError):  # a last line a killed run cut short
                    trial = Trial(**json.loads(line))
                    self.done[trial.number] = trial
        else:
            self.path.write_text(json.dumps({"run": parameters}) + "\n", encoding="utf-8")

    def record(self, trial: Trial, log: Any) -> None:
        self.done[trial.number] = trial
        with self.path.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(trial.__dict__) + "\n")
        if log is not None:
            state = "converged" if trial.converged else "FAILED " + "; ".join(trial.problems)
            landed = trial.landed or "-"
            if trial.finished_first:  # how many runs of it finished before their kill
                landed += f"+{trial.finished_first}"
            line = (
                f"{trial.number:5d} {trial.op:<40} {trial.kill:<24} {landed:<8} {trial.left:<9} "
                f"{state}"
            )
            print(line, file=log, flush=True)


# A parallel worker's own reference: the saved clean run, its own receiver and trial folder.
_WORKER_REFERENCE: list[Reference] = []


def _start_worker(work: Path) -> None:
    trials_root = work / "workers" / str(os.getpid())
    _WORKER_REFERENCE.append(Reference.load(work, Receiver(), trials_root))


def _worker_trial(number: int, seed: int, finish: str, target: Target) -> Trial:
    return run_trial(_WORKER_REFERENCE[0], number, seed=seed, finish=finish, target=target)


def _run_in_parallel(
    work: Path,
    numbers: list[int],
    jobs: int,
    how: tuple[int, str, Target],
    journal: TrialJournal,
    log: Any,
) -> None:
    """Trials in `jobs` worker processes, each with its own receiver, store folder and fork
    server; journaled as they finish."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(work,)
    ) as pool:
        running = [pool.submit(_worker_trial, number, *how) for number in numbers]
        for future in as_completed(running):
            journal.record(future.result(), log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reliability.crash",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/clearwatch-crash"))
    parser.add_argument(
        "--finish",
        choices=FINISHES,
        default="day",
        help="after the kill re-run the killed operation and the rest of its day (default), "
        "only the killed operation, or the rest of the plan",
    )
    parser.add_argument("--op", type=int, help="kill only this operation (its plan index)")
    parser.add_argument(
        "--kill", help='kill only this way: "random", "point:<name>" or "eod_step:<step>"'
    )
    parser.add_argument("--days", type=int, default=DEFAULT_MARKET.days)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="trials at once")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the work folder's reference and run only the trials trials.jsonl lacks",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run every store on this PostgreSQL server (a database each, made from the "
        "URL's database) instead of SQLite",
    )
    arguments = parser.parse_args(argv)
    summary = run(
        trials=arguments.trials,
        seed=arguments.seed,
        work=arguments.work,
        size=replace(DEFAULT_MARKET, days=arguments.days),
        finish=arguments.finish,
        log=sys.stdout,
        target=Target(arguments.op, arguments.kill),
        jobs=arguments.jobs,
        resume=arguments.resume,
        postgres=arguments.postgres,
    )
    print(json.dumps(summary, indent=2))
    print(result_line(summary))
    return 0 if summary["converged"] == summary["trials"] else 1


if __name__ == "__main__":
    sys.exit(main())
