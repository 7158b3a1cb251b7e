"""A trading node on the real store: orders, start of day once, fencing, takeover, conservation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.intraday.book import (
    Execution,
    NodeEntry,
    Order,
    OrderRejection,
    Refusal,
    Side,
)
from clearwatch.domain.intraday.lease import IntradayRefused, IntradayRejection, LeaseMove
from clearwatch.services.intraday.trading_node import check_conservation

from .conftest import BROKER, DAY, central, node

CENTRAL = central({"F1": 1_000_000_00, "F2": 500_000_00}, {"F1": {"SH.600000": 10_000}})


def _buy(order_id: str, account: str, quantity: int, price_milli: int) -> Order:
    return Order(order_id, account, Side.BUY, "SH.600000", quantity, price_milli)


def _refusal(call) -> IntradayRejection:
    with pytest.raises(IntradayRefused) as caught:
        call()
    return caught.value.rejection


def test_orders_are_checked_against_available_cash_and_shares_and_fills_count_at_once(
    app: Application,
) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    outcomes = primary.submit(
        [
            _buy("o1", "F1", 60_000, 10_000),  # 600,000.00 + fees
            _buy("o2", "F1", 40_000, 10_000),  # would exceed what is left
            Order("o3", "F1", Side.SELL, "SH.600000", 10_001, 10_000),
            Order("o4", "F1", Side.SELL, "SH.600000", 10_000, 10_000),
        ]
    )
    assert isinstance(outcomes[0], NodeEntry)
    assert isinstance(outcomes[1], Refusal)
    assert outcomes[1].rejection is OrderRejection.CASH_MUST_COVER_AMOUNT_AND_FEES
    assert isinstance(outcomes[2], Refusal)
    assert outcomes[2].rejection is OrderRejection.SHARES_MUST_COVER_QUANTITY
    assert isinstance(outcomes[3], NodeEntry)
    primary.fill([Execution("o1", 60_000, 9_000)])  # filled cheaper: the rest is released
    assert primary.book is not None
    view = primary.book.client("F1")
    assert view is not None and view.cash_frozen_fen == 0
    # 540,000.00 spent plus fees: commission 135.00, handling 18.41, regulatory 10.80,
    # transfer 5.40 → 540,169.61; 1,000,000.00 − 540,169.61 = 459,830.39.
    assert view.cash_available_fen == 459_830_39
    # Today's buys are not sellable.
    assert view.shares_available.get("SH.600000", 0) == 0


def test_start_of_day_happens_once_per_node_and_date_whatever_the_failover_state(
    app: Application, clock: FixedClock
) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    assert _refusal(lambda: primary.start_of_day(central=CENTRAL)) is (
        IntradayRejection.START_OF_DAY_MUST_BE_ONCE_PER_NODE_AND_DATE
    )
    clock.at += timedelta(minutes=5)  # the primary's lease lapses; the standby takes over
    standby = node(app, "host-b")
    standby.take_over(central=CENTRAL)
    assert _refusal(lambda: standby.start_of_day(central=CENTRAL)) is (
        IntradayRejection.START_OF_DAY_MUST_BE_ONCE_PER_NODE_AND_DATE
    )
    with app.uow() as uow:
        assert uow.intraday.start_of_day("fast-1", DAY).holder == "host-a"  # type: ignore[union-attr]
        refused = [r for r in uow.audit.latest(limit=50) if r.action == "intraday.write_refused"]
    assert len(refused) == 2


def test_an_old_epoch_is_refused_once_a_standby_takes_over(
    app: Application, clock: FixedClock
) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    primary.submit([_buy("o1", "F2", 100, 10_000)])
    standby = node(app, "host-b")
    assert _refusal(standby.acquire) is IntradayRejection.LEASE_MUST_BE_FREE_OR_EXPIRED
    clock.at += timedelta(minutes=1)
    report = standby.take_over(central=CENTRAL)
    assert (report.move, report.epoch) == (LeaseMove.TAKEOVER, 2)
    # The old primary is still up and believes it is primary: its write carries epoch 1.
    assert _refusal(lambda: primary.submit([_buy("o2", "F2", 100, 10_000)])) is (
        IntradayRejection.LEASE_EPOCH_MUST_BE_CURRENT
    )
    # Even renewing cannot bring it back while the standby's lease is live.
    assert _refusal(primary.acquire) is IntradayRejection.LEASE_MUST_BE_FREE_OR_EXPIRED
    with app.uow() as uow:
        epochs = {epoch for _, epoch, _ in uow.intraday.journal_epochs("fast-1")}
    assert epochs == {1}


def test_a_standby_rebuilds_the_day_from_the_journal_not_from_a_fresh_sync(
    app: Application, clock: FixedClock
) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    primary.submit([_buy("o1", "F1", 10_000, 10_000), _buy("o2", "F2", 100, 10_000)])
    primary.fill([Execution("o2", 100, 10_000)])
    assert primary.book is not None
    before = primary.book.clients()
    clock.at += timedelta(minutes=1)
    # Central now says more (a re-sync would double the money); the standby ignores it.
    richer = central({"F1": 2_000_000_00, "F2": 1_000_000_00}, {"F1": {"SH.600000": 10_000}})
    standby = node(app, "host-b")
    report = standby.take_over(central=richer)
    assert standby.book is not None
    assert standby.book.clients() == before
    assert report.open_orders == 1 and report.entries_replayed > 0
    outcome = standby.submit([_buy("o1", "F1", 1, 10_000)])[0]
    assert isinstance(outcome, Refusal) and outcome.rejection is OrderRejection.ORDER_ID_MUST_BE_NEW


def test_a_conservation_breach_halts_the_client_and_raises_an_alert_with_evidence(
    app: Application,
) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    # The central books drop F2's available cash (say a correction) below what the node holds.
    poorer = central({"F1": 1_000_000_00, "F2": 300_000_00}, {"F1": {"SH.600000": 10_000}})
    report = check_conservation(
        uow=app.uow(),
        clock=app.clock,
        broker_id=BROKER,
        business_date=DAY,
        central=poorer,
        actor="checker-job",
    )
    assert report.halts_raised == ("F2",)
    (breach,) = report.breaches
    assert (breach.central_quantity, breach.nodes_quantity, breach.excess) == (
        300_000_00,
        500_000_00,
        200_000_00,
    )
    outcome, ok = primary.submit([_buy("o1", "F2", 100, 10_000), _buy("o2", "F1", 100, 10_000)])
    assert isinstance(outcome, Refusal)
    assert outcome.rejection is OrderRejection.CLIENT_TRADING_MUST_NOT_BE_HALTED
    assert isinstance(ok, NodeEntry)
    with app.uow() as uow:
        (halt,) = uow.intraday.halts(business_date=DAY)
        alerts = [r for r in uow.audit.latest(limit=50) if r.action.endswith("breach")]
    assert halt.evidence["breaches"][0]["excess"] == 200_000_00
    assert len(alerts) == 1


def test_a_second_node_takes_only_what_other_nodes_have_not_claimed(app: Application) -> None:
    first = node(app, "host-a")
    first.acquire()
    first.start_of_day(central=CENTRAL)
    second = node(app, "host-c", node_id="fast-2")
    second.acquire()
    report = second.start_of_day(central=CENTRAL)
    assert report.cash_allocated_fen == 0
    assert report.conservation.breaches == ()


def test_a_forced_takeover_needs_an_approved_override_used_once(app: Application) -> None:
    from clearwatch.domain.access.roles import Role
    from clearwatch.services.access import approvals
    from clearwatch.services.access.users import add_user

    at = app.clock.now()
    # The first user of an empty store is its admin; maker and checker share its back office.
    for user_id, role, actor in (
        ("root", Role.ADMIN, "bootstrap"),
        ("mia", Role.OPERATOR, "root"),
        ("chen", Role.CHECKER, "root"),
    ):
        add_user(
            uow=app.uow(),
            user_id=user_id,
            roles=[role],
            organisation="BO:B001",
            actor=actor,
            at=at,
        )
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    standby = node(app, "host-b")
    assert _refusal(lambda: standby.take_over(central=CENTRAL, override_request_id=1)) is (
        IntradayRejection.OVERRIDE_MUST_BE_APPROVED
    )
    request = approvals.request_approval_committed(
        uow=app.uow(),
        kind="override",
        subject_ref="node:fast-1/takeover",
        payload={},
        maker="mia",
        at=at,
    )
    approvals.approve_committed(uow=app.uow(), request_id=request.request_id, checker="chen", at=at)
    report = standby.take_over(central=CENTRAL, override_request_id=request.request_id)
    assert report.move is LeaseMove.OVERRIDE
    assert _refusal(
        lambda: primary.take_over(central=CENTRAL, override_request_id=request.request_id)
    ) is (IntradayRejection.OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED)


def test_the_journal_refuses_hand_edits(app: Application) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    with pytest.raises(DBAPIError), app.engine.begin() as connection:
        connection.execute(text("UPDATE intraday_journal SET cash_delta_fen = cash_delta_fen * 2"))
    with pytest.raises(DBAPIError), app.engine.begin() as connection:
        connection.execute(text("DELETE FROM intraday_start_of_day"))


def test_every_order_batch_checks_its_clients_across_nodes_first(app: Application) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    # Another reader of the central books saw F1's cash fall below what this node holds.
    with app.uow() as uow:
        uow.intraday.put_central_figures(
            broker_id=BROKER, business_date=DAY, figures={("F1", "CASH"): 400_000_00}
        )
        uow.commit()
    halted, other = primary.submit([_buy("o1", "F1", 100, 10_000), _buy("o2", "F2", 100, 10_000)])
    assert isinstance(halted, Refusal)
    assert halted.rejection is OrderRejection.CLIENT_TRADING_MUST_NOT_BE_HALTED
    assert isinstance(other, NodeEntry)
    with app.uow() as uow:
        (halt,) = uow.intraday.halts(business_date=DAY)
    assert halt.fund_account == "F1"


def test_the_claims_projection_always_equals_the_journal(
    app: Application, clock: FixedClock
) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    primary.submit(
        [_buy("o1", "F1", 1_000, 10_000), Order("s1", "F1", Side.SELL, "SH.600000", 500, 11_000)]
    )
    primary.fill([Execution("o1", 400, 9_990), Execution("s1", 500, 11_000)])
    primary.cancel(["o1"])
    second = node(app, "host-c", node_id="fast-2")
    second.acquire()
    second.start_of_day(central=central({"F1": 2_000_000_00, "F3": 10_00}))

    def totals(claims) -> dict[tuple[str, str, str], int]:
        summed: dict[tuple[str, str, str], int] = {}
        for c in claims:
            key = (c.node_id, c.fund_account, c.asset)
            summed[key] = summed.get(key, 0) + c.quantity
        return {key: value for key, value in summed.items() if value}

    with app.uow() as uow:
        projected = totals(uow.intraday.claims(broker_id=BROKER, business_date=DAY))
        journal = totals(uow.intraday.journal_claims(broker_id=BROKER, business_date=DAY))
    assert projected == journal
    assert projected[("fast-2", "F1", "CASH")] > 0 and ("fast-2", "F3", "CASH") in projected


def test_a_released_lease_is_taken_at_once_and_the_releaser_is_fenced(app: Application) -> None:
    primary = node(app, "host-a")
    primary.acquire()
    primary.start_of_day(central=CENTRAL)
    primary.release()
    report = node(app, "host-b").take_over(central=CENTRAL)
    assert (report.move, report.epoch) == (LeaseMove.TAKEOVER, 2)
    assert _refusal(lambda: primary.take_over(central=CENTRAL)) is (
        IntradayRejection.LEASE_MUST_BE_FREE_OR_EXPIRED
    )
