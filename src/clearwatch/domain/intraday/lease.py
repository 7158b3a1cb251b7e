"""Leases and fencing: who may act for a trading node, decided by epoch and expiry.

A node acts only while it holds the current lease. Taking over raises the epoch; every write
carries the writer's epoch and is refused unless it is still the current one and unexpired.
Times are integer microseconds since the Unix epoch, from the injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from clearwatch.domain.shared.errors import Refused

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """A timezone-aware time as integer microseconds since 1970 (no float on the way)."""
    return (moment - _UNIX_EPOCH) // timedelta(microseconds=1)


class IntradayRejection(StrEnum):
    """Why the node may not do what it asked, in precedence order."""

    LEASE_MUST_BE_FREE_OR_EXPIRED = "lease_must_be_free_or_expired"
    OVERRIDE_MUST_BE_APPROVED = "override_must_be_approved"
    OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED = "override_approval_must_not_be_reused"
    LEASE_MUST_BE_HELD = "lease_must_be_held"
    LEASE_EPOCH_MUST_BE_CURRENT = "lease_epoch_must_be_current"
    LEASE_MUST_NOT_BE_EXPIRED = "lease_must_not_be_expired"
    START_OF_DAY_MUST_BE_ONCE_PER_NODE_AND_DATE = "start_of_day_must_be_once_per_node_and_date"
    START_OF_DAY_MUST_PRECEDE_TAKEOVER = "start_of_day_must_precede_takeover"
    NODE_MUST_HAVE_ITS_DAY_LOADED = "node_must_have_its_day_loaded"


class IntradayRefused(Refused):
    """An expected refusal with its named rule; nothing was written."""

    def __init__(self, rejection: IntradayRejection, detail: str = "") -> None:
        super().__init__(rejection.value, detail)
        self.rejection = rejection
        self.detail = detail


@dataclass(frozen=True)
class Lease:
    node_id: str
    holder: str  # the instance (process, host) that holds it
    epoch: int
    expires_at_us: int


class LeaseMove(StrEnum):
    FIRST = "first"
    RENEW = "renew"
    TAKEOVER = "takeover"
    OVERRIDE = "override"
    RELEASE = "release"


def next_lease(
    current: Lease | None,
    *,
    node_id: str,
    holder: str,
    now_us: int,
    ttl_us: int,
    override: bool = False,
) -> tuple[Lease, LeaseMove]:
    """The lease after `holder` asks for it; a change of holder always raises the epoch."""
    expires = now_us + ttl_us
    if current is None:
        return Lease(node_id, holder, 1, expires), LeaseMove.FIRST
    if current.holder == holder and current.expires_at_us > now_us:
        return Lease(node_id, holder, current.epoch, expires), LeaseMove.RENEW
    if current.expires_at_us <= now_us:
        return Lease(node_id, holder, current.epoch + 1, expires), LeaseMove.TAKEOVER
    if override:
        return Lease(node_id, holder, current.epoch + 1, expires), LeaseMove.OVERRIDE
    raise IntradayRefused(
        IntradayRejection.LEASE_MUST_BE_FREE_OR_EXPIRED,
        f"{node_id} held by {current.holder} (epoch {current.epoch})",
    )


def check_fence(current: Lease | None, *, holder: str, epoch: int, now_us: int) -> None:
    """Refuse a write unless it carries the current epoch of an unexpired lease it holds."""
    if current is None:
        raise IntradayRefused(IntradayRejection.LEASE_MUST_BE_HELD, "no lease")
    if current.epoch != epoch or current.holder != holder:
        raise IntradayRefused(
            IntradayRejection.LEASE_EPOCH_MUST_BE_CURRENT,
            f"write carries epoch {epoch} of {holder}; "
            f"current is epoch {current.epoch} of {current.holder}",
        )
    if current.expires_at_us <= now_us:
        raise IntradayRefused(IntradayRejection.LEASE_MUST_NOT_BE_EXPIRED, f"epoch {epoch}")
