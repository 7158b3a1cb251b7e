"""Trade amounts and fees, vectorised in integer arithmetic: the simulator's own oracle.

Prices are integer thousandths of a yuan, amounts integer fen, rates integer units of 1e-8.
Every rounding is half-up to the fen, as `backoffice.md` §3 requires; all operands are
non-negative, so floor division of (x + half) is exactly half-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RATE_SCALE = 100_000_000  # rates are held as integer multiples of 1e-8
COMMISSION_MIN_FEN = 500
STAMP_DUTY_RATE = "0.0005"
TRANSFER_FEE_RATE = "0.00001"
HANDLING_FEE_RATE = "0.0000341"
REGULATORY_FEE_RATE = "0.00002"


def rate_units(text: str) -> int:
    """A decimal rate string as an exact integer multiple of 1e-8; finer rates are refused."""
    scaled = Decimal(text) * RATE_SCALE
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise ValueError(f"rate {text!r} is finer than 1e-8 or negative")
    return int(scaled)


def trade_amount_fen(quantity: Int64Array, price_milli: Int64Array) -> Int64Array:
    """round_half_up(quantity × price, 2): quantity × milli-yuan is tenths of a fen."""
    return (quantity * price_milli + 5) // 10


def fee_fen(amount_fen: Int64Array, units: Int64Array | int) -> Int64Array:
    """amount × rate rounded half-up to the fen."""
    return (amount_fen * units + RATE_SCALE // 2) // RATE_SCALE


@dataclass(frozen=True)
class Fees:
    """Per-execution fees in fen."""

    commission: Int64Array
    stamp_duty: Int64Array
    transfer: Int64Array
    handling: Int64Array
    regulatory: Int64Array

    @property
    def non_commission(self) -> Int64Array:
        """What the exchange, CSDC and the tax authority receive through the reserve."""
        return self.stamp_duty + self.transfer + self.handling + self.regulatory

    @property
    def total(self) -> Int64Array:
        return self.commission + self.non_commission


def compute_fees(
    *,
    amount_fen: Int64Array,
    is_sell: BoolArray,
    is_fund: BoolArray,
    commission_units: Int64Array,
) -> Fees:
    """The fee table of `backoffice.md` §3; funds and ETFs pay no stamp duty nor transfer fee."""
    taxable = ~is_fund
    zero = np.zeros_like(amount_fen)
    return Fees(
        commission=np.maximum(fee_fen(amount_fen, commission_units), COMMISSION_MIN_FEN),
        stamp_duty=np.where(
            is_sell & taxable, fee_fen(amount_fen, rate_units(STAMP_DUTY_RATE)), zero
        ),
        transfer=np.where(taxable, fee_fen(amount_fen, rate_units(TRANSFER_FEE_RATE)), zero),
        handling=fee_fen(amount_fen, rate_units(HANDLING_FEE_RATE)),
        regulatory=fee_fen(amount_fen, rate_units(REGULATORY_FEE_RATE)),
    )


def is_fund_code(market: str, code: str) -> bool:
    """SH codes starting with 5; SZ codes starting with 15, 16 or 18 are funds and ETFs."""
    return (market == "SH" and code.startswith("5")) or (
        market == "SZ" and code[:2] in ("15", "16", "18")
    )
