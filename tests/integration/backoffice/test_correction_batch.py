"""A second batch for a kind and date applies only as a correction a second person approved."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import AccessRefused
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.approval_content import (
    adjustment_content,
    correction_content,
    transfer_content,
)
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.services.access.approvals import approve, request_approval
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.import_batch import (
    CORRECTION_KIND,
    ImportStatus,
    import_batch,
    read_manifest,
)
from clearwatch.services.backoffice.ports import BackOfficeTools
from tests.backoffice_batches import BROKER, static_batch, write_batch

DAY = date(2026, 11, 20)
DEDUCTION = ["A1", "F001", "-1000.00", "lending_dividend_deduction"]


def _adjustments(
    tmp_path: Path, batch_id: str, rows: list[list[str]], corrects: str | None = None
) -> Path:
    return write_batch(
        tmp_path / batch_id,
        kind="trading",
        business_date="2026-11-20",
        batch_id=batch_id,
        files={"cash_adjustments.csv": rows},
        corrects_batch_id=corrects,
    )


def _cash(app: Application) -> int:
    with app.uow() as uow:
        table = uow.books.balances(
            broker_id=BROKER, as_of=DAY, account_prefix="client:F001", asset="CASH"
        )
    return -sum(table.column("quantity").to_pylist())


def _users(app: Application) -> None:
    at = app.clock.now()
    add_user(
        uow=app.uow(),
        user_id="root",
        roles=[Role.ADMIN],
        organisation=f"BO:{BROKER}",
        actor="bootstrap",
        at=at,
    )
    for user, role in (("maker1", Role.OPERATOR), ("checker1", Role.CHECKER)):
        add_user(
            uow=app.uow(),
            user_id=user,
            roles=[role],
            organisation=f"BO:{BROKER}",
            actor="root",
            at=at,
        )


def test_an_approved_correction_applies_only_its_new_records(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    at = app.clock.now()
    import_batch(directory=static_batch(tmp_path / "s"), uow=app.uow(), tools=any_tools, at=at)
    import_batch(
        directory=_adjustments(tmp_path, "T1", [DEDUCTION]), uow=app.uow(), tools=any_tools, at=at
    )
    correction = _adjustments(
        tmp_path, "T2", [DEDUCTION, ["A2", "F001", "-500.00", "lending_dividend_deduction"]], "T1"
    )
    with pytest.raises(BatchRejected) as refused:
        import_batch(directory=correction, uow=app.uow(), tools=any_tools, at=at)
    assert refused.value.rejections[0].rule is Rule.ONE_BATCH_PER_KIND_AND_DATE
    _users(app)
    subject = f"batch:{BROKER}:trading:2026-11-20:T2"
    content = correction_content(read_manifest(correction))
    with app.uow() as uow:
        request = request_approval(
            uow=uow,
            kind=CORRECTION_KIND,
            subject_ref=subject,
            payload=content,
            maker="maker1",
            at=at,
        )
        with pytest.raises(AccessRefused):
            approve(uow=uow, request_id=request.request_id, checker="maker1", at=at)
    with app.uow() as uow:
        request = request_approval(
            uow=uow,
            kind=CORRECTION_KIND,
            subject_ref=subject,
            payload=content,
            maker="maker1",
            at=at,
        )
        approve(uow=uow, request_id=request.request_id, checker="checker1", at=at)
        uow.commit()
    result = import_batch(directory=correction, uow=app.uow(), tools=any_tools, at=at)
    assert result.status is ImportStatus.APPLIED
    assert (result.records_skipped, result.entries_posted) == (1, 1)
    assert _cash(app) == 10_000_000 - 100_000 - 50_000


def test_a_manual_adjustment_and_a_large_transfer_need_a_second_persons_approval(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    app, at = sqlite_app, sqlite_app.clock.now()
    clients = (("F001", "2000000.00"), ("F002", "50000.00"))
    import_batch(
        directory=static_batch(tmp_path / "s", clients=clients), uow=app.uow(), tools=tools, at=at
    )
    manual = _adjustments(tmp_path, "T1", [["M1", "F001", "88.00", "manual"]])
    with pytest.raises(BatchRejected) as refused:
        import_batch(directory=manual, uow=app.uow(), tools=tools, at=at)
    rejection = refused.value.rejections[0]
    assert (rejection.rule, rejection.line, rejection.column) == (
        Rule.MANUAL_ADJUSTMENT_MUST_BE_APPROVED,
        2,
        "reason",
    )
    transfer = write_batch(
        tmp_path / "k",
        kind="bank",
        business_date="2026-11-20",
        batch_id="K1",
        files={
            "bank_transfers.csv": [
                ["X1", "F001", "out", "1000000.01", "K001", "2026-11-20T10:00:00+08:00"]
            ]
        },
    )
    with pytest.raises(BatchRejected) as refused:
        import_batch(directory=transfer, uow=app.uow(), tools=tools, at=at)
    assert refused.value.rejections[0].rule is Rule.LARGE_TRANSFER_MUST_BE_APPROVED
    _users(app)
    with app.uow() as uow:
        for kind, subject, content in (
            (
                "manual_adjustment",
                f"adjustment:{BROKER}:M1",
                adjustment_content(fund_account="F001", amount_fen=8_800, reason="manual"),
            ),
            (
                "transfer",
                f"transfer:{BROKER}:X1",
                transfer_content(
                    fund_account="F001", direction="out", amount_fen=100_000_001, bank_id="K001"
                ),
            ),
        ):
            request = request_approval(
                uow=uow, kind=kind, subject_ref=subject, payload=content, maker="maker1", at=at
            )
            approve(uow=uow, request_id=request.request_id, checker="checker1", at=at)
        uow.commit()
    import_batch(directory=manual, uow=app.uow(), tools=tools, at=at)
    import_batch(directory=transfer, uow=app.uow(), tools=tools, at=at)
    assert _cash(app) == 200_000_000 + 8_800 - 100_000_001
