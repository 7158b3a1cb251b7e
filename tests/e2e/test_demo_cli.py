"""`clearwatch demo` end to end on a small market: every injected fault found as expected,
then the cases explained, reviewed and swept, the warnings approved and delivered."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path


def _row(out: str, first: str) -> list[str]:
    """The cells of the summary line that starts with `first`."""
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [first])


def test_the_demo_finds_every_injected_fault_and_goes_on_past_run_day(
    cli_env: dict[str, str],
) -> None:
    command = [
        sys.executable, "-m", "clearwatch.entrypoints.cli", "demo", "--brokers", "7",
        "--banks", "3", "--clients", "350", "--executions", "1500", "--days", "2",
    ]  # fmt: skip
    env = {**cli_env, "COLUMNS": "80"}  # the tables fit a plain terminal: nothing cut
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "misappropriation" in out and "major" in out and "CITY-SZ" in out
    assert out.count("✓") == 8  # 7 faults, the standing unfiled account on both days
    assert "…" not in out
    checked = [line for line in out.splitlines() if "✓" in line]
    assert all(re.search(r"2026-11-1[67] +[a-z_]+ +B\d+|2026-11-1[67] +[a-z_]+ +K\d+", line)
               for line in checked), out  # fmt: skip
    assert "✗" not in out
    assert "end of day refused" not in out and "unexpected receipt" not in out
    reports = sorted((Path(cli_env["CLEARWATCH_HOME"]) / "reports" / "monitor").glob("*.html"))
    assert [r.name for r in reports] == ["2026-11-16.html", "2026-11-17.html"]
    _assert_the_measures_after_the_warning(out, Path(cli_env["CLEARWATCH_HOME"]))


def _assert_the_measures_after_the_warning(out: str, home: Path) -> None:
    # Seven cases: one left unexplained (overdue at the sweep), one falsified, one careless, the
    # falsified broker's other two waiting for the analyst, two accepted.
    assert "Cases by state 核实说明案件" in out
    states = {s: _row(out, s)[-1] for s in ("open", "explained", "overdue", "closed_accepted",
                                             "closed_careless", "closed_falsified")}  # fmt: skip
    assert states == {"open": "0", "explained": "2", "overdue": "1", "closed_accepted": "2",
                      "closed_careless": "1", "closed_falsified": "1"}, out  # fmt: skip
    assert "falsified explanation: B001 2026-11-17 F4 → M3" in out
    assert "careless explanation: K003 2026-11-17 F8 (CARELESS_VERIFICATION)" in out
    assert "overdue at the sweep: B005 2026-11-16 F1 (CARELESS_VERIFICATION)" in out
    assert "warnings approved by a second analyst: 4" in out
    # Four warnings to a bureau and the institution each, CSRC for the major one: nine inbox
    # deliveries; the major warning's three notices rendered, the other six deferred.
    assert "Deliveries by channel 预警推送" in out
    assert _row(out, "inbox")[-3:] == ["9", "0", "0"]
    assert _row(out, "documents")[-3:] == ["3", "6", "0"]
    assert "webhooks: no receiver configured" in out
    pdfs = sorted(p.parent.name for p in (home / "deliveries").glob("*/*.pdf"))
    assert pdfs == ["B001", "CITY-SZ", "CSRC"]
    _assert_every_act_was_a_demo_persons(home / "clearwatch.sqlite3")


def _assert_every_act_was_a_demo_persons(store: Path) -> None:
    """Each institution's officer explained its own cases; SIPF's analyst reviewed and swept;
    a second analyst approved; the delivery worker delivered — each under its own name."""
    with closing(sqlite3.connect(store)) as db:
        moves = db.execute(
            "select distinct e.move, e.actor, c.institution_id from "
            "monitor_case_events e join monitor_cases c using (case_id)"
        ).fetchall()
        deciders = db.execute(
            "select distinct proposed_by, decided_by from monitor_warning_decisions"
        ).fetchall()
        workers = db.execute("select distinct worker from monitor_delivery_events").fetchall()
    assert {(m, a) for m, a, _ in moves if m != "explain"} == {
        ("open", "demo-analyst"), ("accept", "demo-analyst"), ("falsified", "demo-analyst"),
        ("careless", "demo-analyst"), ("deadline", "demo-analyst"),
    }  # fmt: skip
    assert all(a == f"{i.lower()}-officer" for m, a, i in moves if m == "explain"), moves
    assert deciders == [("demo-analyst", "demo-reviewer")]
    assert workers == [("demo-delivery",)]
