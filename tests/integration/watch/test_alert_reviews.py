"""The risk desk reviews an alert; a halt it asks for takes a second person, then holds.

On the real store (SQLite and PostgreSQL): the review, the approval and the intraday halt every
trading node obeys, with refusals that change nothing and policy denials that are audited.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.events.memory import InProcessStream
from clearwatch.adapters.events.publisher import StreamPublisher
from clearwatch.bootstrap import Application
from clearwatch.domain.access.organisations import parse_organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.intraday.book import Order, OrderRejection, Refusal, Side
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.domain.watch.reviews import ReviewDecision
from clearwatch.services.access.approvals import (
    approve_committed,
    request_emergency_grant_committed,
)
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.watch.review import approve_halt, request_halt, review_alert
from tests.integration.intraday.conftest import BROKER, DAY, central, node
from tests.support.identities import registered

HOME = f"BO:{BROKER}"


def _burst(account: str = "F1") -> Alert:
    at = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    evidence = tuple(
        WatchEvent(
            key=f"{BROKER}/2026-11-20/K-1/X{i}",
            kind=EventKind.BANK_TRANSFER,
            business_date=DAY,
            broker_id=BROKER,
            account=account,
            amount_fen=-50_000_00,
            occurred_at=at + timedelta(minutes=i),
            counterparty="K001",
        )
        for i in range(6)
    )
    return Alert(
        key=f"withdrawal_burst/{BROKER}/2026-11-20/account:{account}",
        rule="withdrawal_burst",
        level=WatchLevel.MAJOR,
        business_date=DAY,
        broker_id=BROKER,
        subject=f"account:{account}",
        summary=f"6 withdrawals from {account} in 5 minutes",
        amount_fen=300_000_00,
        raised_at=evidence[-1].occurred_at,
        rules_sha256="0" * 64,
        evidence=evidence,
    )


@pytest.fixture
def desk(app: Application) -> dict[str, str]:
    return {
        "operator": registered(app, "desk-op", HOME, Role.OPERATOR),
        "checker": registered(app, "desk-chk", HOME, Role.CHECKER),
        "duty": registered(app, "duty-officer", HOME, Role.OPERATOR),
    }


def _review(app: Application, who: str, decision: ReviewDecision, reason: str = "") -> None:
    review_alert(uow=app.uow(), alert=_burst(), decision=decision, reason=reason, reviewer=who,
                 at=app.clock.now())  # fmt: skip


def _ask(app: Application, who: str) -> int:
    outcome = request_halt(uow=app.uow(), alert=_burst(), fund_account="F1", business_date=DAY,
                           maker=who, at=app.clock.now())  # fmt: skip
    assert not outcome.halted
    return outcome.request.request_id


def _halted(app: Application) -> set[str]:
    with app.uow() as uow:
        return uow.intraday.halted(broker_id=BROKER, business_date=DAY)


def _rule(call: object) -> str:
    with pytest.raises(Refused) as refused:
        call()  # type: ignore[operator]
    return refused.value.rule


def test_a_confirmed_alert_halts_the_client_once_a_second_person_approves(
    app: Application, desk: dict[str, str]
) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=central({"F1": 1_000_000_00, "F2": 1_000_000_00}))
    _review(app, desk["operator"], ReviewDecision.CONFIRMED)
    request_id = _ask(app, desk["operator"])
    assert _halted(app) == set()  # asked is not halted
    # The maker cannot approve their own halt; nothing changes.
    assert _rule(lambda: approve_halt(uow=app.uow(), request_id=request_id,
                                      checker=desk["operator"], at=app.clock.now())) == (
        "checker_must_not_be_maker"
    )  # fmt: skip
    assert _halted(app) == set()
    stream = InProcessStream()
    outcome = approve_halt(
        uow=app.uow(), request_id=request_id, checker=desk["checker"], at=app.clock.now(),
        publisher=StreamPublisher(stream=lambda: stream, source=DayFilesSource),
    )  # fmt: skip
    assert outcome.halted and outcome.request.checker == desk["checker"]
    assert _halted(app) == {"F1"}
    (told,) = stream.retained
    assert (told.kind, told.account) == (EventKind.CLIENT_HALTED, "F1")
    # The node obeys the halt at its next order batch; other clients trade on.
    halted, other = primary.submit(
        [Order("o1", "F1", Side.BUY, "SH.600000", 100, 10_000),
         Order("o2", "F2", Side.BUY, "SH.600000", 100, 10_000)]
    )  # fmt: skip
    assert isinstance(halted, Refusal)
    assert halted.rejection is OrderRejection.CLIENT_TRADING_MUST_NOT_BE_HALTED
    assert not isinstance(other, Refusal)
    with app.uow() as uow:
        (halt,) = uow.intraday.halts(business_date=DAY)
        actions = [r.action for r in uow.audit.latest(limit=20)]
    assert halt.evidence["alert"] == _burst().key and halt.evidence["checker"] == desk["checker"]
    assert {"watch.alert_reviewed", "watch.halt_requested", "watch.client_halted"} <= set(actions)


def test_a_dismissal_is_recorded_with_its_reason_and_asks_for_no_halt(
    app: Application, desk: dict[str, str]
) -> None:
    assert _rule(lambda: _review(app, desk["operator"], ReviewDecision.DISMISSED)) == (
        "dismissal_must_have_reason"
    )
    _review(app, desk["operator"], ReviewDecision.DISMISSED, "the client's own house purchase")
    with app.uow() as uow:
        review = uow.watch_reviews.review(_burst().key)
    assert review is not None
    assert (review.decision, review.reason) == (
        ReviewDecision.DISMISSED,
        "the client's own house purchase",
    )
    assert _rule(lambda: _review(app, desk["checker"], ReviewDecision.CONFIRMED)) in (
        "alert_must_be_reviewed_once",
        "policy_must_allow_action",  # a checker does not review: the desk's operator does
    )
    assert _rule(lambda: _review(app, desk["duty"], ReviewDecision.CONFIRMED)) == (
        "alert_must_be_reviewed_once"
    )
    assert _rule(lambda: _ask(app, desk["operator"])) == "halt_needs_a_confirmed_alert"


def _elsewhere(app: Application, user_id: str, role: Role) -> str:
    """A user of B002's back office: another deployment, arranged directly in this store."""
    with app.uow() as uow:
        uow.access.add_user(user_id=user_id, organisation=parse_organisation("BO:B002"),
                            created_at=app.clock.now(), created_by="test")  # fmt: skip
        uow.access.add_role(user_id=user_id, role=role, granted_at=app.clock.now(),
                            granted_by="test")  # fmt: skip
        uow.commit()
    return user_id


def test_an_operator_of_another_broker_is_refused_and_the_denial_audited(
    app: Application, desk: dict[str, str]
) -> None:
    outsider = _elsewhere(app, "other-op", Role.OPERATOR)
    with pytest.raises(PolicyDenied):
        _review(app, outsider, ReviewDecision.CONFIRMED)
    _review(app, desk["operator"], ReviewDecision.CONFIRMED)
    with pytest.raises(PolicyDenied):
        _ask(app, outsider)
    request_id = _ask(app, desk["operator"])
    outsider_checker = _elsewhere(app, "other-chk", Role.CHECKER)
    with pytest.raises(PolicyDenied):
        approve_halt(uow=app.uow(), request_id=request_id, checker=outsider_checker,
                     at=app.clock.now())  # fmt: skip
    with app.uow() as uow:
        denials = [r for r in uow.audit.latest(limit=30) if r.action == "access.denied"]
        assert uow.watch_reviews.review(_burst().key) is not None  # the desk's own, only
    assert [r.actor for r in denials] == [outsider, outsider, outsider_checker]
    assert {json.loads(r.payload_json)["organisation"] for r in denials} == {HOME}
    assert _halted(app) == set()


def test_the_duty_officer_approves_a_halt_through_an_emergency_grant_while_it_lasts(
    app: Application, desk: dict[str, str], clock: FixedClock
) -> None:
    with app.read_uow() as uow:
        admin = next(u.user_id for u in uow.access.users() if Role.ADMIN in u.roles)
    grant = request_emergency_grant_committed(
        uow=app.uow(), user_id=desk["duty"], role=Role.CHECKER, hours=12,
        reason="night duty: the risk desk's checker is off", maker=admin, at=app.clock.now(),
    )  # fmt: skip
    approve_committed(uow=app.uow(), request_id=grant.request_id, checker=desk["checker"],
                      at=app.clock.now())  # fmt: skip
    _review(app, desk["operator"], ReviewDecision.CONFIRMED)
    request_id = _ask(app, desk["operator"])
    outcome = approve_halt(uow=app.uow(), request_id=request_id, checker=desk["duty"],
                           at=app.clock.now())  # fmt: skip
    assert outcome.halted and _halted(app) == {"F1"}
    with app.uow() as uow:
        approved = {
            r.object_ref: json.loads(r.payload_json)
            for r in uow.audit.latest(limit=20)
            if r.action == "approval.approved"
        }
    assert approved[f"approval:{request_id}"]["via_emergency_grant"] is True
    assert approved[f"approval:{grant.request_id}"]["via_emergency_grant"] is False
    # The next night the grant has lapsed: the duty officer approves nothing any more.
    clock.at += timedelta(hours=13)
    later = request_halt(uow=app.uow(), alert=_burst(), fund_account="F1",
                         business_date=DAY + timedelta(days=1), maker=desk["operator"],
                         at=app.clock.now())  # fmt: skip
    assert _rule(lambda: approve_halt(uow=app.uow(), request_id=later.request.request_id,
                                      checker=desk["duty"], at=app.clock.now())) == (
        "emergency_grant_must_not_be_expired"
    )  # fmt: skip


def test_a_halt_approved_through_the_generic_command_is_applied_when_asked_again(
    app: Application, desk: dict[str, str]
) -> None:
    _review(app, desk["operator"], ReviewDecision.CONFIRMED)
    request_id = _ask(app, desk["operator"])
    approve_committed(uow=app.uow(), request_id=request_id, checker=desk["checker"],
                      at=app.clock.now())  # fmt: skip
    assert _halted(app) == set()
    again = request_halt(uow=app.uow(), alert=_burst(), fund_account="F1", business_date=DAY,
                         maker=desk["operator"], at=app.clock.now())  # fmt: skip
    assert again.halted and again.request.request_id == request_id
    assert _halted(app) == {"F1"}
    # Asked once more, the approval's halt already stands: said so, nothing added, nothing told.
    stream = InProcessStream()
    thrice = request_halt(
        uow=app.uow(), alert=_burst(), fund_account="F1", business_date=DAY,
        maker=desk["operator"], at=app.clock.now(),
        publisher=StreamPublisher(stream=lambda: stream, source=DayFilesSource),
    )  # fmt: skip
    assert (thrice.halted, thrice.already_halted) == (False, True)
    assert thrice.request.request_id == request_id and not stream.retained
    with app.uow() as uow:
        assert len(uow.intraday.halts(business_date=DAY, broker_id=BROKER)) == 1
    assert _rule(
        lambda: request_halt(uow=app.uow(), alert=_burst(), fund_account="F9",
                             business_date=date(2026, 11, 20), maker=desk["operator"],
                             at=app.clock.now())
    ) == "halt_account_must_be_named_by_the_alert"  # fmt: skip
