"""What `clearwatch serve` runs beside the API: the deadline sweep and the delivery worker.

Both act as one named SIPF user (`CLEARWATCH_SERVE_WORKER_USER`), registered like anyone else
and holding a role the policy lets sweep and deliver (analyst or reviewer): the table decides
for a server exactly as for a person at the CLI, and the audit log names that user. The
delivery worker also names the process (`<user>/serve:<host>:<pid>`) on every claim and
delivery it records, so that an operator can tell which server did what. Unset, neither job
runs; `CLEARWATCH_SERVE_SWEEP_SECONDS` / `..._DELIVER_SECONDS` set each interval, 0 disables one.

Several servers may run both on one store: a delivery is claimed by one worker only (its next
event's seq), and the sweep is idempotent (a case is marked overdue once, an occurrence recorded
once). A sweep that lost a race on a case is refused for that round and tries again next time.
A job whose user the policy refuses stops (the refusal is audited once, not every round).

Besides, every server deletes the web sessions that ended without a logout, every
`session_sweep_seconds`: the server's own housekeeping, which needs no user (nobody asks it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.shared.errors import ClearwatchError, Refused
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.access.web_sessions import sweep_web_sessions
from clearwatch.services.monitor.cases_sweep import sweep
from clearwatch.services.monitor.delivery import run_worker

_log = logging.getLogger("clearwatch.serve")
session_sweep_seconds = 600.0  # how often a server deletes the web sessions that ended


@dataclass(frozen=True)
class BackgroundJob:
    """A round of work run every `every_seconds` while the server runs."""

    name: str
    every_seconds: float
    round: Callable[[], str]  # one round; what it did, for the log

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)
            try:
                done = await run_in_threadpool(self.round)
            except PolicyDenied as denied:
                _log.error("%s stopped: the policy refuses its user: %s", self.name, denied)
                return
            except Refused as refusal:
                _log.warning("%s round refused, tried again later: %s", self.name, refusal)
                continue
            except ClearwatchError as error:
                _log.warning("%s round failed: %s: %s", self.name, type(error).__name__, error)
                continue
            except Exception:
                # A bug in one round must not stop the serving; the next round tries again.
                _log.exception("%s round failed", self.name)
                continue
            if done:
                _log.info("%s: %s", self.name, done)


def worker_label(user_id: str) -> str:
    """How this server process signs the deliveries it records."""
    return f"{user_id}/serve:{socket.gethostname()}:{os.getpid()}"


def session_sweep_job(application: Application) -> BackgroundJob:
    """Delete the web sessions that ended (up to the sweep's bound a round), audited as this
    server process."""
    actor = f"serve:{socket.gethostname()}:{os.getpid()}"

    def sessions_round() -> str:
        at = application.real_clock.now()
        swept = sweep_web_sessions(uow=application.uow(), at=at, actor=actor)
        return f"{swept} ended web session(s) deleted" if swept else ""

    return BackgroundJob("sessions", session_sweep_seconds, sessions_round)


def serve_jobs(application: Application) -> tuple[BackgroundJob, ...]:
    """The session sweep always; the sweep and the delivery worker as the settings ask, none
    of them without a worker user."""
    settings = application.settings
    user_id = settings.serve_worker_user
    if user_id is None:
        return (session_sweep_job(application),)
    gate = application.gate(local_caller(user_id))
    jobs = [session_sweep_job(application)]
    if settings.serve_sweep_seconds > 0:
        context = application.cases_context()

        def sweep_round() -> str:
            outcome = sweep(gate=gate, context=context)
            if not outcome.recorded:
                return ""
            return f"{len(outcome.overdue)} case(s) overdue, {len(outcome.late)} late package(s)"

        jobs.append(BackgroundJob("sweep", settings.serve_sweep_seconds, sweep_round))
    if settings.serve_deliver_seconds > 0:
        delivery = application.delivery_context()
        label = worker_label(user_id)

        def deliver_round() -> str:
            done = run_worker(gate=gate, context=delivery, worker=label)
            if not done.attempted and not done.parked:
                return ""
            return (f"attempted {done.attempted}: delivered {done.delivered}, "
                    f"failed {done.failed}, parked {done.parked}")  # fmt: skip

        jobs.append(BackgroundJob("delivery", settings.serve_deliver_seconds, deliver_round))
    return tuple(jobs)
