"""A flow the watch caught is stopped in seconds: alert → request → a second person approves →
the back office refuses withdrawals through that flow while others pass → lifted by approval.

On the real store (SQLite and PostgreSQL), with the real importer and books.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.domain.watch.flow_halts import ANY_COUNTERPARTY, Flow
from clearwatch.domain.watch.reviews import ReviewDecision
from clearwatch.services.access.approvals import (
    approve_committed,
    request_emergency_grant_committed,
)
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.import_batch import ImportStatus, import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.watch.flow_halts import (
    approve_flow_halt,
    approve_lift,
    request_flow_halt,
    request_lift,
)
from clearwatch.services.watch.review import review_alert
from tests.backoffice_batches import BANK, BROKER, static_batch, write_batch

DAY = date(2026, 11, 20)
HOME = f"BO:{BROKER}"


@pytest.fixture
def any_tools(app: Application) -> BackOfficeTools:
    return build_backoffice_tools(app.columnar, threads=1)


def _desk(app: Application) -> None:
    at = app.clock.now()
    add_user(uow=app.uow(), user_id="root", roles=[Role.ADMIN], organisation=HOME, actor="x", at=at)
    for user, role in (("desk-op", Role.OPERATOR), ("desk-chk", Role.CHECKER),
                       ("duty", Role.OPERATOR)):  # fmt: skip
        add_user(uow=app.uow(), user_id=user, roles=[role], organisation=HOME, actor="root", at=at)


def _alert(rule: str, account: str, counterparty: str, kind: EventKind) -> Alert:
    at = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    evidence = tuple(
        WatchEvent(f"{BROKER}/2026-11-20/K-1/X{i}", kind, DAY, BROKER, account, -50_000_00,
                   at + timedelta(minutes=i), counterparty, "other")
        for i in range(4)
    )  # fmt: skip
    return Alert(
        key=f"{rule}/{BROKER}/2026-11-20/account:{account}",
        rule=rule,
        level=WatchLevel.GENERAL,
        business_date=DAY,
        broker_id=BROKER,
        subject=f"account:{account}",
        summary=f"outflows from {account} to {counterparty}",
        amount_fen=200_000_00,
        raised_at=evidence[-1].occurred_at,
        rules_sha256="0" * 64,
        evidence=evidence,
    )


def _confirmed(app: Application, alert: Alert) -> None:
    review_alert(uow=app.uow(), alert=alert, decision=ReviewDecision.CONFIRMED, reason="",
                 reviewer="desk-op", at=app.clock.now())  # fmt: skip


def _bank(tmp_path: Path, batch_id: str, rows: list[list[str]], day: date = DAY) -> Path:
    """A bank batch; one per day (a second one of a day would be a correction)."""
    transfers = [[tid, fa, way, amount, BANK, f"{day}T11:00:00+08:00"]
                 for tid, fa, way, amount in rows]  # fmt: skip
    return write_batch(tmp_path / batch_id, kind="bank", business_date=day.isoformat(),
                       batch_id=batch_id, files={"bank_transfers.csv": transfers})  # fmt: skip


def _import(app: Application, tools: BackOfficeTools, directory: Path) -> ImportStatus:
    return import_batch(directory=directory, uow=app.uow(), tools=tools, at=app.clock.now()).status


def _refused(app: Application, tools: BackOfficeTools, directory: Path) -> list[tuple[str, int]]:
    with pytest.raises(BatchRejected) as refused:
        _import(app, tools, directory)
    return [(r.rule.value, r.line or 0) for r in refused.value.rejections]


def _rule(call: object) -> str:
    with pytest.raises(Refused) as refused:
        call()  # type: ignore[operator]
    return refused.value.rule


def test_a_halted_flow_refuses_its_withdrawals_others_pass_and_a_lift_restores_it(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _desk(app)
    _import(app, any_tools, static_batch(tmp_path / "s"))
    alert = _alert("withdrawal_burst", "F002", BANK, EventKind.BANK_TRANSFER)
    flow = Flow(BROKER, "F002", BANK)
    assert _rule(lambda: request_flow_halt(uow=app.uow(), alert=alert, flow=flow,
                                           maker="desk-op", at=app.clock.now())) == (
        "halt_needs_a_confirmed_alert"
    )  # fmt: skip
    _confirmed(app, alert)
    assert _rule(lambda: request_flow_halt(uow=app.uow(), alert=alert, flow=Flow(BROKER, "F001",
                 BANK), maker="desk-op", at=app.clock.now())) == (
        "halt_flow_must_be_named_by_the_alert"
    )  # fmt: skip
    asked = request_flow_halt(uow=app.uow(), alert=alert, flow=flow, maker="desk-op",
                              at=app.clock.now())  # fmt: skip
    assert asked.halt is None  # asked is not halted: the withdrawal would still pass
    assert _rule(lambda: approve_flow_halt(uow=app.uow(), request_id=asked.request.request_id,
                                           checker="desk-op", at=app.clock.now())) == (
        "checker_must_not_be_maker"
    )  # fmt: skip
    halted = approve_flow_halt(uow=app.uow(), request_id=asked.request.request_id,
                               checker="desk-chk", at=app.clock.now())  # fmt: skip
    assert halted.halt is not None and halted.halt.in_force
    # The halted flow is refused, by rule and line; the batch changes nothing.
    stopped = _bank(
        tmp_path, "K1", [["T1", "F001", "out", "10.00"], ["T2", "F002", "out", "10.00"]]
    )
    assert _refused(app, any_tools, stopped) == [("flow_must_not_be_halted", 3)]
    # Other clients' withdrawals and the halted client's incoming money pass.
    others = _bank(tmp_path, "K2", [["T3", "F001", "out", "10.00"], ["T4", "F002", "in", "5.00"]])
    assert _import(app, any_tools, others) is ImportStatus.APPLIED
    # Lifting takes a reason and a second person too.
    halt_id = halted.halt.halt_id
    assert _rule(lambda: request_lift(uow=app.uow(), halt_id=halt_id, reason=" ",
                                      maker="desk-op", at=app.clock.now())) == (
        "lift_must_have_reason"
    )  # fmt: skip
    lift = request_lift(uow=app.uow(), halt_id=halt_id, reason="the client called: a new bank",
                        maker="desk-op", at=app.clock.now())  # fmt: skip
    assert lift.halt is not None and lift.halt.in_force
    lifted = approve_lift(uow=app.uow(), request_id=lift.request.request_id, checker="desk-chk",
                          at=app.clock.now())  # fmt: skip
    assert lifted.halt is not None and not lifted.halt.in_force
    again = _bank(tmp_path, "K3", [["T5", "F002", "out", "10.00"]], date(2026, 11, 23))
    assert _import(app, any_tools, again) is ImportStatus.APPLIED
    with app.uow() as uow:
        actions = [r.action for r in uow.audit.latest(limit=40)]
        assert uow.flow_halts.halts(broker_id=BROKER, in_force=True) == []
    assert {"watch.flow_halt_requested", "watch.flow_halted", "watch.flow_lift_requested",
            "watch.flow_lifted"} <= set(actions)  # fmt: skip


def test_a_special_account_s_outflows_are_halted_by_the_duty_officer_s_emergency_grant(
    app: Application, any_tools: BackOfficeTools, tmp_path: Path
) -> None:
    _desk(app)
    _import(app, any_tools, static_batch(tmp_path / "s"))
    grant = request_emergency_grant_committed(
        uow=app.uow(), user_id="duty", role=Role.CHECKER, hours=12,
        reason="night duty: the checker is off", maker="root", at=app.clock.now(),
    )  # fmt: skip
    approve_committed(uow=app.uow(), request_id=grant.request_id, checker="desk-chk",
                      at=app.clock.now())  # fmt: skip
    alert = _alert("unexpected_counterparty", "SA001", "X-OFFSHORE-9",
                   EventKind.SPECIAL_ACCOUNT_MOVEMENT)  # fmt: skip
    _confirmed(app, alert)
    flow = Flow(BROKER, "SA001", ANY_COUNTERPARTY)
    asked = request_flow_halt(uow=app.uow(), alert=alert, flow=flow, maker="desk-op",
                              at=app.clock.now())  # fmt: skip
    halted = approve_flow_halt(uow=app.uow(), request_id=asked.request.request_id,
                               checker="duty", at=app.clock.now())  # fmt: skip
    assert halted.halt is not None and halted.halt.raised_by == "duty"
    # Every withdrawal would be paid out of SA001: all refused; deposits still come in.
    out = _bank(tmp_path, "K1", [["T1", "F001", "out", "10.00"]])
    assert _refused(app, any_tools, out) == [("flow_must_not_be_halted", 2)]
    incoming = _bank(tmp_path, "K2", [["T2", "F001", "in", "10.00"]])
    assert _import(app, any_tools, incoming) is ImportStatus.APPLIED
    with app.uow() as uow:
        approved = {
            r.object_ref: json.loads(r.payload_json)
            for r in uow.audit.latest(limit=30)
            if r.action == "approval.approved"
        }
    assert approved[f"approval:{asked.request.request_id}"]["via_emergency_grant"] is True
