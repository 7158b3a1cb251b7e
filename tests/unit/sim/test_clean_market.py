"""A clean market is consistent: books balance, nobody overdraws, every party agrees."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from clearwatch.domain.shared.money import parse_fen
from clearwatch.sim.fees import (
    COMMISSION_MIN_FEN,
    HANDLING_FEE_RATE,
    REGULATORY_FEE_RATE,
    STAMP_DUTY_RATE,
    TRANSFER_FEE_RATE,
    is_fund_code,
)
from clearwatch.sim.simulate import SimSummary


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _trade_amount_fen(quantity: int, price: Decimal) -> int:
    """quantity × price rounded half-up to the fen, in Decimal: independent of the simulator."""
    return _half_up(Decimal(quantity) * price * 100)


def _fee_fen(amount_fen: int, rate: Decimal) -> int:
    """amount × rate rounded half-up to the fen, in Decimal: independent of the simulator."""
    return _half_up(Decimal(amount_fen) * rate)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _fees(row: dict[str, str], rate: str) -> tuple[int, int, int]:
    """(amount, commission, other fees) by the Decimal rules of backoffice.md §3."""
    amount = _trade_amount_fen(int(row["quantity"]), Decimal(row["price"]))
    fund = is_fund_code(row["market"], row["security"])
    commission = max(_fee_fen(amount, Decimal(rate)), COMMISSION_MIN_FEN)
    other = _fee_fen(amount, Decimal(HANDLING_FEE_RATE)) + _fee_fen(
        amount, Decimal(REGULATORY_FEE_RATE)
    )
    if not fund:
        other += _fee_fen(amount, Decimal(TRANSFER_FEE_RATE))
        if row["side"] == "S":
            other += _fee_fen(amount, Decimal(STAMP_DUTY_RATE))
    return amount, commission, other


def test_a_clean_market_expects_no_finding_and_no_reminder(clean_market: SimSummary) -> None:
    for day in clean_market.business_dates:
        expected = json.loads((clean_market.out / str(day) / "faults.json").read_text())
        assert expected["faults"] == []
        assert expected["expected"] == {"institutions": [], "reminders": []}


def test_bank_depository_equals_true_client_cash(clean_market: SimSummary) -> None:
    out = clean_market.out
    for day in clean_market.business_dates:
        books = {}
        for broker in json.loads((out / "sim.json").read_text())["brokers"]:
            for row in _rows(out / str(day) / "expected" / broker / "client_funds.csv"):
                books[(broker, row["fund_account"])] = parse_fen(row["balance"])
        bank = {}
        for package in sorted((out / str(day) / "packages").glob("K*")):
            for row in _rows(package / "client_depository.csv"):
                bank[(row["broker_id"], row["fund_account"])] = parse_fen(row["balance"])
        assert len(books) == 900
        assert bank == books


def test_special_accounts_and_reserves_cover_client_cash_plus_what_is_in_transit(
    clean_market: SimSummary,
) -> None:
    """Σ special + Σ reserve − Σ client cash = commission kept + today's net due to CSDC,
    and the package's net settlement is minus that due: Σ special + Σ (reserve + net
    settlement) − Σ client cash = commission kept, on net-selling and net-buying days alike.

    The net due is recomputed here from executions.csv with the Decimal fee rules.
    """
    out = clean_market.out
    first = out / str(clean_market.business_dates[0])
    for broker_dir in sorted((first / "broker").iterdir()):
        broker = broker_dir.name
        rates = {
            r["fund_account"]: r["commission_rate"]
            for r in _rows(broker_dir / "static" / "clients.csv")
        }
        commission_kept = 0
        for day in clean_market.business_dates:
            due = 0
            for row in _rows(out / str(day) / "broker" / broker / "trading" / "executions.csv"):
                amount, commission, other = _fees(row, rates[row["fund_account"]])
                due += (amount if row["side"] == "B" else -amount) + other
                commission_kept += commission
            expected = out / str(day) / "expected" / broker
            cash = sum(parse_fen(r["balance"]) for r in _rows(expected / "client_funds.csv"))
            special = sum(
                parse_fen(r["book_balance"]) for r in _rows(expected / "special_accounts.csv")
            )
            reserves = _rows(expected / "settlement_reserve.csv")
            reserve = sum(parse_fen(r["balance"]) for r in reserves)
            net = sum(parse_fen(r["net_settlement"]) for r in reserves)
            assert special + reserve - cash == commission_kept + due
            assert net == -due
            assert special + reserve + net - cash == commission_kept


def test_clients_never_overdraw_nor_sell_what_they_did_not_hold_at_the_open(
    clean_market: SimSummary,
) -> None:
    out = clean_market.out
    first = out / str(clean_market.business_dates[0])
    for broker_dir in sorted((first / "broker").iterdir()):
        broker = broker_dir.name
        holdings: dict[tuple[str, str], int] = defaultdict(int)
        cash: dict[str, int] = {}
        for row in _rows(broker_dir / "static" / "opening.csv"):
            if row["asset"] == "CASH":
                cash[row["account"]] = parse_fen(row["quantity"])
            else:
                holdings[(row["account"], row["asset"])] += int(row["quantity"])
        for day in clean_market.business_dates:
            sold: dict[tuple[str, str], int] = defaultdict(int)
            bought: dict[tuple[str, str], int] = defaultdict(int)
            for row in _rows(out / str(day) / "broker" / broker / "trading" / "executions.csv"):
                key = (row["fund_account"], f"{row['market']}.{row['security']}")
                (sold if row["side"] == "S" else bought)[key] += int(row["quantity"])
            for key, quantity in sold.items():
                assert quantity <= holdings[key], f"{key} sold beyond its opening holding"
            for key in set(sold) | set(bought):
                holdings[key] += bought[key] - sold[key]
            balances = _rows(out / str(day) / "expected" / broker / "client_funds.csv")
            assert min(parse_fen(r["balance"]) for r in balances) >= 0


def test_the_registry_spreads_brokers_over_regions_with_city_bureaus(
    clean_market: SimSummary,
) -> None:
    institutions = _rows(clean_market.out / "registry" / "institutions.csv")
    kinds = [r["kind"] for r in institutions]
    assert kinds.count("broker") == 3 and kinds.count("bank") == 3 and kinds.count("csdc") == 1
    assert [r["region"] for r in institutions if r["kind"] == "broker"] == [
        "CITY-SZ",
        "CN-SH",
        "CITY-NB",
    ]
    filed = _rows(clean_market.out / "registry" / "special_accounts.csv")
    assert {r["purpose"] for r in filed} == {
        "client_settlement",
        "credit_guarantee",
        "option_margin",
    }


def test_every_transfer_stays_below_the_approval_threshold(clean_market: SimSummary) -> None:
    out = clean_market.out
    amounts = [
        parse_fen(row["amount"])
        for day in clean_market.business_dates
        for path in (out / str(day) / "broker").glob("*/bank/bank_transfers.csv")
        for row in _rows(path)
    ]
    assert len(amounts) > 100
    assert max(amounts) < 100_000_000
