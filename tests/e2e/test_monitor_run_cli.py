"""`clearwatch monitor run-day` and `warnings` as an analyst drives them, in a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS, KIND_OF, clean_world
from tests.support.identities import signed_env
from tests.support.packages import csv_text, write_package, write_registry


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def load_registry(env: dict[str, str], directory: Path) -> subprocess.CompletedProcess[str]:
    """`monitor registry load` as SIPF's registry officer."""
    officer = signed_env(env, "SIPF", Role.REGISTRY_OFFICER)
    return clearwatch(officer, "monitor", "registry", "load", str(directory))


def submit_world(env: dict[str, str], directory: Path, world: dict[str, Any]) -> None:
    """Write each institution's package of the day under `directory` and submit it on time,
    each as that institution's submitter."""
    for institution, files in world.items():
        kind = KIND_OF[institution[0]]
        headers = {f.name: ",".join(f.column_names) for f in PACKAGE_SPECS[kind].files}
        package = write_package(
            directory / institution, kind, institution, DAY,
            {name: csv_text(headers[name], rows) for name, rows in files.items()},
        )  # fmt: skip
        submitter = signed_env(env, institution, Role.SUBMITTER)
        submitted = clearwatch(
            submitter, "monitor", "submit", str(package), "--at", "2026-11-20T18:00:00+08:00"
        )
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr


def test_run_day_prints_writes_json_and_html_and_lists_its_warnings(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "COLUMNS": "200"}
    assert clearwatch(env, "init").returncode == 0
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)
    assert load_registry(env, registry).returncode == 0
    world = clean_world()
    world["B002"]["client_funds.csv"].append(["Z2", "z2", "normal", "K002", "-500.00"])
    del world["K001"]  # K001 never reports: incomplete and late
    submit_world(env, tmp_path, world)
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    out = tmp_path / "day.json"
    args = ("monitor", "run-day", "--date", "2026-11-20", "--at", "2026-11-23T10:00:00+08:00")
    first = clearwatch(analyst, *args, "--json", str(out))
    assert first.returncode == 0, first.stderr
    assert "result recorded as version 1" in first.stdout
    document = json.loads(out.read_text())
    b002 = next(i for i in document["institutions"] if i["institution_id"] == "B002")
    assert b002["problem_ratio"] == "0.250000"
    assert b002["warnings"] == [
        {"level": "major", "criteria": ["M2", "G3"], "route_to": "CITY-SZ", "cc": "B002",
         "special_report": True, "problem_amount": "500.00"}
    ]  # fmt: skip
    assert document["reminders"] == [
        {"institution_id": "K001", "category": "LATE", "count_this_year": 1}
    ]
    html_path = Path(re.search(r"HTML report: (\S+)", first.stdout).group(1))  # type: ignore[union-attr]
    page = html_path.read_text(encoding="utf-8")
    assert html_path.name == "2026-11-20.html" and "CITY-SZ" in page
    # The charts are SVG drawn on the server: no script at all, and the page stays small.
    assert "<script" not in page and len(page.encode()) < 100_000
    # B002's ratio (0.250000) is a bar of its numeric value, in percent, on a numeric axis.
    assert re.search(r'data-label="B002" data-value="25.0000"', page)
    assert 'data-tick="0"' in page and 'data-unit="%"' in page

    again = clearwatch(analyst, *args)
    assert again.returncode == 0 and "unchanged; still version 1" in again.stdout
    bureau = ("--date", "2026-11-20", "--bureau", "CITY-SZ")
    listed = clearwatch(analyst, "monitor", "warnings", *bureau)
    assert listed.returncode == 0 and "B002" in listed.stdout and "1 warning(s)" in listed.stdout
    none = clearwatch(analyst, "monitor", "warnings", "--level", "attention")
    assert none.returncode == 0 and "0 warning(s)" in none.stdout
    _listed_to_recipients_once_approved(env)


def _listed_to_recipients_once_approved(env: dict[str, str]) -> None:
    """B002's warning is proposed: its bureau, B002 and CSRC list none of it until a second
    analyst approves it (spec platform §5); then each lists it."""
    recipients = [
        signed_env(env, "CITY-SZ", Role.BUREAU_ANALYST),
        signed_env(env, "B002", Role.OFFICER),
        signed_env(env, "CSRC", Role.CSRC_VIEWER),
    ]
    for recipient in recipients:
        hidden = clearwatch(recipient, "monitor", "warnings")
        assert hidden.returncode == 0 and "0 warning(s)" in hidden.stdout, hidden.stderr
    reviewer = signed_env(env, "SIPF", Role.REVIEWER)
    listed = clearwatch(reviewer, "cases", "warnings", "list", "--status", "proposed", "--json")
    [proposed] = json.loads(listed.stdout)
    approved = clearwatch(reviewer, "cases", "warnings", "approve", str(proposed["warning_id"]))
    assert approved.returncode == 0, approved.stderr
    for recipient in recipients:
        shown = clearwatch(recipient, "monitor", "warnings", "--json")
        assert shown.returncode == 0, shown.stderr
        [warning] = json.loads(shown.stdout)
        assert (warning["institution_id"], warning["released"]) == ("B002", True)


def test_run_day_without_a_registry_fails_with_a_clear_message(cli_env: dict[str, str]) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    analyst = signed_env(cli_env, "SIPF", Role.ANALYST)
    result = clearwatch(analyst, "monitor", "run-day", "--date", "2026-11-20")
    assert result.returncode != 0 and "registry_must_be_loaded" in result.stderr
