"""A flow halt reaches the trading nodes: a halt of all of an account's outflows refuses its buys
(a buy pays money out) from the next order batch of a node already running, sells and other
clients pass, a halt to one counterparty leaves trading alone, and a lift restores the buys.

On the real store (SQLite and PostgreSQL), with the real books as the nodes' central figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.events.memory import InProcessStream
from clearwatch.adapters.events.publisher import StreamPublisher
from clearwatch.adapters.watch.rules_file import load_watch_rules
from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.domain.access.roles import Role
from clearwatch.domain.intraday.book import Execution, Order, Refusal
from clearwatch.domain.intraday.fee_estimates import fee_rates
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.kinds import Side
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.domain.watch.events import EventKind, WatchEvent, event_from_dict, event_to_dict
from clearwatch.domain.watch.features import DailyFeatures
from clearwatch.domain.watch.flow_halts import ANY_COUNTERPARTY, Flow, FlowHalt
from clearwatch.domain.watch.reviews import ReviewDecision
from clearwatch.services.access.users import add_user
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.intraday.central_funds import BooksCentralFunds
from clearwatch.services.intraday.trading_node import TradingNode
from clearwatch.services.watch.consume import AlertsInMemory, WatchConsumer, replay
from clearwatch.services.watch.flow_halts import (
    approve_flow_halt,
    approve_lift,
    request_flow_halt,
    request_lift,
)
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher
from clearwatch.services.watch.review import review_alert
from tests.backoffice_batches import BANK, BROKER, static_batch

DAY = date(2026, 11, 20)
HOME = f"BO:{BROKER}"
HOLDINGS = [("F001", "SH.600000", "1000"), ("F002", "SH.600000", "1000")]


@pytest.fixture
def tools(app: Application) -> BackOfficeTools:
    return build_backoffice_tools(app.columnar, threads=1)


@pytest.fixture
def desk(app: Application, tools: BackOfficeTools, tmp_path: Path) -> None:
    """The desk's users, and the books opened."""
    at = app.clock.now()
    add_user(uow=app.uow(), user_id="root", roles=[Role.ADMIN], organisation=HOME, actor="x", at=at)
    for user, role in (("desk-op", Role.OPERATOR), ("desk-chk", Role.CHECKER)):
        add_user(uow=app.uow(), user_id=user, roles=[role], organisation=HOME, actor="root", at=at)
    static = static_batch(tmp_path / "s", holdings=HOLDINGS)
    import_batch(directory=static, uow=app.uow(), tools=tools, at=at)


@pytest.fixture
def trading(app: Application, tools: BackOfficeTools, desk: None) -> TradingNode:
    """A node that started its day from the books."""
    node = TradingNode(
        uow_factory=app.uow, clock=app.clock, node_id="fast-1", instance_id="fast-1@a",
        broker_id=BROKER, business_date=DAY, rates=fee_rates(tools.schedule),
        lease_ttl=timedelta(seconds=30),
    )  # fmt: skip
    node.acquire()
    node.start_of_day(central=BooksCentralFunds(app.read_uow, tools))
    return node


def _alert(account: str, counterparty: str, kind: EventKind) -> Alert:
    at = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    evidence = tuple(
        WatchEvent(f"{BROKER}/2026-11-20/K-1/{account}{i}", kind, DAY, BROKER, account,
                   -50_000_00, at + timedelta(minutes=i), counterparty, "other")
        for i in range(4)
    )  # fmt: skip
    return Alert(
        key=f"withdrawal_burst/{BROKER}/2026-11-20/account:{account}",
        rule="withdrawal_burst",
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


def _halt(
    app: Application, alert: Alert, flow: Flow, publisher: EventPublisher = NO_PUBLISHER
) -> FlowHalt:
    """Confirmed, asked by an operator, approved by a checker: the halt in force."""
    review_alert(uow=app.uow(), alert=alert, decision=ReviewDecision.CONFIRMED, reason="",
                 reviewer="desk-op", at=app.clock.now())  # fmt: skip
    asked = request_flow_halt(uow=app.uow(), alert=alert, flow=flow, maker="desk-op",
                              at=app.clock.now(), publisher=publisher)  # fmt: skip
    assert asked.halt is None
    halted = approve_flow_halt(uow=app.uow(), request_id=asked.request.request_id,
                               checker="desk-chk", at=app.clock.now(),
                               publisher=publisher)  # fmt: skip
    assert halted.halt is not None and halted.halt.in_force
    return halted.halt


def _outcomes(node: TradingNode, orders: list[tuple[str, Side]], batch: str) -> list[str]:
    results = node.submit(
        [Order(f"{batch}-{i}", account, side, "SH.600000", 100, 10_000)
         for i, (account, side) in enumerate(orders)]
    )  # fmt: skip
    return [r.rejection.value if isinstance(r, Refusal) else "accepted" for r in results]


BUYS_AND_SELLS = [("F001", Side.BUY), ("F002", Side.BUY), ("F002", Side.SELL)]


def test_a_client_s_halted_outflows_refuse_its_buys_at_a_running_node_until_lifted(
    app: Application, trading: TradingNode
) -> None:
    assert _outcomes(trading, BUYS_AND_SELLS, "a") == ["accepted"] * 3
    # One counterparty halted (the client's bank): trading pays the CCP, not that bank.
    _halt(app, _alert("F001", BANK, EventKind.BANK_TRANSFER), Flow(BROKER, "F001", BANK))
    assert _outcomes(trading, BUYS_AND_SELLS, "b") == ["accepted"] * 3
    # Every outflow of F002 halted while the node runs: its next buy is refused, its sell
    # and the other client's buy pass.
    alert = _alert("F002", BANK, EventKind.BANK_TRANSFER)
    halt = _halt(app, alert, Flow(BROKER, "F002", ANY_COUNTERPARTY))
    assert _outcomes(trading, BUYS_AND_SELLS, "c") == [
        "accepted", "halted_outflows_must_not_buy", "accepted",
    ]  # fmt: skip
    (refusal,) = trading.submit([Order("c-x", "F002", Side.BUY, "SH.600000", 100, 10_000)])
    assert isinstance(refusal, Refusal)
    assert refusal.detail == f"flow halt #{halt.halt_id}: the client's outflows"
    # A fill and a cancel of F002's buys accepted before the halt are not stopped.
    (filled,) = trading.fill([Execution("b-1", 100, 10_000)])
    (cancelled,) = trading.cancel(["a-1"])
    assert not isinstance(filled, Refusal) and not isinstance(cancelled, Refusal)
    lift = request_lift(uow=app.uow(), halt_id=halt.halt_id, reason="the client explained",
                        maker="desk-op", at=app.clock.now())  # fmt: skip
    assert _outcomes(trading, [("F002", Side.BUY)], "d") == ["halted_outflows_must_not_buy"]
    approve_lift(uow=app.uow(), request_id=lift.request.request_id, checker="desk-chk",
                 at=app.clock.now())  # fmt: skip
    assert _outcomes(trading, [("F002", Side.BUY)], "e") == ["accepted"]


def test_a_special_account_s_halted_outflows_refuse_the_buys_of_the_clients_it_holds(
    app: Application, trading: TradingNode
) -> None:
    alert = _alert("SA001", "X-OFFSHORE-9", EventKind.SPECIAL_ACCOUNT_MOVEMENT)
    halt = _halt(app, alert, Flow(BROKER, "SA001", ANY_COUNTERPARTY))
    assert _outcomes(trading, BUYS_AND_SELLS, "a") == [
        "halted_outflows_must_not_buy", "halted_outflows_must_not_buy", "accepted",
    ]  # fmt: skip
    (refusal,) = trading.submit([Order("a-x", "F001", Side.BUY, "SH.600000", 100, 10_000)])
    assert isinstance(refusal, Refusal)
    assert refusal.detail == f"flow halt #{halt.halt_id}: its special account's outflows"


def test_a_flow_halt_and_its_lift_reach_the_watch_once_and_a_replay_takes_them(
    app: Application, desk: None
) -> None:
    stream = InProcessStream()
    publisher = StreamPublisher(stream=lambda: stream, source=DayFilesSource)
    alert = _alert("SA001", "X-OFFSHORE-9", EventKind.SPECIAL_ACCOUNT_MOVEMENT)
    flow = Flow(BROKER, "SA001", ANY_COUNTERPARTY)
    halt = _halt(app, alert, flow, publisher)
    (halted,) = stream.retained
    assert (halted.key, halted.kind, halted.account, halted.counterparty) == (
        f"{BROKER}/flow-halt/{halt.halt_id}", EventKind.FLOW_HALTED, "SA001", "*",
    )  # fmt: skip
    assert halted.business_date == DAY and halted.amount_fen == 0
    assert halted.detail == f"approval:{halt.approval_id}"
    assert halted.extra_value("alert") == alert.key and halted.extra_value("by") == "desk-chk"
    # Asked again after the approval, the halt stands and is told again: the same key.
    again = request_flow_halt(uow=app.uow(), alert=alert, flow=flow, maker="desk-op",
                              at=app.clock.now(), publisher=publisher)  # fmt: skip
    assert again.halt == halt and len(stream.retained) == 1
    app.clock.at += timedelta(hours=20)  # type: ignore[attr-defined]  # lifted the next day
    lift = request_lift(uow=app.uow(), halt_id=halt.halt_id, reason="the bank confirmed",
                        maker="desk-op", at=app.clock.now(), publisher=publisher)  # fmt: skip
    assert len(stream.retained) == 1  # asked is not lifted
    approve_lift(uow=app.uow(), request_id=lift.request.request_id, checker="desk-chk",
                 at=app.clock.now(), publisher=publisher)  # fmt: skip
    lifted = stream.retained[-1]
    assert (lifted.key, lifted.kind, lifted.business_date) == (
        f"{BROKER}/flow-halt-lift/{halt.halt_id}", EventKind.FLOW_HALT_LIFTED, date(2026, 11, 21),
    )  # fmt: skip
    assert lifted.detail == f"approval:{lift.request.request_id}"
    assert [event_from_dict(event_to_dict(e)) for e in stream.retained] == stream.retained
    # The detectors take both and raise nothing; the models' features ignore them; a replay
    # of the same events publishes nothing new and a second consumer raises nothing again.
    log = AlertsInMemory()
    first = WatchConsumer.for_rules(load_watch_rules(), log)
    assert stream.consume(first.handle, idle_seconds=0.0) == 2 and first.raised == []
    features = DailyFeatures()
    for event in stream.retained:
        features.observe(event)
    assert features.rows == {}
    second = WatchConsumer.for_rules(load_watch_rules(), log)
    result = replay(source=_Events(list(stream.retained)), stream=stream, consumer=second)
    assert (result.published, result.consumed, result.alerts) == (0, 2, ())


class _Events:
    def __init__(self, events: list[WatchEvent]) -> None:
        self._events = events

    def events(self) -> Iterator[WatchEvent]:
        return iter(self._events)
