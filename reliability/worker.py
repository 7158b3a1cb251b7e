"""Run one back-office or monitor job in-process, the way the CLI wires it: the harnesses' worker.

    python -m reliability.worker submit PACKAGE_DIR --at 2026-11-16T19:00:00+08:00
    python -m reliability.worker import BATCH_DIR --at ...
    python -m reliability.worker eod --inbox DIR --broker B001 --date 2026-11-16 --at ...
    python -m reliability.worker run-day --date 2026-11-16 --at ...
    python -m reliability.worker approve --date 2026-11-16 --at ...    # the day's warnings
    python -m reliability.worker deliver --date 2026-11-16 --at ...    # one delivery round
    python -m reliability.worker registry DIR --at ...
    python -m reliability.worker plan PLAN.json --start K        # operations K.. of a plan

The store comes from the environment (`CLEARWATCH_HOME`, `CLEARWATCH_DATABASE_URL`, …) as for
the CLI; each job prints one JSON line with its outcome. Like a CLI command, a job builds its
own application, signs the audit log's head when it wrote (`anchor_appended`) and closes it.

The CLI is not driven on purpose: it is moving to signed-in callers, and what these harnesses
test is the services and the stores under kills and races, not sign-in. A submit acts as the
package's institution's registered submitter, a local caller the policy is asked for
(`reliability.identity`; `identities REGISTRY_DIR` registers them in a new store); the other
jobs' services still take an actor string, and act as `SYSTEM_ACTOR`. When they take callers,
each job should act as a registered identity of the organisation concerned (the back office's
importer, the monitor's analyst), as submit does. Approving and delivering warnings already
take callers: SIPF's reviewer and delivery worker (`register_monitor_staff`). Both run on the
replay clock, so that a notice's approval time, and each document's bytes, are the same in
every run of a plan.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sys
import tarfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from clearwatch.bootstrap import Application, build_application, replay_clock
from clearwatch.config import CRASH_AT, DATABASE_URL, EOD_STOP_AFTER, HOME, WEBHOOKS, Settings
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.services.backoffice.books_check import BooksBreached
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.backoffice.run_eod import EodFailed, EodInterrupted, EodRequest, run_eod
from clearwatch.services.monitor.delivery import run_worker
from clearwatch.services.monitor.delivery_approval import approve_warning, review_warnings
from clearwatch.services.monitor.registry import load_registry
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.submit_package import submit_package
from reliability.identity import (
    DELIVERY_WORKER,
    REVIEWER,
    SYSTEM_ACTOR,
    register_submitters,
    staff_gate,
    submit_gate,
    submitter_of,
)
from reliability.scenario import HOME_MARK, Job, Op, institutions, load_plan

# Replay mode lets `--at` set business time where the store requires it; the harnesses replay
# recorded days, so they always run in it. (Ignored by a clearwatch that has no replay mode.)
REPLAY_VARIABLE = "CLEARWATCH_REPLAY"
Outcome = dict[str, Any]


@dataclass(frozen=True)
class Arming:
    """How a job is to die, for the crash harness: at a named crash point of the adapters
    (`CLEARWATCH_CRASH_AT`), or by SIGKILL right after an end-of-day step completes."""

    crash_at: str | None = None
    eod_kill_after: str | None = None


UNARMED = Arming()


def settings_for(
    home: Path,
    *,
    database_url: str | None = None,
    arming: Arming = UNARMED,
    webhooks: Path | None = None,
) -> Settings:
    """The settings a CLI command would read from an environment naming this store."""
    environ = {HOME: str(home), REPLAY_VARIABLE: "1"}
    if database_url:
        environ[DATABASE_URL] = database_url
    if webhooks is not None:
        environ[WEBHOOKS] = str(webhooks)
    if arming.crash_at:
        environ[CRASH_AT] = arming.crash_at
    if arming.eod_kill_after:
        environ[EOD_STOP_AFTER] = arming.eod_kill_after
    return Settings.from_environment(environ)


def run_op(op: Op, settings: Settings) -> Outcome:
    """Run one operation as its own command would: own application, anchored, closed."""
    app = build_application(settings, replay_clock(datetime.fromisoformat(op.at)))
    try:
        outcome = JOBS[op.job](app, op)
        app.anchor_appended()
    finally:
        app.dispose()
    return outcome


def _registry(app: Application, op: Op) -> Outcome:
    directory = op.directory(app.settings.home)
    result = load_registry(
        files=app.read_registry_files(directory),
        source=str(directory),
        actor=SYSTEM_ACTOR,
        uow=app.uow(),
        clock=app.clock,
    )
    return {"job": op.job.value, "loaded": result.loaded, "version": result.version}


def _import(app: Application, op: Op) -> Outcome:
    try:
        result = import_batch(
            directory=op.directory(app.settings.home),
            uow=app.uow(),
            tools=app.backoffice_tools,
            at=app.clock.now(),
            actor=SYSTEM_ACTOR,
        )
    except BatchRejected as rejected:
        return {"job": op.job.value, "status": "refused", "rule": rejected.rule}
    return {"job": op.job.value, "status": result.status.value, "posted": result.entries_posted}


def _eod(app: Application, op: Op) -> Outcome:
    request = EodRequest(
        business_date=date.fromisoformat(op.day),
        inbox=op.directory(app.settings.home),
        out_root=app.settings.home / "out",
        broker_id=op.institution,
        stop_after=app.settings.eod_stop_after,
    )
    try:
        report = run_eod(
            uow=app.uow(),
            tools=app.backoffice_tools,
            clock=app.clock,
            request=request,
            actor=SYSTEM_ACTOR,
        )
    except EodInterrupted:
        # The harness's step-boundary crash: die as a power cut would, nothing after the step.
        os.kill(os.getpid(), signal.SIGKILL)
        raise  # not reached
    except EodFailed as failed:
        return {"job": op.job.value, "status": "refused", "rule": failed.rule}
    except BooksBreached as breached:
        return {"job": op.job.value, "status": "breached", "detail": str(breached)}
    return {"job": op.job.value, "status": "done", "steps_run": report.steps_run}


def _submit(app: Application, op: Op) -> Outcome:
    directory = op.directory(app.settings.home)
    if not (directory / "manifest.json").is_file() and op.path.startswith(HOME_MARK):
        # The broker's end of day was refused: it has nothing to submit (the monitor sees LATE).
        return {"job": op.job.value, "status": "nothing_to_submit"}
    institution = op.institution or institution_of(directory)
    receipt = submit_package(
        directory=str(directory),
        context=app.submit_context(),
        gate=submit_gate(app, institution),
    )
    codes = sorted({error.code.value for error in receipt.errors})
    return {"job": op.job.value, "status": receipt.status.value, "codes": codes}


def _upload(app: Application, op: Op) -> Outcome:
    """The package streamed to the HTTP API as its institution's submitter would send it:
    a tar of the folder, the app started and stopped as `serve` would (its lifespan)."""
    from fastapi.testclient import TestClient

    from clearwatch.entrypoints.api.app import create_app

    directory = op.directory(app.settings.home)
    institution = op.institution or institution_of(directory)
    now = app.real_clock.now()
    token = app.authentication.signer.issue(
        user_id=submitter_of(institution), issued_at=now, expires_at=now + timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-tar"}
    with TestClient(create_app(app, anchor_every_seconds=None)) as client:
        answer = client.post("/api/v1/packages", content=_tar(directory), headers=headers)
    receipt = answer.json()
    codes = sorted({error["code"] for error in receipt.get("errors", [])})
    return {"job": op.job.value, "status": receipt.get("status"), "codes": codes}


def _tar(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(directory.iterdir()):
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def institution_of(directory: Path, default: str = "B001") -> str:
    """The institution a package's manifest names, as far as it can be read."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
    named = manifest.get("institution_id") if isinstance(manifest, dict) else None
    return named if isinstance(named, str) and named else default


def _run_day(app: Application, op: Op) -> Outcome:
    outcome = run_day(
        business_date=date.fromisoformat(op.day),
        actor=SYSTEM_ACTOR,
        context=app.run_day_context(),
    )
    app.write_day_report(outcome.result)  # as `monitor run-day` does after the run
    return {"job": op.job.value, "version": outcome.result_version, "recorded": outcome.recorded}


def _approve(app: Application, op: Op) -> Outcome:
    """SIPF's reviewer approves every warning of the day still proposed, one by one (each
    approval and its outbox rows one transaction: a killed round leaves whole approvals)."""
    context = app.delivery_context(app.clock)
    gate = staff_gate(app, REVIEWER)
    proposed = review_warnings(
        gate=gate,
        context=context,
        business_date=date.fromisoformat(op.day),
        status=WarningStatus.PROPOSED,
    )
    written = sum(
        approve_warning(warning_id=w.warning_id, gate=gate, context=context).deliveries
        for w in proposed
    )
    return {"job": op.job.value, "approved": len(proposed), "deliveries": written}


def _deliver(app: Application, op: Op) -> Outcome:
    """One round of the delivery worker, as `clearwatch cases deliver --once` runs it."""
    gate = staff_gate(app, DELIVERY_WORKER)
    done = run_worker(gate=gate, context=app.delivery_context(app.clock), worker=DELIVERY_WORKER)
    return {"job": op.job.value, "attempted": done.attempted, "delivered": done.delivered}


JOBS: Mapping[Job, Callable[[Application, Op], Outcome]] = {
    Job.REGISTRY: _registry,
    Job.IMPORT: _import,
    Job.EOD: _eod,
    Job.SUBMIT: _submit,
    Job.UPLOAD: _upload,
    Job.RUN_DAY: _run_day,
    Job.APPROVE: _approve,
    Job.DELIVER: _deliver,
}


WORK_STARTED = "work started"


def run_ops_child(
    plan_path: Path,
    start: int,
    stop: int,
    settings: Settings,
    result_path: Path | None,
    first_later_seconds: float = 0.0,
    marks: Connection | None = None,
) -> None:
    """A child process's work: operations `start`..`stop - 1` of the plan, one after another,
    each as its own command; the outcomes go to `result_path` as JSON when it is given. The
    first runs `first_later_seconds` after its planned time (a delivery round started again
    once a killed round's claims are past their lease).

    `marks`, when given, is told when the operations' own work starts (`WORK_STARTED`, once
    the process is up and the plan read) and, when it is done, how long it took in seconds:
    the crash harness times its kills from the one and draws them within the other."""
    ops = load_plan(plan_path)[start:stop]
    if ops and first_later_seconds:
        later = datetime.fromisoformat(ops[0].at) + timedelta(seconds=first_later_seconds)
        ops[0] = replace(ops[0], at=later.isoformat())
    if marks is not None:
        marks.send(WORK_STARTED)
    started = time.perf_counter()
    outcomes = [run_op(op, settings) for op in ops]
    if marks is not None:
        marks.send(time.perf_counter() - started)  # float ok: seconds of work
        marks.close()
    if result_path is not None:
        result_path.write_text(json.dumps(outcomes), encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reliability.worker", description=__doc__)
    jobs = parser.add_subparsers(dest="job", required=True)
    for name in ("registry", "import", "submit"):
        job = jobs.add_parser(name)
        job.add_argument("directory", type=Path)
        job.add_argument("--at", required=True)
    eod = jobs.add_parser("eod")
    eod.add_argument("--inbox", type=Path, required=True)
    eod.add_argument("--broker", required=True)
    day_jobs = (jobs.add_parser(name) for name in ("run-day", "approve", "deliver"))
    for job in (eod, *day_jobs):
        job.add_argument("--date", required=True)
        job.add_argument("--at", required=True)
    jobs.add_parser("identities").add_argument("registry", type=Path)
    plan = jobs.add_parser("plan")
    plan.add_argument("plan", type=Path)
    plan.add_argument("--start", type=int, default=0)
    return parser


def _op_of(arguments: argparse.Namespace) -> Op:
    job = Job(arguments.job.replace("-", "_"))
    if job is Job.EOD:
        return Op(job, arguments.at, str(arguments.inbox), arguments.broker, arguments.date)
    if job in (Job.RUN_DAY, Job.APPROVE, Job.DELIVER):
        return Op(job, arguments.at, day=arguments.date)
    return Op(job, arguments.at, str(arguments.directory))


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    settings = Settings.from_environment(os.environ | {REPLAY_VARIABLE: "1"})
    if arguments.job == "identities":
        app = build_application(settings)
        register_submitters(app, institutions(arguments.registry))
        app.dispose()
        return 0
    if arguments.job == "plan":
        ops = load_plan(arguments.plan)[arguments.start :]
    else:
        ops = [_op_of(arguments)]
    for op in ops:
        print(json.dumps({"op": op.label} | run_op(op, settings), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
