"""An approval approves exactly its content: other amounts, files or postings are refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.approval_content import (
    adjustment_content,
    correction_content,
    reversal_content,
)
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.approvals import approve, request_approval
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.books_check import check_books
from clearwatch.services.backoffice.import_batch import (
    CORRECTION_KIND,
    ImportStatus,
    import_batch,
    read_manifest,
)
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.reverse_entry import (
    REVERSAL_KIND,
    reversal_subject,
    reverse_entry,
)
from tests.backoffice_batches import BROKER, static_batch, write_batch

DAY = date(2026, 11, 20)
OPENING_FEN = 500_000_000  # F001 starts with 5,000,000.00
INTEREST = ["A1", "F001", "10.00", "interest"]


def _users(app: Application) -> None:
    at, home = app.clock.now(), f"BO:{BROKER}"
    add_user(uow=app.uow(), user_id="root", roles=[Role.ADMIN], organisation=home, actor="x", at=at)
    for user, role in (("maker1", Role.OPERATOR), ("checker1", Role.CHECKER)):
        add_user(uow=app.uow(), user_id=user, roles=[role], organisation=home, actor="root", at=at)


def _approved(app: Application, kind: str, subject: str, content: dict[str, Any]) -> None:
    """A maker asks for exactly `content`, a second person approves it."""
    at = app.clock.now()
    with app.uow() as uow:
        request = request_approval(
            uow=uow, kind=kind, subject_ref=subject, payload=content, maker="maker1", at=at
        )
        approve(uow=uow, request_id=request.request_id, checker="checker1", at=at)
        uow.commit()


def _adjustments(tmp_path: Path, batch_id: str, rows: list[list[str]], corrects: str = "") -> Path:
    return write_batch(
        tmp_path / batch_id,
        kind="trading",
        business_date=DAY.isoformat(),
        batch_id=batch_id,
        files={"cash_adjustments.csv": rows},
        corrects_batch_id=corrects or None,
    )


def _cash(app: Application) -> int:
    with app.uow() as uow:
        table = uow.books.balances(
            broker_id=BROKER, as_of=DAY, account_prefix="client:F001", asset="CASH"
        )
    return -sum(table.column("quantity").to_pylist())


def _start(app: Application, tools: BackOfficeTools, tmp_path: Path) -> None:
    """Opening books, users, and a first trading batch crediting 10.00 of interest."""
    clients = (("F001", "5000000.00"), ("F002", "50000.00"))
    opening = static_batch(tmp_path / "s", clients=clients)
    for directory in (opening, _adjustments(tmp_path, "T1", [INTEREST])):
        import_batch(directory=directory, uow=app.uow(), tools=tools, at=app.clock.now())
    _users(app)


def test_an_approval_of_minus_one_does_not_let_a_correction_post_minus_four_million(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _start(app, any_tools, tmp_path)
    adjustment = f"adjustment:{BROKER}:ADJ-X"
    _approved(
        app,
        "manual_adjustment",
        adjustment,
        adjustment_content(fund_account="F001", amount_fen=-100, reason="manual"),
    )
    # The correction's files are approved as they are; the adjustment in them is not.
    large = _adjustments(
        tmp_path, "T2", [INTEREST, ["ADJ-X", "F001", "-4000000.00", "manual"]], "T1"
    )
    manifest = read_manifest(large)
    _approved(app, CORRECTION_KIND, manifest.subject_ref(), correction_content(manifest))
    with pytest.raises(BatchRejected) as refused:
        import_batch(directory=large, uow=app.uow(), tools=any_tools, at=app.clock.now())
    rejection = refused.value.rejections[0]
    assert (rejection.rule, rejection.file, rejection.line) == (
        Rule.APPROVAL_MUST_MATCH_CONTENT,
        "cash_adjustments.csv",
        3,
    )
    assert _cash(app) == OPENING_FEN + 1_000
    with app.uow() as uow:
        assert uow.batches.find(BROKER, "T2") is None
        assert not uow.books.has_entry(adjustment)
    # Exactly what was approved applies.
    exact = _adjustments(tmp_path, "T3", [INTEREST, ["ADJ-X", "F001", "-1.00", "manual"]], "T1")
    manifest = read_manifest(exact)
    _approved(app, CORRECTION_KIND, manifest.subject_ref(), correction_content(manifest))
    result = import_batch(directory=exact, uow=app.uow(), tools=any_tools, at=app.clock.now())
    assert (result.status, result.entries_posted, result.records_skipped) == (
        ImportStatus.APPLIED,
        1,
        1,
    )
    assert _cash(app) == OPENING_FEN + 1_000 - 100
    with app.uow() as uow:
        assert check_books(uow=uow, broker_id=BROKER, as_of=DAY) == []


def test_a_correction_whose_files_differ_from_the_approved_ones_is_refused(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    app = sqlite_app
    _start(app, tools, tmp_path)
    approved = _adjustments(tmp_path / "a", "T2", [["A2", "F001", "20.00", "interest"]], "T1")
    manifest = read_manifest(approved)
    _approved(app, CORRECTION_KIND, manifest.subject_ref(), correction_content(manifest))
    # Same id, same subject, other rows: the approval does not cover them.
    swapped = _adjustments(tmp_path / "b", "T2", [["A2", "F001", "20000.00", "interest"]], "T1")
    with pytest.raises(BatchRejected) as refused:
        import_batch(directory=swapped, uow=app.uow(), tools=tools, at=app.clock.now())
    assert refused.value.rejections[0].rule is Rule.APPROVAL_MUST_MATCH_CONTENT
    assert _cash(app) == OPENING_FEN + 1_000
    import_batch(directory=approved, uow=app.uow(), tools=tools, at=app.clock.now())
    assert _cash(app) == OPENING_FEN + 1_000 + 2_000


def _reverse(app: Application, key: str) -> Any:
    return reverse_entry(
        uow=app.uow(), entry_key=key, business_date=DAY, actor="checker1", at=app.clock.now()
    )


def test_a_reversal_applies_only_through_an_approval_of_that_entry_and_its_amounts(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _start(app, any_tools, tmp_path)
    key = f"adjustment:{BROKER}:A1"
    with pytest.raises(Refused) as refused:
        _reverse(app, key)
    assert refused.value.rule == "reversal_must_be_approved"
    with app.uow() as uow:
        entry = uow.books.entry(key)
    assert entry is not None
    other = reversal_content(entry)
    other["postings"] = [[a, s, q * 100] for a, s, q in other["postings"]]
    _approved(app, REVERSAL_KIND, reversal_subject(key), other)
    with pytest.raises(Refused) as refused:
        _reverse(app, key)
    assert refused.value.rule == "approval_must_match_content"
    assert _cash(app) == OPENING_FEN + 1_000
    _approved(app, REVERSAL_KIND, reversal_subject(key), reversal_content(entry))
    reversal = _reverse(app, key)
    assert (reversal.reverses_key, reversal.kind) == (key, "reversal")
    assert _reverse(app, key) == reversal  # keyed by what it reverses: never twice
    assert _cash(app) == OPENING_FEN
    with app.uow() as uow:
        assert check_books(uow=uow, broker_id=BROKER, as_of=DAY) == []
        assert uow.books.entry(key) == entry  # the reversed entry is untouched
