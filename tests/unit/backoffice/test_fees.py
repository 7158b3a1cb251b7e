"""Fees of spec §3 by the Decimal reference: the worked examples and the fund exemptions."""

from decimal import Decimal

from clearwatch.adapters.fee_schedule_file import load_fee_schedule
from clearwatch.domain.backoffice.fees import exact_ratio, execution_fees
from clearwatch.domain.shared.kinds import Side

SCHEDULE = load_fee_schedule()


def test_a_buy_of_1000_at_10_pays_the_minimum_commission_and_costs_10005_64() -> None:
    fees = execution_fees(
        schedule=SCHEDULE,
        market="SH",
        security="600000",
        side=Side.BUY,
        quantity=1000,
        price=Decimal("10.00"),
    )
    assert fees.amount_fen == 1_000_000
    assert fees.commission_fen == 500
    assert fees.transfer_fee_fen == 10
    assert fees.handling_fee_fen == 34
    assert fees.regulatory_fee_fen == 20
    assert fees.stamp_duty_fen == 0
    assert fees.cash_fen(Side.BUY) == -1_000_564


def test_the_same_sale_also_pays_stamp_duty_and_receives_9989_36() -> None:
    fees = execution_fees(
        schedule=SCHEDULE,
        market="SH",
        security="600000",
        side=Side.SELL,
        quantity=1000,
        price=Decimal("10.00"),
    )
    assert fees.stamp_duty_fen == 500
    assert fees.cash_fen(Side.SELL) == 998_936


def test_funds_and_etfs_pay_neither_stamp_duty_nor_transfer_fee() -> None:
    for market, security in (
        ("SH", "510300"),
        ("SZ", "159919"),
        ("SZ", "161005"),
        ("SZ", "184801"),
    ):
        fees = execution_fees(
            schedule=SCHEDULE,
            market=market,
            security=security,
            side=Side.SELL,
            quantity=100_000,
            price=Decimal("4.123"),
        )
        assert fees.stamp_duty_fen == 0
        assert fees.transfer_fee_fen == 0
        assert fees.handling_fee_fen > 0


def test_shenzhen_shares_starting_with_00_are_not_funds() -> None:
    assert not SCHEDULE.is_fund("SZ", "000001")
    assert not SCHEDULE.is_fund("SH", "600000")
    assert SCHEDULE.is_fund("SH", "588000")


def test_a_large_trade_pays_the_commission_rate_not_the_minimum() -> None:
    fees = execution_fees(
        schedule=SCHEDULE,
        market="SZ",
        security="000001",
        side=Side.BUY,
        quantity=100_000,
        price=Decimal("12.345"),
        commission_rate=Decimal("0.0003"),
    )
    assert fees.amount_fen == 123_450_000  # 1,234,500.00
    assert fees.commission_fen == 37_035  # 370.35


def test_rates_become_exact_power_of_ten_ratios() -> None:
    assert exact_ratio(Decimal("0.0000341")) == (341, 10_000_000)
    assert exact_ratio(Decimal("0.00025")) == (25, 100_000)
    assert exact_ratio(Decimal("0")) == (0, 1)
