"""Fee estimates for order checks, in integer arithmetic so a node checks orders fast.

The rates and the fund exemptions are taken from the back office's fee schedule
(`domain.backoffice.fees`), so an estimate for a whole order equals the fees the books will
charge for it in one execution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from clearwatch.domain.backoffice.fees import FeeSchedule, exact_ratio

Ratio = tuple[int, int]  # numerator, denominator


def half_up(amount_fen: int, ratio: Ratio) -> int:
    """amount × ratio rounded half-up to the fen, for amounts that are not negative."""
    numerator, denominator = ratio
    return (2 * amount_fen * numerator + denominator) // (2 * denominator)


def order_amount_fen(quantity: int, price_milli: int) -> int:
    """round_half_up(quantity × price, 2) with the price in thousandths of a yuan."""
    return (quantity * price_milli + 5) // 10


@dataclass(frozen=True, slots=True)
class FeeRates:
    commission: Ratio
    commission_minimum_fen: int
    stamp_duty: Ratio
    transfer_fee: Ratio
    handling_fee: Ratio
    regulatory_fee: Ratio
    exempt_prefixes: Mapping[str, tuple[str, ...]]  # market → code prefixes of funds and ETFs
    version_ref: str  # the schedule these rates came from

    def is_fund(self, security: str) -> bool:
        """Funds and ETFs (`SH.510300`) pay neither stamp duty nor transfer fee."""
        market, _, code = security.partition(".")
        return code.startswith(self.exempt_prefixes.get(market, ()))

    def with_commission(self, rate: Decimal | None) -> FeeRates:
        if rate is None:
            return self
        return FeeRates(
            commission=exact_ratio(rate),
            commission_minimum_fen=self.commission_minimum_fen,
            stamp_duty=self.stamp_duty,
            transfer_fee=self.transfer_fee,
            handling_fee=self.handling_fee,
            regulatory_fee=self.regulatory_fee,
            exempt_prefixes=self.exempt_prefixes,
            version_ref=self.version_ref,
        )

    def fees_fen(self, *, sell: bool, security: str, amount_fen: int) -> int:
        """All fees of one execution of `amount_fen`, each rounded half-up to the fen.

        `half_up` written out inline: this runs once per order check."""
        twice = 2 * amount_fen
        n, d = self.commission
        fees = max((twice * n + d) // (2 * d), self.commission_minimum_fen)
        n, d = self.handling_fee
        fees += (twice * n + d) // (2 * d)
        n, d = self.regulatory_fee
        fees += (twice * n + d) // (2 * d)
        market, _, code = security.partition(".")  # `is_fund` inline, as `half_up` is
        if not code.startswith(self.exempt_prefixes.get(market, ())):
            n, d = self.transfer_fee
            fees += (twice * n + d) // (2 * d)
            if sell:
                n, d = self.stamp_duty
                fees += (twice * n + d) // (2 * d)
        return fees


def fee_rates(schedule: FeeSchedule) -> FeeRates:
    """The schedule's rates as exact ratios, its exemptions by market, for order checks."""
    return FeeRates(
        commission=exact_ratio(schedule.commission_rate_default),
        commission_minimum_fen=schedule.commission_minimum_fen,
        stamp_duty=exact_ratio(schedule.stamp_duty_rate),
        transfer_fee=exact_ratio(schedule.transfer_fee_rate),
        handling_fee=exact_ratio(schedule.handling_fee_rate),
        regulatory_fee=exact_ratio(schedule.regulatory_fee_rate),
        exempt_prefixes=dict(schedule.exempt_prefixes),
        version_ref=schedule.version_ref,
    )
