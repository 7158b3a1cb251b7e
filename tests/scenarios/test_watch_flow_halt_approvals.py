"""A flow halt, and its lift, approved in the generic approvals queue (what `approvals approve`,
`POST /approvals/{id}/approve` and the approvals page call) are applied with their approval and
reach the watch once, as through `watch alerts halt-flow --approve`; a client halt approved
there halts too. On the real store (SQLite and PostgreSQL), told through the in-process bus.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.events.memory import InProcessStream
from clearwatch.adapters.events.publisher import StreamPublisher
from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.domain.access.approvals import ApprovalStatus
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.domain.watch.flow_halts import ANY_COUNTERPARTY, Flow
from clearwatch.domain.watch.reviews import ReviewDecision
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.watch.approvals_queue import approve_in_queue
from clearwatch.services.watch.flow_halts import (
    approve_flow_halt,
    request_flow_halt,
    request_lift,
)
from clearwatch.services.watch.review import request_halt, review_alert
from tests.backoffice_batches import BROKER, static_batch

DAY = date(2026, 11, 20)
HOME = f"BO:{BROKER}"


class _Told:
    """The in-process bus, and every event each call told it (a repeat included), so a test
    sees both what was published and what the stream kept."""

    def __init__(self) -> None:
        self.stream = InProcessStream()
        self.calls: list[list[str]] = []
        self._publisher = StreamPublisher(stream=lambda: self.stream, source=DayFilesSource)

    def batch_delivered(self, directory: Path) -> None:
        self._publisher.batch_delivered(directory)

    def occurred(self, events: Sequence[WatchEvent]) -> None:
        self.calls.append([event.key for event in events])
        self._publisher.occurred(events)

    def kept(self, kind: EventKind) -> list[WatchEvent]:
        return [event for event in self.stream.retained if event.kind is kind]


@pytest.fixture
def desk(app: Application, tmp_path: Path) -> None:
    """The desk's users, and the books opened."""
    at = app.clock.now()
    add_user(uow=app.uow(), user_id="root", roles=[Role.ADMIN], organisation=HOME, actor="x", at=at)
    for user, role in (("desk-op", Role.OPERATOR), ("desk-chk", Role.CHECKER)):
        add_user(uow=app.uow(), user_id=user, roles=[role], organisation=HOME, actor="root", at=at)
    tools = build_backoffice_tools(app.columnar, threads=1)
    import_batch(directory=static_batch(tmp_path / "s"), uow=app.uow(), tools=tools, at=at)


def _confirmed(app: Application, account: str) -> Alert:
    """A confirmed alert over four outflows of `account` to an offshore account."""
    at = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    evidence = tuple(
        WatchEvent(f"{BROKER}/2026-11-20/K-1/{account}{i}", EventKind.SPECIAL_ACCOUNT_MOVEMENT,
                   DAY, BROKER, account, -50_000_00, at + timedelta(minutes=i), "X-OFFSHORE-9",
                   "other")
        for i in range(4)
    )  # fmt: skip
    alert = Alert(
        key=f"unexpected_counterparty/{BROKER}/2026-11-20/account:{account}",
        rule="unexpected_counterparty",
        level=WatchLevel.MAJOR,
        business_date=DAY,
        broker_id=BROKER,
        subject=f"account:{account}",
        summary=f"outflows from {account} to X-OFFSHORE-9",
        amount_fen=200_000_00,
        raised_at=evidence[-1].occurred_at,
        rules_sha256="0" * 64,
        evidence=evidence,
    )
    review_alert(uow=app.uow(), alert=alert, decision=ReviewDecision.CONFIRMED, reason="",
                 reviewer="desk-op", at=app.clock.now())  # fmt: skip
    return alert


def _in_force(app: Application) -> list[Flow]:
    with app.read_uow() as uow:
        return [halt.flow for halt in uow.flow_halts.halts(broker_id=BROKER, in_force=True)]


def test_a_flow_halt_and_its_lift_approved_in_the_queue_apply_and_are_told_once(
    app: Application, desk: None
) -> None:
    told = _Told()
    alert = _confirmed(app, "SA001")
    flow = Flow(BROKER, "SA001", ANY_COUNTERPARTY)
    asked = request_flow_halt(uow=app.uow(), alert=alert, flow=flow, maker="desk-op",
                              at=app.clock.now(), publisher=told)  # fmt: skip
    assert asked.halt is None and told.calls == []  # asked is not halted
    decided = approve_in_queue(uow=app.uow(), request_id=asked.request.request_id,
                               checker="desk-chk", at=app.clock.now(),
                               publisher=told)  # fmt: skip
    assert decided.status is ApprovalStatus.APPROVED and decided.checker == "desk-chk"
    assert _in_force(app) == [flow]  # halted by the approval itself, not by asking again
    with app.read_uow() as uow:
        (halt,) = uow.flow_halts.halts(broker_id=BROKER, in_force=True)
    halt_key = f"{BROKER}/flow-halt/{halt.halt_id}"
    assert told.calls == [[halt_key]]
    (halted,) = told.kept(EventKind.FLOW_HALTED)
    assert (halted.account, halted.counterparty, halted.detail) == (
        "SA001", "*", f"approval:{decided.request_id}",
    )  # fmt: skip
    assert halted.extra_value("by") == "desk-chk" and halted.extra_value("alert") == alert.key
    # Approved twice is refused, and tells nothing; asked again, the halt stands under the
    # same key: the stream keeps one.
    with pytest.raises(Refused):
        approve_in_queue(uow=app.uow(), request_id=decided.request_id, checker="desk-chk",
                         at=app.clock.now(), publisher=told)  # fmt: skip
    again = request_flow_halt(uow=app.uow(), alert=alert, flow=flow, maker="desk-op",
                              at=app.clock.now(), publisher=told)  # fmt: skip
    assert again.halt == halt and told.calls[-1] == [halt_key]
    assert len(told.kept(EventKind.FLOW_HALTED)) == 1 and _in_force(app) == [flow]
    app.clock.at += timedelta(hours=20)  # type: ignore[attr-defined]  # lifted the next day
    lift = request_lift(uow=app.uow(), halt_id=halt.halt_id, reason="the bank confirmed",
                        maker="desk-op", at=app.clock.now(), publisher=told)  # fmt: skip
    before = len(told.calls)
    approve_in_queue(uow=app.uow(), request_id=lift.request.request_id, checker="desk-chk",
                     at=app.clock.now(), publisher=told)  # fmt: skip
    assert _in_force(app) == []
    # The lift's call tells the halt (its key: kept once) and its lift.
    assert told.calls[before:] == [[halt_key, f"{BROKER}/flow-halt-lift/{halt.halt_id}"]]
    (lifted,) = told.kept(EventKind.FLOW_HALT_LIFTED)
    assert lifted.business_date == date(2026, 11, 21)
    assert lifted.detail == f"approval:{lift.request.request_id}"
    assert len(told.kept(EventKind.FLOW_HALTED)) == 1


def test_the_queue_and_the_watch_s_own_approve_tell_the_same_halt_event(
    app: Application, desk: None
) -> None:
    """Two halts of two accounts, one approved through each path: one event each, alike but
    for what names the halt."""
    told = _Told()
    events = []
    for account, approve in (("SA001", approve_in_queue), ("SA002", approve_flow_halt)):
        flow = Flow(BROKER, account, ANY_COUNTERPARTY)
        asked = request_flow_halt(uow=app.uow(), alert=_confirmed(app, account), flow=flow,
                                  maker="desk-op", at=app.clock.now())  # fmt: skip
        calls = len(told.calls)
        approve(uow=app.uow(), request_id=asked.request.request_id, checker="desk-chk",
                at=app.clock.now(), publisher=told)  # fmt: skip
        assert len(told.calls) == calls + 1
        events.append(told.kept(EventKind.FLOW_HALTED)[-1])
    assert [(e.kind, e.account, e.counterparty, e.amount_fen) for e in events] == [
        (EventKind.FLOW_HALTED, "SA001", "*", 0), (EventKind.FLOW_HALTED, "SA002", "*", 0),
    ]  # fmt: skip
    assert len({e.key for e in events}) == 2


def test_a_client_halt_approved_in_the_queue_halts_the_client(app: Application, desk: None) -> None:
    told = _Told()
    alert = _confirmed(app, "F001")
    asked = request_halt(uow=app.uow(), alert=alert, fund_account="F001", business_date=DAY,
                         maker="desk-op", at=app.clock.now())  # fmt: skip
    assert not asked.halted
    approve_in_queue(uow=app.uow(), request_id=asked.request.request_id, checker="desk-chk",
                     at=app.clock.now(), publisher=told)  # fmt: skip
    with app.read_uow() as uow:
        halted = {h.fund_account for h in uow.intraday.halts(business_date=DAY, broker_id=BROKER)}
    assert halted == {"F001"}
    assert [e.account for e in told.kept(EventKind.CLIENT_HALTED)] == ["F001"]
