"""Crash harness: kill -9 a command at a random instant, start again, and prove nothing was hurt.

    python -m reliability.crash --trials 1000 --seed 1

A small simulated market (`reliability.scenario`) gives a plan of operations: registry load,
batch imports (incident B's four deliveries among them), each broker's end of day, every
package submitted at its time (a broken one among them), and the monitor's daily run. A clean
reference run executes the plan once, keeping a copy of the store before each operation and
what the store holds after it.

Each trial picks one operation, restores the store as it was before it, runs the operation in a
child process and kills it with SIGKILL: after a random delay within the operation's reference
duration, or at a named crash point (`CLEARWATCH_CRASH_AT`: `after_publish`, `before_commit`),
or right after a random end-of-day step. Then, as the next start would:

1. the store opens: no orphan is left (columnar `tmp/`, temporary files anywhere in the home),
   `audit verify --data` holds and `broker check` finds no breach, for what the kill left;
2. the killed operation runs again (`--finish op`), or it and every later one (`--finish plan`);
3. the store equals the reference run's after the same operation, table by table (nothing lost,
   nothing twice), object by object, output file by output file; audit verify, the books
   check and the orphan check hold again.

The banks' packages are uploaded through the HTTP API (`Job.UPLOAD`: a tar streamed to
`POST /packages` of the real app, started and stopped in the child), so kills land mid-body,
mid-unpack and at the submit's named points; the API's next start removes the upload folder a
killed request left (`Application.remove_orphaned_uploads`).

Not covered yet: warning delivery. It needs the day's warnings approved by a reviewer first
(two more jobs), and its convergence is not "equal to the reference" table by table: a killed
claim is retried only after `CLEARWATCH_DELIVERY_LEASE_SECONDS` of business time, and its
events (claimed, delivered) differ from a clean run's. The check there is "each delivery
delivered exactly once per recipient" after a re-run past the lease.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from clearwatch.bootstrap import build_application
from reliability import state as store_state
from reliability.identity import register_submitters
from reliability.scenario import PLAN_NAME, Job, MarketSize, Op, institutions, write_market
from reliability.worker import UNARMED, Arming, run_ops_child, settings_for

# Imported once by the fork server so that a child starts in milliseconds, not a second: the
# random delay then lands in the operation's own work rather than in Python's start-up.
PRELOAD = [
    "reliability.worker",
    "reliability.state",
    "pandas",
    "ibis",
    "ibis.backends.duckdb",
    "sqlglot",
    "plotly.graph_objects",
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
]
NAMED_POINTS = {
    Job.SUBMIT: ("after_publish", "before_commit"),
    Job.UPLOAD: ("after_publish", "before_commit"),
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
}
DELAY_SPAN = 1.0  # random kills land within the operation's reference duration (start to exit)
CHILD_TIMEOUT_SECONDS = 300
DEFAULT_MARKET = MarketSize()
KILLED = -9


@dataclass
class Reference:
    """The clean run: the plan, the store before each operation, its state after each."""

    work: Path
    plan: list[Op]
    dates: list[date]
    durations: list[float] = field(default_factory=list)
    # states[k + 1] is the state after operation k; states[0] the empty store's.
    states: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self, index: int) -> Path:
        return self.work / "snapshots" / f"{index:03d}"


def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _run_child(
    context: ForkServerContext,
    ref: Reference,
    index: int,
    home: Path,
    *,
    arming: Arming = UNARMED,
    stop: int | None = None,
    kill_after: float | None = None,
) -> tuple[int | None, float]:
    """Run operations index..stop-1 in a child; SIGKILL it after `kill_after` seconds if it
    is still running. Its exit code (-9 when killed) and its wall time."""
    settings = settings_for(home, arming=arming)
    end = index + 1 if stop is None else stop
    child = context.Process(
        target=run_ops_child, args=(ref.work / PLAN_NAME, index, end, settings, None)
    )
    started = time.perf_counter()
    child.start()
    child.join(CHILD_TIMEOUT_SECONDS if kill_after is None else kill_after)
    if child.is_alive():
        child.kill()
        child.join()
    return child.exitcode, time.perf_counter() - started


def inspect_home(home: Path, dates: list[date]) -> dict[str, Any]:
    """The store at `home` opened as the next command would, read and checked."""
    app = build_application(settings_for(home))
    try:
        return store_state.inspect_store(app, dates=dates)
    finally:
        app.dispose()


def prepare(work: Path, size: MarketSize, context: ForkServerContext) -> Reference:
    """Simulate the market and run the plan once, cleanly, keeping what the trials need."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    plan = write_market(work, size)
    dates = sorted({date.fromisoformat(op.day) for op in plan if op.day})
    ref = Reference(work, plan, dates)
    home = work / "reference" / "home"
    app = build_application(settings_for(home))
    register_submitters(app, institutions(work / "market" / "registry"))
    # The first checkpoint makes the audit signing key. Made here, every run of the plan
    # shares it; made by the first operation, a trial that kills that operation would make
    # another, random key, and every head it signs would differ from the reference's.
    app.anchor_appended()
    app.dispose()
    ref.states.append(inspect_home(home, dates)["state"])
    for index, op in enumerate(plan):
        shutil.copytree(home, ref.snapshot(index))
        exitcode, seconds = _run_child(context, ref, index, home)
        if exitcode != 0:
            raise SystemExit(f"the reference run failed at operation {index} ({op.label})")
        ref.durations.append(seconds)
        inspected = inspect_home(home, dates)
        problems = _check_problems(inspected["checks"])
        if problems:
            raise SystemExit(f"the reference run is not clean after {op.label}: {problems}")
        ref.states.append(inspected["state"])
    return ref


def _check_problems(checks: dict[str, Any]) -> list[str]:
    problems = [f"audit: {finding}" for finding in checks["audit"]["findings"]]
    problems += [f"books: {breach}" for breach in checks["books"]]
    problems += [f"orphan: {name}" for name in checks["orphans"]]
    return problems


def choose_operation(rng: random.Random, plan: list[Op]) -> int:
    """A job first, by `JOB_WEIGHTS`, so that each kind is killed about as often whatever
    its count in the plan (submits outnumber end-of-day runs five to one); then one of its
    operations."""
    jobs = sorted({op.job for op in plan}, key=list(Job).index)
    job = rng.choices(jobs, weights=[JOB_WEIGHTS[j] for j in jobs])[0]
    return rng.choice([index for index, op in enumerate(plan) if op.job is job])


@dataclass(frozen=True)
class Kill:
    """How one trial kills its operation."""

    mode: str  # "random", "point:<name>" or "eod_step:<step>"
    delay: float | None = None
    arming: Arming = UNARMED


def choose_kill(rng: random.Random, op: Op, duration: float) -> Kill:
    """A random instant mostly; a named point or an end-of-day step boundary sometimes."""
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
    delay: float | None
    exitcode: int | None = None
    left: str = ""  # what the kill left: "nothing", "partial" or "complete"
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def converged(self) -> bool:
        return not self.problems


def run_trial(
    ref: Reference,
    context: ForkServerContext,
    rng: random.Random,
    number: int,
    *,
    finish_plan: bool,
) -> Trial:
    started = time.perf_counter()
    index = choose_operation(rng, ref.plan)
    op = ref.plan[index]
    kill = choose_kill(rng, op, ref.durations[index])
    trial = Trial(number, index, op.label, op.job.value, kill.mode, kill.delay)
    home = ref.work / "trial" / "home"
    shutil.rmtree(home.parent, ignore_errors=True)
    shutil.copytree(ref.snapshot(index), home)
    trial.exitcode, _ = _run_child(
        context, ref, index, home, arming=kill.arming, kill_after=kill.delay
    )
    if trial.exitcode not in (0, KILLED):
        trial.problems.append(f"the operation failed on its own: exit code {trial.exitcode}")
    after_kill = inspect_home(home, ref.dates)
    trial.left = _what_was_left(ref, index, after_kill["state"])
    trial.problems += [f"after the kill: {p}" for p in _check_problems(after_kill["checks"])]
    stop = len(ref.plan) if finish_plan else index + 1
    exitcode, _ = _run_child(context, ref, index, home, stop=stop)
    if exitcode != 0:
        trial.problems.append(f"the re-run failed: exit code {exitcode}")
    final = inspect_home(home, ref.dates)
    trial.problems += [f"after the re-run: {p}" for p in _check_problems(final["checks"])]
    expected = ref.states[stop]
    trial.problems += [f"differs: {d}" for d in store_state.differences(expected, final["state"])]
    trial.seconds = time.perf_counter() - started
    if not trial.converged:
        _keep_failure(ref, trial)
    return trial


def _what_was_left(ref: Reference, index: int, found: dict[str, Any]) -> str:
    if found == ref.states[index + 1]:
        return "complete"
    return "nothing" if found == ref.states[index] else "partial"


def _keep_failure(ref: Reference, trial: Trial) -> None:
    """The failing trial's store, for a person to look at."""
    kept = ref.work / "failures" / f"trial-{trial.number:05d}-op-{trial.op_index:02d}"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(ref.work / "trial", kept)
    (kept / "trial.json").write_text(json.dumps(trial.__dict__, indent=2), encoding="utf-8")


def summarise(trials: list[Trial], seconds: float) -> dict[str, Any]:
    return {
        "trials": len(trials),
        "converged": sum(t.converged for t in trials),
        "seconds": round(seconds, 1),
        "by_job": dict(Counter(t.job for t in trials)),
        "by_kill": dict(Counter(t.kill.split(":")[0] for t in trials)),
        "killed": sum(t.exitcode == KILLED for t in trials),
        "left": dict(Counter(t.left for t in trials)),
        "failures": [
            {"trial": t.number, "op": t.op, "kill": t.kill, "problems": t.problems[:5]}
            for t in trials
            if not t.converged
        ],
    }


def run(
    *,
    trials: int,
    seed: int,
    work: Path,
    size: MarketSize = DEFAULT_MARKET,
    finish_plan: bool = True,
    log: Any = None,
) -> dict[str, Any]:
    """Prepare the reference, run the trials, and return the summary."""
    started = time.perf_counter()
    context = _context()
    ref = prepare(work, size, context)
    rng = random.Random(seed)
    done: list[Trial] = []
    with (work / "trials.jsonl").open("w", encoding="utf-8") as journal:
        for number in range(trials):
            trial = run_trial(ref, context, rng, number, finish_plan=finish_plan)
            done.append(trial)
            journal.write(json.dumps(trial.__dict__) + "\n")
            journal.flush()
            if log is not None:
                state = "converged" if trial.converged else "FAILED " + "; ".join(trial.problems)
                print(
                    f"{number:5d} {trial.op:<40} {trial.kill:<24} {trial.left:<9} {state}",
                    file=log,
                    flush=True,
                )
    summary = summarise(done, time.perf_counter() - started)
    summary |= {
        "seed": seed,
        "operations": len(ref.plan),
        "finish": "plan" if finish_plan else "op",
    }
    return summary


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
        choices=("plan", "op"),
        default="plan",
        help="after the kill re-run the rest of the plan (default) or only the killed operation",
    )
    arguments = parser.parse_args(argv)
    summary = run(
        trials=arguments.trials,
        seed=arguments.seed,
        work=arguments.work,
        finish_plan=arguments.finish == "plan",
        log=sys.stdout,
    )
    print(json.dumps(summary, indent=2))
    return 0 if summary["converged"] == summary["trials"] else 1


if __name__ == "__main__":
    sys.exit(main())
