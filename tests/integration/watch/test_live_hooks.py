"""The back office's live hooks: end of day, trading nodes, halts and reversals reach the watch.

Each through the in-process bus, as `watch serve` would consume it; each published twice adds
nothing, because the keys name what happened.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.events.memory import InProcessStream
from clearwatch.adapters.events.publisher import StreamPublisher
from clearwatch.adapters.watch.rules_file import load_watch_rules
from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.services.backoffice.run_eod import EOD_STEPS, EodRequest, run_eod
from clearwatch.services.intraday.ports import CentralPosition, SnapshotCentralFunds
from clearwatch.services.intraday.trading_node import TradingNode, check_conservation
from clearwatch.services.watch.consume import AlertsInMemory, WatchConsumer
from tests.integration.backoffice.eod_days import DAY_1, inbox_day_1
from tests.integration.intraday.conftest import BROKER, DAY, RATES, central


def _bus() -> tuple[InProcessStream, StreamPublisher]:
    stream = InProcessStream()
    return stream, StreamPublisher(stream=lambda: stream, source=DayFilesSource)


def _of(stream: InProcessStream, kind: EventKind) -> list[WatchEvent]:
    return [event for event in stream.retained if event.kind is kind]


def test_end_of_day_publishes_its_deliveries_and_each_step_once(
    sqlite_app: Application, tmp_path: Path
) -> None:
    stream, publisher = _bus()
    tools = build_backoffice_tools(sqlite_app.columnar, threads=1)
    request = EodRequest(
        business_date=date.fromisoformat(DAY_1),
        inbox=inbox_day_1(tmp_path / "inbox"),
        out_root=tmp_path / "out",
    )
    run_eod(
        uow=sqlite_app.uow(), tools=tools, clock=sqlite_app.clock, request=request,
        publisher=publisher,
    )  # fmt: skip
    steps = [event.detail for event in _of(stream, EventKind.EOD_STEP)]
    assert steps == [step.value for step in EOD_STEPS]
    assert len(_of(stream, EventKind.BATCH_RECEIVED)) == 3  # static, trading, bank
    transfers = {e.account: e.amount_fen for e in _of(stream, EventKind.BANK_TRANSFER)}
    assert transfers == {"F003": 1_000_00, "F001": -2_000_00}
    # The same keys a replay of the inbox gives: `watch publish --from` adds nothing after.
    assert stream.publish(DayFilesSource(request.inbox).events()) == 0
    before = len(stream.retained)
    run_eod(
        uow=sqlite_app.uow(), tools=tools, clock=sqlite_app.clock, request=request,
        publisher=publisher,
    )  # fmt: skip
    assert len(stream.retained) == before  # a rerun is the same occurrences


def _node(app: Application, instance: str, publisher: StreamPublisher) -> TradingNode:
    return TradingNode(
        uow_factory=app.uow,
        clock=app.clock,
        node_id="fast-1",
        instance_id=instance,
        broker_id=BROKER,
        business_date=DAY,
        rates=RATES,
        lease_ttl=timedelta(seconds=30),
        publisher=publisher,
    )


def test_a_node_tells_its_start_takeover_and_the_halts_it_raises(
    sqlite_app: Application, clock: FixedClock
) -> None:
    stream, publisher = _bus()
    figures = central({"F1": 1_000_000_00, "F2": 500_000_00})
    primary = _node(sqlite_app, "host-a", publisher)
    primary.acquire()
    primary.start_of_day(central=figures)
    funds = _of(stream, EventKind.NODE_FUNDS)
    assert {(e.account, e.amount_fen, e.extra_value("central"), e.detail) for e in funds} == {
        ("F1", 1_000_000_00, str(1_000_000_00), "start"),
        ("F2", 500_000_00, str(500_000_00), "start"),
    }
    clock.at += timedelta(minutes=5)  # the primary's lease lapses; the standby takes over
    poorer = central({"F1": 1_000_000_00, "F2": 300_000_00})
    _node(sqlite_app, "host-b", publisher).take_over(central=poorer)
    leases = [(e.detail, e.extra_value("epoch")) for e in _of(stream, EventKind.NODE_LEASE)]
    assert leases == [("first", "1"), ("takeover", "2")]
    takeover = [e for e in _of(stream, EventKind.NODE_FUNDS) if e.detail == "takeover"]
    assert {(e.account, e.extra_value("central")) for e in takeover} == {
        ("F1", str(1_000_000_00)),
        ("F2", str(300_000_00)),
    }
    (halt,) = _of(stream, EventKind.CLIENT_HALTED)
    assert (halt.account, halt.detail, halt.counterparty) == (
        "F2",
        "nodes_available_must_not_exceed_central_available",
        "host-b",
    )
    # The same halt found again by the checking job: one halt per client and day.
    check_conservation(
        uow=sqlite_app.uow(), clock=sqlite_app.clock, broker_id=BROKER, business_date=DAY,
        central=poorer, actor="checker-job", publisher=publisher,
    )  # fmt: skip
    assert len(_of(stream, EventKind.CLIENT_HALTED)) == 1


def test_a_stream_that_is_down_does_not_undo_what_the_node_committed(
    sqlite_app: Application,
) -> None:
    class Down(InProcessStream):
        def publish(self, events: object) -> int:
            raise ConnectionRefusedError("nats is down")

    node = _node(sqlite_app, "host-a", StreamPublisher(stream=Down, source=DayFilesSource))
    node.acquire()
    report = node.start_of_day(central=central({"F1": 1_00}))
    assert report.clients == 1


def test_a_reversal_tells_the_watch_the_client_cash_it_moved(
    sqlite_app: Application, tmp_path: Path
) -> None:
    from clearwatch.domain.backoffice.approval_content import reversal_content
    from clearwatch.services.backoffice.reverse_entry import (
        REVERSAL_KIND,
        reversal_subject,
        reverse_entry,
    )
    from tests.integration.backoffice.test_approval_binding import DAY as BOOKS_DAY
    from tests.integration.backoffice.test_approval_binding import _approved, _start

    _start(sqlite_app, build_backoffice_tools(sqlite_app.columnar, threads=1), tmp_path)
    key = "adjustment:B001:A1"  # 10.00 of interest credited to F001
    with sqlite_app.uow() as uow:
        entry = uow.books.entry(key)
    assert entry is not None
    _approved(sqlite_app, REVERSAL_KIND, reversal_subject(key), reversal_content(entry))
    stream, publisher = _bus()
    for _ in range(2):  # the second is a no-op, and tells nothing new
        reverse_entry(uow=sqlite_app.uow(), entry_key=key, business_date=BOOKS_DAY,
                      actor="checker1", at=sqlite_app.clock.now(), publisher=publisher)  # fmt: skip
    (told,) = stream.retained
    assert (told.kind, told.account, told.amount_fen, told.detail) == (
        EventKind.CASH_ADJUSTMENT,
        "F001",
        -10_00,
        "reversal",
    )


def test_a_takeover_over_books_that_fell_alerts_on_the_special_account_too(
    sqlite_app: Application, clock: FixedClock
) -> None:
    """The central snapshot names each client's special account; the nodes tell it with their
    funds, so the watch finds the phantom money per special account as well as per client."""
    stream, publisher = _bus()

    def books(f2: int) -> SnapshotCentralFunds:
        return SnapshotCentralFunds({BROKER: {
            "F1": CentralPosition("F1", 1_000_000_00, special_account="SA001"),
            "F2": CentralPosition("F2", f2, special_account="SA001"),
            "F3": CentralPosition("F3", 200_000_00, special_account="SA002"),
        }})  # fmt: skip

    primary = _node(sqlite_app, "host-a", publisher)
    primary.acquire()
    primary.start_of_day(central=books(500_000_00))
    clock.at += timedelta(minutes=5)  # the primary's lease lapses; the standby takes over
    _node(sqlite_app, "host-b", publisher).take_over(central=books(300_000_00))
    funds = _of(stream, EventKind.NODE_FUNDS)
    assert {(e.account, e.extra_value("special_account")) for e in funds} == {
        ("F1", "SA001"), ("F2", "SA001"), ("F3", "SA002"),
    }  # fmt: skip
    consumer = WatchConsumer.for_rules(load_watch_rules(), AlertsInMemory())
    stream.consume(consumer.handle, idle_seconds=0.0)
    divergent = {(a.subject, a.amount_fen) for a in consumer.raised if a.rule == "node_divergence"}
    assert divergent == {("account:F2", 200_000_00), ("special_account:SA001", 200_000_00)}
