"""Leases and fencing decided by epoch and expiry; conservation across nodes."""

from __future__ import annotations

import pytest

from clearwatch.domain.intraday.conservation import CASH, NodeClaim, find_breaches
from clearwatch.domain.intraday.lease import (
    IntradayRefused,
    IntradayRejection,
    Lease,
    LeaseMove,
    check_fence,
    next_lease,
)

TTL = 1_000


def test_the_first_holder_gets_epoch_one_and_renewals_keep_it() -> None:
    lease, move = next_lease(None, node_id="n", holder="a", now_us=0, ttl_us=TTL)
    assert (lease.epoch, move) == (1, LeaseMove.FIRST)
    renewed, move = next_lease(lease, node_id="n", holder="a", now_us=500, ttl_us=TTL)
    assert (renewed.epoch, renewed.expires_at_us, move) == (1, 1_500, LeaseMove.RENEW)


def test_a_live_lease_is_refused_to_others_unless_overridden_and_takeover_raises_the_epoch() -> (
    None
):
    lease = Lease("n", "a", 4, 1_000)
    with pytest.raises(IntradayRefused) as refused:
        next_lease(lease, node_id="n", holder="b", now_us=999, ttl_us=TTL)
    assert refused.value.rejection is IntradayRejection.LEASE_MUST_BE_FREE_OR_EXPIRED
    taken, move = next_lease(lease, node_id="n", holder="b", now_us=1_000, ttl_us=TTL)
    assert (taken.epoch, taken.holder, move) == (5, "b", LeaseMove.TAKEOVER)
    forced, move = next_lease(lease, node_id="n", holder="b", now_us=0, ttl_us=TTL, override=True)
    assert (forced.epoch, move) == (5, LeaseMove.OVERRIDE)


@pytest.mark.parametrize(
    ("holder", "epoch", "now_us", "rejection"),
    [
        ("a", 3, 10, IntradayRejection.LEASE_EPOCH_MUST_BE_CURRENT),
        ("b", 4, 10, IntradayRejection.LEASE_EPOCH_MUST_BE_CURRENT),
        ("a", 4, 1_000, IntradayRejection.LEASE_MUST_NOT_BE_EXPIRED),
    ],
)
def test_a_write_with_an_old_epoch_another_holder_or_an_expired_lease_is_fenced(
    holder: str, epoch: int, now_us: int, rejection: IntradayRejection
) -> None:
    with pytest.raises(IntradayRefused) as refused:
        check_fence(Lease("n", "a", 4, 1_000), holder=holder, epoch=epoch, now_us=now_us)
    assert refused.value.rejection is rejection
    check_fence(Lease("n", "a", 4, 1_000), holder="a", epoch=4, now_us=999)


def test_claims_beyond_the_central_figure_are_breaches_with_per_node_evidence() -> None:
    claims = [
        NodeClaim("n1", "F1", CASH, 600),
        NodeClaim("n2", "F1", CASH, 500),
        NodeClaim("n1", "F2", CASH, 100),
        NodeClaim("n1", "F2", "SH.600000", 10),
    ]
    central = {("F1", CASH): 1_000, ("F2", CASH): 100, ("F2", "SH.600000"): 10}
    (breach,) = find_breaches(claims, central)
    assert (breach.fund_account, breach.excess) == ("F1", 100)
    assert breach.evidence()["by_node"] == {"n1": 600, "n2": 500}
    shares = find_breaches(claims, {("F1", CASH): 2_000, ("F2", CASH): 100})
    assert [(b.fund_account, b.asset) for b in shares] == [("F2", "SH.600000")]
