"""End of day: outputs, resumable after a crash at any step boundary, safe to re-run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.domain.access.roles import Role
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.run_eod import (
    EOD_STEPS,
    EodInterrupted,
    EodReport,
    EodRequest,
    run_eod,
)
from tests.backoffice_batches import BROKER
from tests.integration.backoffice.eod_days import DAY_1, DAY_2, inbox_day_1, inbox_day_2
from tests.support.identities import signed_env


def _eod(
    app: Application,
    tools: BackOfficeTools,
    day: str,
    inbox: Path,
    out: Path,
    stop_after: str | None = None,
) -> EodReport:
    request = EodRequest(
        business_date=date.fromisoformat(day), inbox=inbox, out_root=out, stop_after=stop_after
    )
    return run_eod(uow=app.uow(), tools=tools, clock=app.clock, request=request)


def _outputs(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(_without_head(path)).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _without_head(path: Path) -> bytes:
    """The file's bytes; a manifest's as written without its signed audit head, which is of
    its moment (the CLI's packages carry one; tools built alone sign none)."""
    if path.name != "manifest.json":
        return path.read_bytes()
    manifest = json.loads(path.read_text("utf-8"))
    manifest.pop("audit_head", None)
    return (json.dumps(manifest, indent=2) + "\n").encode("utf-8")


def _digest(app: Application) -> str:
    with app.uow() as uow:
        return uow.books.books_digest(broker_id=BROKER)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The books and day-2 outputs of one uninterrupted run of both days."""
    from clearwatch.adapters.clock import FixedClock
    from clearwatch.bootstrap import build_application
    from tests.conftest import DEFAULT_TEST_TIME, _settings

    root = tmp_path_factory.mktemp("clean")
    app = build_application(
        _settings(root / "home", f"sqlite:///{root / 'home' / 'db.sqlite3'}"),
        FixedClock(DEFAULT_TEST_TIME),
    )
    app.init_schema()
    tools = build_backoffice_tools(app.columnar, threads=1)
    _eod(app, tools, DAY_1, inbox_day_1(root / "in"), root / "out")
    report = _eod(app, tools, DAY_2, inbox_day_2(root / "in"), root / "out")
    return _digest(app), _outputs(report.out_dir)


def test_a_clean_day_writes_every_output_and_balanced_books(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _eod(app, any_tools, DAY_1, inbox_day_1(tmp_path / "in"), tmp_path / "out")
    report = _eod(app, any_tools, DAY_2, inbox_day_2(tmp_path / "in"), tmp_path / "out")
    assert report.steps_run == [step.value for step in EOD_STEPS]
    out = report.out_dir
    assert out == tmp_path / "out" / BROKER / DAY_2
    manifest = json.loads((out / "package" / "manifest.json").read_text())
    assert manifest["kind"] == "broker_daily" and manifest["institution_id"] == BROKER
    for entry in manifest["files"]:
        data = (out / "package" / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert data.count(b"\n") - 1 == entry["rows"]
    reserve = (out / "package" / "settlement_reserve.csv").read_text()
    # Day 1's trades settle on day 2: SH pays 6,918.66 from 20,000.00; SZ receives 6,169.02.
    assert '"SH","13081.34"' in reserve and '"SZ","6169.02"' in reserve
    fee_income = (out / "package" / "fee_income.csv").read_text()
    assert '"normal","10.00"' in fee_income  # two executions at the 5.00 minimum
    reconciliation = (out / "reconciliation.csv").read_text().splitlines()
    assert all(line.endswith('"0.00"') for line in reconciliation[1:])
    assert "E2" in (out / "statements" / "statements.csv").read_text()


def test_re_running_a_finished_day_posts_nothing_and_rewrites_nothing(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    inbox = inbox_day_1(tmp_path / "in")
    first = _eod(sqlite_app, tools, DAY_1, inbox, tmp_path / "out")
    digest, outputs = _digest(sqlite_app), _outputs(first.out_dir)
    again = _eod(sqlite_app, tools, DAY_1, inbox, tmp_path / "out")
    assert again.steps_run == []
    assert (_digest(sqlite_app), _outputs(again.out_dir)) == (digest, outputs)


@pytest.mark.parametrize("step", [step.value for step in EOD_STEPS])
def test_a_run_stopped_after_any_step_and_resumed_equals_one_clean_run(
    sqlite_app: Application,
    tools: BackOfficeTools,
    tmp_path: Path,
    clean_run: tuple[str, dict[str, str]],
    step: str,
) -> None:
    _eod(sqlite_app, tools, DAY_1, inbox_day_1(tmp_path / "in"), tmp_path / "out")
    inbox = inbox_day_2(tmp_path / "in")
    with pytest.raises(EodInterrupted):
        _eod(sqlite_app, tools, DAY_2, inbox, tmp_path / "out", stop_after=step)
    resumed = _eod(sqlite_app, tools, DAY_2, inbox, tmp_path / "out")
    position = [s.value for s in EOD_STEPS].index(step)
    assert resumed.steps_skipped == [s.value for s in EOD_STEPS[: position + 1]]
    assert (_digest(sqlite_app), _outputs(resumed.out_dir)) == clean_run


def test_a_process_killed_between_steps_resumes_from_the_step_log(
    cli_env: dict[str, str], tmp_path: Path, clean_run: tuple[str, dict[str, str]]
) -> None:
    cli = [sys.executable, "-m", "clearwatch.entrypoints.cli"]
    home = Path(cli_env["CLEARWATCH_HOME"])
    env = {**cli_env, "CLEARWATCH_COLUMNAR_ROOT": str(home / "columnar")}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*cli, *args], env={**env, **extra}, capture_output=True, text=True, check=False
        )

    assert run("init").returncode == 0
    env = signed_env(env, f"BO:{BROKER}", Role.OPERATOR)  # runs, checks and lists its books
    at = "2026-11-20T16:00:00+08:00"
    day1 = run("broker", "eod", "--date", DAY_1, "--inbox", str(inbox_day_1(tmp_path)), "--at", at)
    assert day1.returncode == 0, day1.stderr
    inbox = str(inbox_day_2(tmp_path))
    killed = run(
        "broker",
        "eod",
        "--date",
        DAY_2,
        "--inbox",
        inbox,
        "--at",
        at,
        CLEARWATCH_EOD_STOP_AFTER="settle_csdc",
    )
    assert killed.returncode == 75, killed.stderr
    resumed = run("broker", "eod", "--date", DAY_2, "--inbox", inbox, "--at", at)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["steps_skipped"] == ["import", "settle_csdc"]
    check = run("broker", "check", "--broker", BROKER, "--date", DAY_2)
    assert check.returncode == 0, check.stdout + check.stderr
    listing = run("broker", "batches", "--broker", BROKER)
    assert "T-2026-11-20" in listing.stdout and "applied" in listing.stdout
    out = home / "out" / BROKER / DAY_2
    assert _outputs(out) == clean_run[1]
    assert os.path.exists(out / "package" / "manifest.json")
    assert "audit_head" in json.loads((out / "package" / "manifest.json").read_text("utf-8"))
