"""A re-run of end of day writes again what is missing or differs from its logged sha256."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.run_eod import EodReport, EodRequest, run_eod
from tests.integration.backoffice.eod_days import DAY_1, inbox_day_1


def _eod(
    app: Application, tools: BackOfficeTools, inbox: Path, out: Path, out_dir: Path | None = None
) -> EodReport:
    request = EodRequest(
        business_date=date.fromisoformat(DAY_1), inbox=inbox, out_root=out, out_dir=out_dir
    )
    return run_eod(uow=app.uow(), tools=tools, clock=app.clock, request=request)


def _outputs(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_a_deleted_package_is_written_again_with_the_same_bytes_and_nothing_else_reruns(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    inbox = inbox_day_1(tmp_path / "in")
    first = _eod(sqlite_app, tools, inbox, tmp_path / "out")
    written = _outputs(first.out_dir)
    assert {"package/manifest.json", "statements/statements.csv"} <= set(written)
    shutil.rmtree(first.out_dir / "package")
    again = _eod(sqlite_app, tools, inbox, tmp_path / "out")
    assert again.steps_run == ["package"]
    assert _outputs(again.out_dir) == written
    # A file whose bytes differ from the logged hash is written again too.
    (again.out_dir / "reconciliation.csv").write_text("edited\n", "utf-8")
    third = _eod(sqlite_app, tools, inbox, tmp_path / "out")
    assert third.steps_run == ["reconciliation"]
    assert _outputs(third.out_dir) == written
    assert _eod(sqlite_app, tools, inbox, tmp_path / "out").steps_run == []


def test_a_re_run_with_another_out_directory_writes_every_output_there(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    inbox = inbox_day_1(tmp_path / "in")
    first = _eod(sqlite_app, tools, inbox, tmp_path / "out")
    elsewhere = tmp_path / "elsewhere"
    again = _eod(sqlite_app, tools, inbox, tmp_path / "out", out_dir=elsewhere)
    assert again.steps_run == ["statements", "csdc_settlement", "reconciliation", "package"]
    assert _outputs(elsewhere) == _outputs(first.out_dir)
