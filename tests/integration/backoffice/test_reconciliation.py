"""Independent reconciliation (spec §6): the books against the bank's and CSDC's statements and
the trading nodes; each difference a break, open until matched or explained and approved."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import AccessRefused
from clearwatch.domain.access.roles import Role
from clearwatch.services.access.approvals import approve_committed, reject_committed
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.breaks import BreakState, list_breaks, resolve_break
from clearwatch.services.backoffice.import_batch import ImportStatus, import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.run_eod import EodReport, EodRequest, run_eod
from tests.backoffice_batches import BROKER, write_batch
from tests.integration.backoffice.eod_days import DAY_1, inbox_day_1

# The day's bank movements on SA001 as the bank books them: X1, X2 and A1's dividend.
TRANSACTIONS = [
    ["S1", "SA001", f"{DAY_1}T09:00:00+08:00", "in", "1000.00", "6217F003", "client_bank"],
    ["S2", "SA001", f"{DAY_1}T15:30:00+08:00", "out", "2000.00", "6217F001", "client_bank"],
    ["S3", "SA001", f"{DAY_1}T15:10:00+08:00", "in", "120.50", "CSDC-DIV", "csdc"],
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_statements(package: Path, inbox: Path, *, nudge: dict[str, int] | None = None) -> None:
    """A bank and a CSDC statement that agree with the package the books wrote, but for the
    clients in `nudge` (fen added to the bank's figure)."""
    nudge = nudge or {}
    depository = []
    for row in _rows(package / "client_funds.csv"):
        fen = max(int(row["balance"].replace(".", "")), 0) + nudge.get(row["fund_account"], 0)
        balance = f"{fen // 100}.{fen % 100:02d}"
        depository.append([BROKER, row["fund_account"], row["client_id"], balance])
    balances = [
        [row["account_no"], BROKER, row["purpose"], "CN-SH", row["book_balance"]]
        for row in _rows(package / "special_accounts.csv")
    ]
    write_batch(
        inbox / "bank_statement",
        kind="bank_statement",
        business_date=DAY_1,
        batch_id="BS-" + DAY_1,
        files={
            "client_depository.csv": depository,
            "special_account_balances.csv": balances,
            "special_account_transactions.csv": TRANSACTIONS,
        },
    )
    settlement = [
        [row["market"], row["balance"], row["net_settlement"]]
        for row in _rows(package / "settlement_reserve.csv")
    ]
    write_batch(
        inbox / "csdc_statement",
        kind="csdc_statement",
        business_date=DAY_1,
        batch_id="CS-" + DAY_1,
        files={"settlement.csv": settlement},
    )


def _eod(app: Application, tools: BackOfficeTools, inbox: Path, out: Path) -> EodReport:
    request = EodRequest(business_date=date.fromisoformat(DAY_1), inbox=inbox, out_root=out)
    return run_eod(uow=app.uow(), tools=tools, clock=app.clock, request=request)


def _reconciled_day(
    app: Application, tools: BackOfficeTools, tmp_path: Path, nudge: dict[str, int] | None = None
) -> EodReport:
    """Day 1's end of day, then its statements, then the reconciliation again (its output
    removed, so the re-run writes it with the statements)."""
    first = _eod(app, tools, inbox_day_1(tmp_path / "in"), tmp_path / "out")
    statements = tmp_path / "statements"
    write_statements(first.out_dir / "package", statements, nudge=nudge)
    for kind in ("bank_statement", "csdc_statement"):
        result = import_batch(
            directory=statements / kind, uow=app.uow(), tools=tools, at=app.clock.now()
        )
        assert result.status is ImportStatus.APPLIED and not result.files_applied
    (first.out_dir / "reconciliation.csv").unlink()
    again = _eod(app, tools, tmp_path / "in" / DAY_1, tmp_path / "out")
    assert again.steps_run == ["reconciliation"]
    return again


def test_a_clean_day_against_both_statements_gives_no_break(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    report = _reconciled_day(app, any_tools, tmp_path)
    detail = report.details["reconciliation"]
    assert detail["differences"] == 0 and detail["breaks_raised"] == 0
    assert detail["not_compared"] == ["node_vs_central"]
    assert detail["compared"]["client_vs_bank"]["subjects"] == 3
    assert list_breaks(uow=app.uow(), broker_id=BROKER, everything=True) == []
    lines = (report.out_dir / "reconciliation.csv").read_text().splitlines()
    assert len(lines) == 1 + 5 and all(line.endswith('"0.00"') for line in lines[1:])


def test_one_fen_on_one_client_gives_exactly_one_break_naming_it(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    report = _reconciled_day(app, any_tools, tmp_path, nudge={"F002": 1})
    assert report.details["reconciliation"]["breaks_raised"] == 1
    (only,) = list_breaks(uow=app.uow(), broker_id=BROKER)
    record = only.record
    assert (record.check, record.subject, only.state) == ("client_vs_bank", "F002", BreakState.OPEN)
    assert record.counterpart_fen - record.books_fen == 1
    assert record.evidence["statement"] == f"{BROKER}:BS-{DAY_1}"
    assert record.evidence["file"] == "client_depository.csv"
    assert record.evidence["line"] == 3  # F002 is the second client: the header is line 1
    assert record.evidence["difference"] == "-0.01"
    lines = (report.out_dir / "reconciliation.csv").read_text().splitlines()
    assert '"client_vs_bank","F002"' in "\n".join(lines)


def _people(app: Application) -> None:
    at, home = app.clock.now(), f"BO:{BROKER}"
    add_user(uow=app.uow(), user_id="root", roles=[Role.ADMIN], organisation=home, actor="x", at=at)
    for user, role in (("maker1", Role.OPERATOR), ("checker1", Role.CHECKER)):
        add_user(uow=app.uow(), user_id=user, roles=[role], organisation=home, actor="root", at=at)


def test_an_explained_break_closes_only_when_a_checker_approves_it(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _people(app)
    _reconciled_day(app, any_tools, tmp_path, nudge={"F003": -250})
    (found,) = list_breaks(uow=app.uow(), broker_id=BROKER)
    break_id, at = found.record.break_pk, app.clock.now()
    request = resolve_break(
        uow=app.uow(),
        break_id=break_id,
        resolution="explained",
        reason="bank fee charged to the client's card, refunded on D+1",
        maker="maker1",
        at=at,
    )
    (pending,) = list_breaks(uow=app.uow(), broker_id=BROKER)
    assert (pending.state, pending.request_id) == (BreakState.PENDING, request.request_id)
    with pytest.raises(AccessRefused) as own:
        approve_committed(uow=app.uow(), request_id=request.request_id, checker="maker1", at=at)
    assert own.value.rule == "checker_must_not_be_maker"
    approve_committed(uow=app.uow(), request_id=request.request_id, checker="checker1", at=at)
    assert list_breaks(uow=app.uow(), broker_id=BROKER) == []
    (closed,) = list_breaks(uow=app.uow(), broker_id=BROKER, everything=True)
    assert (closed.state, closed.resolution) == (BreakState.CLOSED, "explained")
    with pytest.raises(Exception, match="break_must_be_open"):
        resolve_break(
            uow=app.uow(),
            break_id=break_id,
            resolution="matched",
            reason="x",
            maker="maker1",
            at=at,
        )


def test_a_rejected_resolution_leaves_the_break_open(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _people(app)
    _reconciled_day(app, any_tools, tmp_path, nudge={"F001": 5})
    (found,) = list_breaks(uow=app.uow(), broker_id=BROKER)
    at = app.clock.now()
    request = resolve_break(
        uow=app.uow(),
        break_id=found.record.break_pk,
        resolution="matched",
        reason="matched with tomorrow's statement",
        maker="maker1",
        at=at,
    )
    reject_committed(
        uow=app.uow(),
        request_id=request.request_id,
        checker="checker1",
        at=at,
        reason="tomorrow's statement shows the same difference",
    )
    (still,) = list_breaks(uow=app.uow(), broker_id=BROKER)
    assert still.state is BreakState.OPEN
