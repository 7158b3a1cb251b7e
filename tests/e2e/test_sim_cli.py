"""`clearwatch sim day` and `clearwatch sim faults` as a user runs them, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clearwatch.sim.faults import FAULT_NAMES


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    env = {**env, "COLUMNS": "200"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_sim_day_writes_registry_batches_packages_and_expected_faults(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "market"
    result = clearwatch(
        cli_env,
        "sim",
        "day",
        "--brokers",
        "2",
        "--banks",
        "2",
        "--clients",
        "200",
        "--executions",
        "800",
        "--days",
        "2",
        "--seed",
        "5",
        "--start",
        "2026-11-20",
        "--faults",
        "misappropriation,late_package@1",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "2026-11-20" in result.stdout and "2026-11-23" in result.stdout  # over the weekend
    assert sorted(p.name for p in (out / "registry").iterdir()) == [
        "holidays.csv",
        "institutions.csv",
        "special_accounts.csv",
    ]
    day_one, day_two = out / "2026-11-20", out / "2026-11-23"
    assert sorted(p.name for p in (day_one / "broker" / "B001").iterdir()) == [
        "bank",
        "static",
        "trading",
    ]
    assert sorted(p.name for p in (day_two / "broker" / "B001").iterdir()) == ["bank", "trading"]
    assert sorted(p.name for p in (day_two / "packages").iterdir()) == ["CSDC", "K001", "K002"]
    manifest = json.loads((day_two / "expected" / "B001" / "manifest.json").read_text())
    assert (manifest["format"], manifest["kind"], manifest["sequence"]) == (
        "clearwatch.package/1",
        "broker_daily",
        1,
    )
    first = json.loads((day_one / "faults.json").read_text())
    assert [f["fault"] for f in first["faults"]] == ["late_package"]
    second = json.loads((day_two / "faults.json").read_text())
    [fault] = second["faults"]
    assert fault["fault"] == "misappropriation"
    assert fault["expected"]["institutions"][0]["warnings"][0]["level"] == "major"


def test_sim_day_refuses_an_unknown_fault(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = clearwatch(cli_env, "sim", "day", "--faults", "gremlins", "--out", str(tmp_path))
    assert result.returncode != 0
    assert "unknown fault 'gremlins'" in result.stderr


def test_sim_faults_lists_the_whole_catalogue(cli_env: dict[str, str]) -> None:
    result = clearwatch(cli_env, "sim", "faults")
    assert result.returncode == 0, result.stderr
    for name in FAULT_NAMES:
        assert name in result.stdout
    assert "major" in result.stdout
    wide = clearwatch(cli_env, "sim", "faults", "--wide")  # the labels are a wide column
    assert wide.returncode == 0 and "幽灵资金" in wide.stdout


def test_sim_day_refuses_to_write_over_an_earlier_market(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "old.csv").write_text("x\n")
    result = clearwatch(cli_env, "sim", "day", "--clients", "10", "--out", str(tmp_path))
    assert result.returncode != 0
    assert "is not empty" in result.stderr
