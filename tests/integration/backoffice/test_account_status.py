"""Account status (frozen, closed) and amount freezes, enforced where money moves (spec §2)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import AccessRefused
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.account_status import AccountStatus
from clearwatch.domain.backoffice.approval_content import (
    account_subject,
    freeze_content,
    freeze_subject,
    status_content,
)
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.domain.intraday.book import Order, Refusal
from clearwatch.domain.intraday.fee_estimates import fee_rates
from clearwatch.domain.shared.kinds import Side
from clearwatch.services.access.approvals import approve, request_approval
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.account_status import (
    account_standing,
    change_freeze,
    change_status,
)
from clearwatch.services.backoffice.books_check import check_books
from clearwatch.services.backoffice.import_batch import ImportStatus, import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.intraday.central_funds import BooksCentralFunds
from clearwatch.services.intraday.trading_node import TradingNode
from tests.backoffice_batches import BANK, BROKER, execution, static_batch, write_batch

DAY = date(2026, 11, 20)


def _users(app: Application) -> None:
    at, home = app.clock.now(), f"BO:{BROKER}"
    add_user(uow=app.uow(), user_id="root", roles=[Role.ADMIN], organisation=home, actor="x", at=at)
    for user, role in (("maker1", Role.OPERATOR), ("checker1", Role.CHECKER)):
        add_user(uow=app.uow(), user_id=user, roles=[role], organisation=home, actor="root", at=at)


def _approved(app: Application, kind: str, subject: str, content: dict[str, Any]) -> None:
    at = app.clock.now()
    with app.uow() as uow:
        request = request_approval(
            uow=uow, kind=kind, subject_ref=subject, payload=content, maker="maker1", at=at
        )
        approve(uow=uow, request_id=request.request_id, checker="checker1", at=at)
        uow.commit()


def _freeze_account(app: Application, tools: BackOfficeTools, account: str) -> None:
    content = status_content(fund_account=account, status="frozen")
    _approved(app, "account_status", account_subject(BROKER, account), content)
    changed = change_status(
        uow=app.uow(),
        tools=tools,
        broker_id=BROKER,
        fund_account=account,
        status=AccountStatus.FROZEN,
        actor="maker1",
        at=app.clock.now(),
    )
    assert changed


def _import(app: Application, tools: BackOfficeTools, directory: Path):  # type: ignore[no-untyped-def]
    return import_batch(directory=directory, uow=app.uow(), tools=tools, at=app.clock.now())


def _bank(tmp_path: Path, batch_id: str, rows: list[list[str]], day: date = DAY) -> Path:
    transfers = [
        [tid, fa, direction, amount, BANK, f"{day}T10:00:00+08:00"]
        for tid, fa, direction, amount in rows
    ]
    return write_batch(
        tmp_path / batch_id,
        kind="bank",
        business_date=day.isoformat(),
        batch_id=batch_id,
        files={"bank_transfers.csv": transfers},
    )


def _cash(app: Application, account: str, day: date = DAY) -> int:
    with app.uow() as uow:
        table = uow.books.balances(
            broker_id=BROKER, as_of=day, account_prefix=f"client:{account}", asset="CASH"
        )
    return -int(sum(table.column("quantity").to_pylist()))


def _rules(refused: BatchRejected) -> list[tuple[str, int | None]]:
    """(rule, file line): line 1 is the header."""
    return [(r.rule.value, r.line) for r in refused.rejections]


def test_a_status_change_needs_an_approval_of_exactly_that_status(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _users(app)
    _import(app, any_tools, static_batch(tmp_path / "s"))

    def change(status: AccountStatus) -> bool:
        return change_status(
            uow=app.uow(),
            tools=any_tools,
            broker_id=BROKER,
            fund_account="F001",
            status=status,
            actor="maker1",
            at=app.clock.now(),
        )

    with pytest.raises(AccessRefused, match="approval_must_exist"):
        change(AccountStatus.CLOSED)
    content = status_content(fund_account="F001", status="frozen")
    _approved(app, "account_status", account_subject(BROKER, "F001"), content)
    with pytest.raises(AccessRefused, match="approval_must_match_content"):
        change(AccountStatus.CLOSED)
    assert change(AccountStatus.FROZEN)
    assert not change(AccountStatus.FROZEN)  # an approval applies once


def test_a_frozen_account_s_withdrawal_is_refused_and_its_incoming_money_booked(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _users(app)
    _import(app, any_tools, static_batch(tmp_path / "s"))
    _freeze_account(app, any_tools, "F002")
    out = _bank(tmp_path, "K1", [["T1", "F001", "out", "10.00"], ["T2", "F002", "out", "10.00"]])
    with pytest.raises(BatchRejected) as refused:
        _import(app, any_tools, out)
    assert _rules(refused.value) == [("frozen_account_must_not_transfer_out", 3)]
    incoming = _bank(tmp_path, "K2", [["T3", "F002", "in", "250.00"]])
    assert _import(app, any_tools, incoming).status is ImportStatus.APPLIED
    assert _cash(app, "F002") == 5_000_000 + 25_000


def test_a_frozen_account_s_buy_is_refused_at_the_node_and_its_sell_accepted(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _users(app)
    holdings = [("F002", "SH.600000", "1000")]
    _import(app, any_tools, static_batch(tmp_path / "s", holdings=holdings))
    _freeze_account(app, any_tools, "F002")
    node = TradingNode(
        uow_factory=app.uow,
        clock=app.clock,
        node_id="fast-1",
        instance_id="fast-1@a",
        broker_id=BROKER,
        business_date=DAY,
        rates=fee_rates(any_tools.schedule),
        lease_ttl=timedelta(seconds=30),
    )
    node.acquire()
    node.start_of_day(central=BooksCentralFunds(app.read_uow, any_tools))
    outcomes = node.submit(
        [
            Order("O1", "F002", Side.BUY, "SH.600000", 100, 10_000),
            Order("O2", "F002", Side.SELL, "SH.600000", 100, 10_000),
            Order("O3", "F001", Side.BUY, "SH.600000", 100, 10_000),
        ]
    )
    refused = [o.rejection.value if isinstance(o, Refusal) else "accepted" for o in outcomes]
    assert refused == ["frozen_account_must_not_buy", "accepted", "accepted"]


def test_a_closed_account_s_execution_is_booked_with_a_break(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    static = write_batch(
        tmp_path / "s",
        kind="static",
        business_date=DAY.isoformat(),
        batch_id="S1",
        files={
            "special_accounts.csv": [["SA001", BANK, "client_settlement"]],
            "clients.csv": [
                ["F001", "CF001", "normal", BANK, "", "active"],
                ["F002", "CF002", "normal", BANK, "", "closed"],
            ],
            "opening.csv": [
                ["F001", "CASH", "1000.00"],
                ["F002", "CASH", "2000.00"],
                ["SA001", "CASH", "3000.00"],
            ],
        },
    )
    _import(app, any_tools, static)
    trades = [execution("E1", "F002", "B", 100, "10.00"), execution("E2", "F001", "B", 100, "1.00")]
    trading = write_batch(
        tmp_path / "t",
        kind="trading",
        business_date=DAY.isoformat(),
        batch_id="T1",
        files={"executions.csv": trades},
    )
    assert _import(app, any_tools, trading).status is ImportStatus.APPLIED
    assert _cash(app, "F002") == 200_000 - 100_506  # booked: it happened
    with app.uow() as uow:
        breaks = uow.books.breaks(broker_id=BROKER, business_date=DAY)
        assert check_books(uow=uow, broker_id=BROKER, as_of=DAY) == []
    assert [(b.check, b.subject, b.evidence["exec_ids"]) for b in breaks] == [
        ("execution_on_closed_account", "F002", ["E1"])
    ]
    # A closed account takes no transfer at all, not even incoming money.
    with pytest.raises(BatchRejected) as refused:
        _import(app, any_tools, _bank(tmp_path, "K1", [["T1", "F002", "in", "1.00"]]))
    assert _rules(refused.value) == [("closed_account_must_not_transfer", 2)]


def test_an_amount_freeze_lowers_what_may_be_withdrawn_until_lifted(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _users(app)
    _import(app, any_tools, static_batch(tmp_path / "s"))  # F002 holds 50,000.00

    def freeze(action: str) -> bool:
        return change_freeze(
            uow=app.uow(),
            tools=any_tools,
            broker_id=BROKER,
            freeze_id="COURT-7",
            fund_account="F002",
            amount_fen=3_000_000,
            action=action,
            actor="maker1",
            at=app.clock.now(),
        )

    placed = freeze_content(fund_account="F002", amount_fen=3_000_000, action="freeze")
    _approved(app, "amount_freeze", freeze_subject(BROKER, "COURT-7"), placed)
    assert freeze("freeze")
    too_much = _bank(tmp_path, "K1", [["T1", "F002", "out", "20000.01"]])
    with pytest.raises(BatchRejected) as refused:
        _import(app, any_tools, too_much)
    assert _rules(refused.value) == [("withdrawal_must_not_exceed_withdrawable_cash", 2)]
    lifted = freeze_content(fund_account="F002", amount_fen=3_000_000, action="lift")
    _approved(app, "amount_freeze", freeze_subject(BROKER, "COURT-7"), lifted)
    assert freeze("lift")
    assert _import(app, any_tools, too_much).status is ImportStatus.APPLIED
    assert _cash(app, "F002") == 5_000_000 - 2_000_001


def test_the_standing_lists_only_the_accounts_that_are_not_active(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    """Millions of active clients never reach Python: the standing names the restricted ones
    (from the clients file and from approved changes) and answers active for all others."""
    _users(app)
    static = write_batch(
        tmp_path / "s",
        kind="static",
        business_date=DAY.isoformat(),
        batch_id="S1",
        files={
            "special_accounts.csv": [["SA001", BANK, "client_settlement"]],
            "clients.csv": [
                ["F001", "CF001", "normal", BANK, "", "active"],
                ["F002", "CF002", "normal", BANK, "", "closed"],
                ["F003", "CF003", "normal", BANK, "", "active"],
            ],
            "opening.csv": [["F001", "CASH", "1.00"], ["SA001", "CASH", "1.00"]],
        },
    )
    _import(app, any_tools, static)
    _freeze_account(app, any_tools, "F003")
    with app.uow() as uow:
        standing = account_standing(uow, any_tools, BROKER)
    assert standing.statuses == {"F002": AccountStatus.CLOSED, "F003": AccountStatus.FROZEN}
    assert standing.status("F001") is AccountStatus.ACTIVE
    assert standing.status("F002") is AccountStatus.CLOSED
