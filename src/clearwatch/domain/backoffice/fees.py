"""Trade fees (spec §3): the fee schedule as a value, each fee rounded half-up to the fen.

The schedule is data (`rules/fees.toml`), read and parsed by an adapter; the domain only gets
the parsed document and the file's sha256, which versions it. The engine computes fees with
integer arithmetic (prices in thousandths of a yuan, rates as exact integer ratios);
`execution_fees` here is the plain `Decimal` reference it must equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.domain.shared.kinds import Side
from clearwatch.domain.shared.money import parse_fen, parse_rate

FEN_PER_YUAN = 100


class FeeScheduleError(ConfigurationError, ValueError):
    """A fee schedule document that cannot be charged by: the configured file is wrong."""


@dataclass(frozen=True)
class FeeSchedule:
    """The fee rates and the transfer approval threshold; every rate an exact Decimal."""

    content_sha256: str  # of the file's bytes: the schedule's version
    commission_rate_default: Decimal
    commission_minimum_fen: int
    commission_rate_max: Decimal
    stamp_duty_rate: Decimal
    transfer_fee_rate: Decimal
    handling_fee_rate: Decimal
    regulatory_fee_rate: Decimal
    exempt_prefixes: tuple[tuple[str, tuple[str, ...]], ...]  # (market, code prefixes)
    # Bank transfers strictly above this need a second person's approval (spec §5).
    transfer_approval_threshold_fen: int

    @property
    def version_ref(self) -> str:
        """The first hex digits of the file, recorded wherever fees are charged."""
        return f"fees@{self.content_sha256[:12]}"

    def is_fund(self, market: str, security: str) -> bool:
        """Funds and ETFs pay neither stamp duty nor transfer fee: codes with an exempt prefix."""
        code = security.split(".")[-1]
        return any(
            market == exempt_market and code.startswith(prefixes)
            for exempt_market, prefixes in self.exempt_prefixes
        )


def fee_schedule_from_document(document: Mapping[str, Any], *, content_sha256: str) -> FeeSchedule:
    """A schedule from a parsed document such as `rules/fees.toml` (parsed by the caller)."""
    try:
        exempt = document.get("exempt_funds", {})
        return FeeSchedule(
            content_sha256=content_sha256,
            commission_rate_default=parse_rate(document["commission"]["default_rate"]),
            commission_minimum_fen=parse_fen(document["commission"]["minimum"]),
            commission_rate_max=parse_rate(document["commission"]["maximum_rate"]),
            stamp_duty_rate=parse_rate(document["stamp_duty"]["rate"]),
            transfer_fee_rate=parse_rate(document["transfer_fee"]["rate"]),
            handling_fee_rate=parse_rate(document["handling_fee"]["rate"]),
            regulatory_fee_rate=parse_rate(document["regulatory_fee"]["rate"]),
            exempt_prefixes=tuple(
                (market, tuple(str(prefix) for prefix in prefixes))
                for market, prefixes in sorted(exempt.items())
            ),
            transfer_approval_threshold_fen=parse_fen(document["transfers"]["approval_threshold"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise FeeScheduleError(f"fee_schedule_must_be_complete: {error!r}") from error


@dataclass(frozen=True)
class ExecutionFees:
    """Amount and fees of one execution, in fen; `cash_fen` is the client's signed cash change."""

    amount_fen: int
    commission_fen: int
    stamp_duty_fen: int
    transfer_fee_fen: int
    handling_fee_fen: int
    regulatory_fee_fen: int

    @property
    def fees_fen(self) -> int:
        return (
            self.commission_fen
            + self.stamp_duty_fen
            + self.transfer_fee_fen
            + self.handling_fee_fen
            + self.regulatory_fee_fen
        )

    def cash_fen(self, side: Side) -> int:
        if side is Side.BUY:
            return -(self.amount_fen + self.fees_fen)
        return self.amount_fen - self.fees_fen


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def trade_amount_fen(quantity: int, price: Decimal) -> int:
    """round_half_up(quantity × price, 2), in fen."""
    return _half_up(Decimal(quantity) * price * FEN_PER_YUAN)


def execution_fees(
    *,
    schedule: FeeSchedule,
    market: str,
    security: str,
    side: Side,
    quantity: int,
    price: Decimal,
    commission_rate: Decimal | None = None,
) -> ExecutionFees:
    """The Decimal reference: every fee is amount × rate rounded half-up to the fen."""
    amount = trade_amount_fen(quantity, price)
    rate = schedule.commission_rate_default if commission_rate is None else commission_rate
    fund = schedule.is_fund(market, security)
    return ExecutionFees(
        amount_fen=amount,
        commission_fen=max(_half_up(amount * rate), schedule.commission_minimum_fen),
        stamp_duty_fen=0
        if fund or side is Side.BUY
        else _half_up(amount * schedule.stamp_duty_rate),
        transfer_fee_fen=0 if fund else _half_up(amount * schedule.transfer_fee_rate),
        handling_fee_fen=_half_up(amount * schedule.handling_fee_rate),
        regulatory_fee_fen=_half_up(amount * schedule.regulatory_fee_rate),
    )


def exact_ratio(rate: Decimal) -> tuple[int, int]:
    """A rate as (numerator, denominator) with a power-of-ten denominator, for integer engines."""
    sign, digits, exponent = rate.normalize().as_tuple()
    if sign or not isinstance(exponent, int):
        raise ValueError(f"rate must be finite and not negative: {rate}")
    numerator = int("".join(map(str, digits)) or "0")
    if exponent >= 0:
        return numerator * 10**exponent, 1
    return numerator, 10**-exponent
