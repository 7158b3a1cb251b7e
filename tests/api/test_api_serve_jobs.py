"""`clearwatch serve` runs the deadline sweep and the delivery worker in the background.

A day is run and its warning approved in-process; then a real server starts with short
intervals, acting as a registered SIPF user, and without anyone running `cases sweep` or
`cases deliver` the approved warning reaches its bureau's inbox and the case past its deadline
becomes overdue. The audit log names the server's user and process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.services.monitor.delivery_approval import approve_warning
from tests.api.support import API, bearer, load_world, person
from tests.api.test_api_serve import _env, serving

background_seconds_max = 180  # PDFs in Chinese take a few seconds each
WORKER = "sipf-serve-worker"


def _until(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + background_seconds_max
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"never happened: {what}")


def test_serve_sweeps_and_delivers_in_the_background_as_its_named_user(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        CLEARWATCH_SERVE_WORKER_USER=WORKER,
        CLEARWATCH_SERVE_SWEEP_SECONDS="1",
        CLEARWATCH_SERVE_DELIVER_SECONDS="1",
    )
    app = build_application(Settings.from_environment(env))
    app.init_schema()
    load_world(app, tmp_path / "market")  # B002 500.00 short: a case and a major warning
    person(app, "SIPF", Role.ANALYST, WORKER)
    reviewer = app.gate(local_caller(person(app, "SIPF", Role.REVIEWER)))
    with app.read_uow() as uow:
        [warning] = uow.warning_review.warnings()
        [case] = uow.cases.cases()
    assert case.status.value == "open"  # its deadline (24 Nov 17:00) has passed in real time
    approve_warning(warning_id=warning.warning_id, gate=reviewer, context=app.delivery_context())
    bureau = bearer(app, person(app, "CITY-SZ", Role.BUREAU_HEAD))
    analyst = bearer(app, person(app, "SIPF", Role.ANALYST))
    app.dispose()

    log = tmp_path / "serve.log"
    with serving(env, log) as base, httpx.Client(base_url=f"{base}{API}", timeout=30) as client:

        def delivered() -> bool:
            return [m["institution_id"] for m in client.get("/inbox", headers=bureau).json()] == [
                "B002"
            ]

        def overdue() -> bool:
            shown = client.get(f"/cases/{case.case_id}", headers=analyst).json()
            return bool(shown["case"]["status"] == "overdue")

        _until("the bureau's inbox holds B002's warning", delivered)
        _until("the case is overdue", overdue)
        _until("every delivery made", lambda: _all_delivered(client, analyst))
    output = log.read_text()
    assert f"background as {WORKER}: sweep every 1 s, delivery every 1 s" in output

    app = build_application(Settings.from_environment(env))
    with app.read_uow() as uow:
        records = list(uow.audit.records(after_seq=0))
    app.dispose()
    sweeps = [r for r in records if r.action == "monitor.sweep"]
    assert len(sweeps) == 1 and sweeps[0].actor == WORKER  # idempotent: once, whatever rounds
    deliveries = [r for r in records if r.action == "monitor.delivery.delivered"]
    assert deliveries and all(r.actor.startswith(f"{WORKER}/serve:") for r in deliveries)


def _all_delivered(client: httpx.Client, headers: dict[str, str]) -> bool:
    return {d["state"] for d in client.get("/deliveries", headers=headers).json()} == {"delivered"}
