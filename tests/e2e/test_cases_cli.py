"""`clearwatch cases` as the institution, SIPF's analysts, a bureau and CSRC drive it.

A day with findings is run; an officer explains with an attachment; an analyst finds it
falsified (M3, a new result version); a reviewer approves the warnings; the delivery worker is
killed (`kill -9`, at a crash point) right after a webhook was sent, and restarted: every
webhook arrives, each key once, signed; the inboxes hold what was routed to them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS
from tests.scenarios.test_cases_review import gap_world, overdraft_world
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS, KIND_OF
from tests.support.identities import signed_env
from tests.support.packages import csv_text, write_package, write_registry
from tests.support.webhook_receiver import SECRET, free_port, receiver


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def ok(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = clearwatch(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def as_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(ok(env, *args, "--json").stdout)


def submit_world(env: dict[str, str], directory: Path, world: dict[str, Any]) -> None:
    """Each institution's package, rows completed with the defaults of later columns."""
    for institution, files in world.items():
        kind = KIND_OF[institution[0]]
        specs = {f.name: f for f in PACKAGE_SPECS[kind].files}
        texts = {}
        for name, rows in files.items():
            columns = specs[name].columns
            padded = [
                row + [getattr(c, "default", None) or "" for c in columns[len(row) :]]
                for row in rows
            ]
            texts[name] = csv_text(",".join(specs[name].column_names), padded)
        package = write_package(directory / institution, kind, institution, DAY, texts)
        submitter = signed_env(env, institution, Role.SUBMITTER)
        ok(submitter, "monitor", "submit", str(package), "--at", "2026-11-20T18:00:00+08:00")


def webhooks_file(path: Path, port: int) -> Path:
    entries = "".join(
        f'[recipients."{r}"]\nurl = "http://127.0.0.1:{port}/hook"\nsecret = "{SECRET.decode()}"\n'
        for r in ("CN-SH", "CITY-SZ", "B001", "B002", "CSRC")
    )
    path.write_text(entries, encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def test_cases_from_explanation_to_delivery_through_a_worker_killed_mid_batch(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**cli_env, "CLEARWATCH_WEBHOOKS": str(webhooks_file(tmp_path / "hooks.toml", port))}
    ok(env, "init")
    registry_officer = signed_env(env, "SIPF", Role.REGISTRY_OFFICER)
    ok(registry_officer, "monitor", "registry", "load", str(
        write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)))  # fmt: skip
    world = gap_world()
    world["B002"] = overdraft_world()["B002"]
    submit_world(env, tmp_path / "packages", world)
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    ok(analyst, "monitor", "run-day", "--date", "2026-11-20", "--at", "2026-11-23T10:00:00+08:00")

    cases = as_json(analyst, "cases", "list")
    assert sorted((c["institution_id"], c["finding_code"]) for c in cases) == [
        ("B001", "F3"), ("B001", "F4"), ("B001", "F6"), ("B002", "F2"),
    ]  # fmt: skip
    officer = signed_env(env, "B002", Role.OFFICER)
    assert [c["institution_id"] for c in as_json(officer, "cases", "list")] == ["B002"]
    case = next(c["case_id"] for c in cases if c["institution_id"] == "B002")
    statement = tmp_path / "statement.txt"
    statement.write_text("bank statement", encoding="utf-8")
    ok(officer, "cases", "explain", str(case), "--category", "data_error", "--text",
       "录入错误", "--party", "清算部", "--attach", str(statement))  # fmt: skip
    shown = as_json(officer, "cases", "show", str(case))
    assert shown["timeline"][-1]["explanation"]["attachments"][0]["name"] == "statement.txt"
    refused = clearwatch(officer, "cases", "decide", str(case), "accept", "--reason", "mine")
    assert refused.returncode == 3 and "policy_must_allow_action" in refused.stderr
    decided = ok(analyst, "cases", "decide", str(case), "falsified", "--reason", "流水不符")
    assert "M3 added" in decided.stdout and "result version 2" in decided.stdout

    reviewer = signed_env(env, "SIPF", Role.REVIEWER)
    proposed = as_json(reviewer, "cases", "warnings", "list", "--status", "proposed")
    assert sorted((w["institution_id"], w["level"]) for w in proposed) == [
        ("B001", "major"), ("B002", "major"),
    ]  # fmt: skip
    own = clearwatch(analyst, "cases", "warnings", "approve", str(proposed[0]["warning_id"]))
    assert own.returncode == 3
    for warning in proposed:
        ok(reviewer, "cases", "warnings", "approve", str(warning["warning_id"]))

    with receiver(port) as received:
        killed = clearwatch({**analyst, "CLEARWATCH_CRASH_AT": "webhook_sent"},
                            "cases", "deliver", "--once")  # fmt: skip
        assert killed.returncode == -signal.SIGKILL
        assert len(received.bodies) == 1  # sent, then the worker died before recording it
        restarted = {**analyst, "CLEARWATCH_DELIVERY_LEASE_SECONDS": "0"}
        ok(restarted, "cases", "deliver", "--once")
        ok(restarted, "cases", "deliver", "--once")
    deliveries = as_json(analyst, "cases", "deliveries")
    assert {d["state"] for d in deliveries} == {"delivered"}
    webhooks = {d["delivery_key"] for d in deliveries if d["channel"] == "webhook"}
    assert set(received.bodies) == webhooks and len(webhooks) == 6  # bureau, copy, CSRC each
    assert received.refused == [] and received.repeats == 1  # the one sent before the kill

    bureau = signed_env(env, "CN-SH", Role.BUREAU_HEAD)
    assert [m["institution_id"] for m in as_json(bureau, "cases", "inbox")] == ["B001"]
    csrc = signed_env(env, "CSRC", Role.CSRC_VIEWER)
    assert sorted(m["institution_id"] for m in as_json(csrc, "cases", "inbox")) == ["B001", "B002"]
    pdfs = list((Path(env["CLEARWATCH_HOME"]) / "deliveries" / "CSRC").glob("*.pdf"))
    assert len(pdfs) == 2

    args = ("cases", "sweep", "--at", "2026-11-24T17:00:01+08:00")
    first = ok(analyst, *args)
    assert "3 case(s) overdue" in first.stdout
    assert "nothing new" in ok(analyst, *args).stdout
