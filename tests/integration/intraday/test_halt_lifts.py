"""Lifting an intraday halt is an approved override the trading nodes obey (issue 16).

Breach → halt → the node refuses the client → an operator asks to lift → not the maker, a
checker approves → the node accepts the client's next order → a larger breach halts again;
one approval lifts one halt; a rejected lift leaves the client halted. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.callers import Caller, CredentialKind
from clearwatch.domain.access.roles import Role
from clearwatch.domain.intraday.book import NodeEntry, Order, OrderRejection, Refusal, Side
from clearwatch.domain.intraday.halt_lifts import HaltState, LiftRule
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.services.access import approvals
from clearwatch.services.access.users import add_user
from clearwatch.services.intraday.halt_lifts import (
    approve_request,
    broker_halts,
    lift_halt,
    request_halt_lift,
)
from clearwatch.services.intraday.ports import HaltRecord
from clearwatch.services.intraday.trading_node import TradingNode, check_conservation

from .conftest import BROKER, DAY, central, node

CENTRAL = central({"F1": 1_000_000_00, "F2": 500_000_00})
POORER = central({"F1": 1_000_000_00, "F2": 300_000_00})  # F2's excess: 200,000.00
POORER_STILL = central({"F1": 1_000_000_00, "F2": 100_000_00})  # F2's excess: 400,000.00


class Told:
    """What the watch was told, in order."""

    def __init__(self) -> None:
        self.events: list[WatchEvent] = []

    def batch_delivered(self, directory: Path) -> None:
        return None

    def occurred(self, events: Sequence[WatchEvent]) -> None:
        self.events.extend(events)


def _people(app: Application) -> None:
    at = app.clock.now()
    for user_id, role, actor in (
        ("root", Role.ADMIN, "bootstrap"),
        ("mia", Role.OPERATOR, "root"),
        ("chen", Role.CHECKER, "root"),
    ):
        add_user(uow=app.uow(), user_id=user_id, roles=[role], organisation=f"BO:{BROKER}",
                 actor=actor, at=at)  # fmt: skip


def _order(order_id: str, account: str = "F2") -> Order:
    return Order(order_id, account, Side.BUY, "SH.600000", 100, 10_000)


def _check(app: Application, figures, told: Told | None = None) -> tuple[str, ...]:
    report = check_conservation(
        uow=app.uow(), clock=app.clock, broker_id=BROKER, business_date=DAY, central=figures,
        actor="checker-job", publisher=told or Told(),
    )  # fmt: skip
    return report.halts_raised


def _halts(app: Application) -> list[HaltRecord]:
    with app.uow() as uow:
        return uow.intraday.halts(business_date=DAY, broker_id=BROKER, fund_account="F2")


def _ask(app: Application, halt: HaltRecord) -> int:
    request = request_halt_lift(
        uow=app.uow(), halt=halt, reason="figures re-read", maker="mia", at=app.clock.now()
    )
    return request.request_id


def _approve(app: Application, request_id: int, checker: str, told: Told | None = None) -> None:
    approve_request(uow=app.uow(), request_id=request_id, checker=checker, at=app.clock.now(),
                    publisher=told or Told())  # fmt: skip


def _halted_node(app: Application) -> tuple[TradingNode, HaltRecord]:
    _people(app)
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    assert _check(app, POORER) == ("F2",)
    (refused,) = primary.submit([_order("o1")])
    assert isinstance(refused, Refusal)
    assert refused.rejection is OrderRejection.CLIENT_TRADING_MUST_NOT_BE_HALTED
    (halt,) = _halts(app)
    return primary, halt


def _states(app: Application) -> list[HaltState]:
    gate = app.gate(Caller("chen", CredentialKind.LOCAL))
    return [v.state for v in broker_halts(gate=gate, uow=app.uow(), broker_id=BROKER,
                                          business_date=DAY)]  # fmt: skip


def test_an_approved_lift_lets_the_node_accept_and_a_larger_breach_halts_again(
    app: Application,
) -> None:
    primary, halt = _halted_node(app)
    request_id = _ask(app, halt)
    assert _states(app) == [HaltState.LIFT_PENDING]
    with pytest.raises(AccessRefused) as maker:
        _approve(app, request_id, "mia")
    assert maker.value.rule == AccessRejection.CHECKER_MUST_NOT_BE_MAKER
    told = Told()
    _approve(app, request_id, "chen", told)
    assert _states(app) == [HaltState.LIFTED]
    (lifted,) = told.events
    assert (lifted.kind, lifted.account, lifted.detail) == (
        EventKind.CLIENT_HALT_LIFTED,
        "F2",
        f"approval:{request_id}",
    )
    # The node sees the lift at its next batch; the breach the checker saw halts nobody again.
    (accepted,) = primary.submit([_order("o2")])
    assert isinstance(accepted, NodeEntry)
    assert _check(app, POORER) == ()
    assert [h.halt_id for h in _halts(app)] == [halt.halt_id]
    # A larger breach is a fresh one: the client is halted again, as the second halt of its day.
    again = Told()
    assert _check(app, POORER_STILL, again) == ("F2",)
    assert _check(app, POORER_STILL) == ()  # the same breach re-checked: still one halt
    first, second = _halts(app)
    assert (first.lifted, second.lifted, second.seq) == (True, False, 2)
    assert [e.key for e in again.events] == [f"{BROKER}/{DAY.isoformat()}/halt/F2/2"]
    (refused,) = primary.submit([_order("o3")])
    assert isinstance(refused, Refusal)
    assert refused.rejection is OrderRejection.CLIENT_TRADING_MUST_NOT_BE_HALTED
    with app.uow() as uow:
        actions = [r.action for r in uow.audit.latest(limit=100)]
    assert actions.count("intraday.halt_lifted") == 1
    assert actions.count("intraday.conservation_breach") == 2


def test_a_lift_approval_cannot_lift_a_second_halt(app: Application) -> None:
    _, halt = _halted_node(app)
    request_id = _ask(app, halt)
    _approve(app, request_id, "chen")
    assert _check(app, POORER_STILL) == ("F2",)
    _, second = _halts(app)
    for halt_id in (second.halt_id, halt.halt_id):
        with pytest.raises(Refused) as reused:
            lift_halt(uow=app.uow(), request_id=request_id, halt_id=halt_id, actor="mia",
                      at=app.clock.now())  # fmt: skip
        assert reused.value.rule == LiftRule.OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED
    with app.uow() as uow:
        assert uow.intraday.halted(broker_id=BROKER, business_date=DAY) == {"F2"}


def test_a_rejected_lift_leaves_the_client_halted(app: Application) -> None:
    primary, halt = _halted_node(app)
    request_id = _ask(app, halt)
    approvals.reject_committed(uow=app.uow(), request_id=request_id, checker="chen",
                               at=app.clock.now(), reason="the breach is real")  # fmt: skip
    assert _states(app) == [HaltState.ACTIVE]
    with pytest.raises(Refused) as rejected:
        lift_halt(uow=app.uow(), request_id=request_id, halt_id=halt.halt_id, actor="mia",
                  at=app.clock.now())  # fmt: skip
    assert rejected.value.rule == LiftRule.OVERRIDE_MUST_BE_APPROVED
    (refused,) = primary.submit([_order("o2")])
    assert isinstance(refused, Refusal)
    assert not _halts(app)[0].lifted


def test_every_approve_that_succeeds_lifts_and_the_generic_one_refuses_a_lift_by_name(
    app: Application,
) -> None:
    primary, halt = _halted_node(app)
    request_id = _ask(app, halt)
    # The generic approve (a drill's harness uses it) would approve without lifting: refused.
    with pytest.raises(Refused) as refused:
        approvals.approve_committed(uow=app.uow(), request_id=request_id, checker="chen",
                                    at=app.clock.now())  # fmt: skip
    assert refused.value.rule == LiftRule.LIFT_MUST_BE_APPROVED_WITH_ITS_LIFT
    assert _states(app) == [HaltState.LIFT_PENDING]
    assert isinstance(primary.submit([_order("o2")])[0], Refusal)
    _approve(app, request_id, "chen")  # the queue's approve, as the CLI, API and web call it
    assert _states(app) == [HaltState.LIFTED]
    assert isinstance(primary.submit([_order("o3")])[0], NodeEntry)


def test_a_lift_approved_without_its_lift_earlier_is_applied_by_lift_halt_under_its_rules(
    app: Application,
) -> None:
    primary, halt = _halted_node(app)
    request_id = _ask(app, halt)
    with app.uow() as uow:  # as an approval recorded before every approve path lifted
        approvals.approve(uow=uow, request_id=request_id, checker="chen", at=app.clock.now())
        uow.commit()
    assert _states(app) == [HaltState.LIFT_APPROVED]
    assert isinstance(primary.submit([_order("o2")])[0], Refusal)
    lifted = lift_halt(uow=app.uow(), request_id=request_id, halt_id=halt.halt_id, actor="mia",
                       at=app.clock.now())  # fmt: skip
    assert lifted.halt_id == halt.halt_id and _states(app) == [HaltState.LIFTED]
    assert isinstance(primary.submit([_order("o3")])[0], NodeEntry)


def test_a_halt_lift_must_be_a_lift_of_that_halt(app: Application) -> None:
    _, halt = _halted_node(app)
    other = approvals.request_approval_committed(
        uow=app.uow(), kind="override", subject_ref="node:fast-1/takeover", payload={},
        maker="mia", at=app.clock.now(),
    )  # fmt: skip
    _approve(app, other.request_id, "chen")  # an ordinary override: approved, lifts nothing
    assert _halts(app)[0].lifted is False
    with pytest.raises(Refused) as wrong:
        lift_halt(uow=app.uow(), request_id=other.request_id, halt_id=halt.halt_id,
                  actor="mia", at=app.clock.now())  # fmt: skip
    assert wrong.value.rule == LiftRule.APPROVAL_MUST_BE_A_HALT_LIFT


def test_a_watch_halt_lifts_the_same_way_and_a_new_approval_halts_again(app: Application) -> None:
    from clearwatch.domain.watch.reviews import ReviewDecision
    from clearwatch.services.watch.review import approve_halt, request_halt, review_alert
    from tests.integration.watch.test_alert_reviews import _burst

    _people(app)
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    at = app.clock.now()
    review_alert(uow=app.uow(), alert=_burst("F2"), decision=ReviewDecision.CONFIRMED,
                 reason="", reviewer="mia", at=at)  # fmt: skip

    def ask() -> int:
        outcome = request_halt(uow=app.uow(), alert=_burst("F2"), fund_account="F2",
                               business_date=DAY, maker="mia", at=at)  # fmt: skip
        assert not outcome.halted  # asked, not halted
        return outcome.request.request_id

    approve_halt(uow=app.uow(), request_id=ask(), checker="chen", at=at)
    (halt,) = _halts(app)
    assert isinstance(primary.submit([_order("o1")])[0], Refusal)
    _approve(app, _ask(app, halt), "chen")
    assert isinstance(primary.submit([_order("o2")])[0], NodeEntry)
    # The spent approval does not halt the client again: the desk asks anew, a checker approves.
    approve_halt(uow=app.uow(), request_id=ask(), checker="chen", at=at)
    assert [(h.seq, h.lifted) for h in _halts(app)] == [(1, True), (2, False)]
    assert isinstance(primary.submit([_order("o3")])[0], Refusal)


def test_another_brokers_people_cannot_lift_a_halt_through_the_generic_queue(
    app: Application,
) -> None:
    from clearwatch.services.access.authorize import PolicyDenied
    from tests.integration.watch.test_alert_reviews import _elsewhere

    _, halt = _halted_node(app)
    at = app.clock.now()
    for user_id, role in (("eve", Role.OPERATOR), ("mal", Role.CHECKER)):
        _elsewhere(app, user_id, role)  # B002's back office: another deployment, arranged here
    # B002's operator crafts B001's lift by the generic request (for B002's checker to approve):
    # refused as it is asked, since the subject names B001's books, and audited.
    with pytest.raises(PolicyDenied):
        approvals.request_approval_committed(
            uow=app.uow(), kind="override", subject_ref=f"halt-lift:{BROKER}:F2:{DAY.isoformat()}",
            payload={"halt_id": halt.halt_id, "business_date": DAY.isoformat()}, maker="eve",
            at=at,
        )  # fmt: skip
    assert _halts(app)[0].lifted is False
    with app.read_uow() as uow:
        assert all(r.maker != "eve" for r in uow.access.requests())
