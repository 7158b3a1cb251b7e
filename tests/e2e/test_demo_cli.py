"""`clearwatch demo` end to end on a small market: every injected fault found as expected."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_the_demo_finds_every_injected_fault_and_writes_the_html_reports(
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
