"""The market's standing cast: institutions, special accounts, clients and securities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from clearwatch.domain.shared.file_schema import MARKETS, PURPOSES
from clearwatch.domain.shared.regions import REGIONS
from clearwatch.sim.columns import take_text
from clearwatch.sim.fees import rate_units

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NORMAL, CREDIT, OPTION = 0, 1, 2  # indices into ACCOUNT_KINDS and PURPOSES
SH, SZ, BJ = 0, 1, 2  # indices into MARKETS
CSDC_ID = "CSDC"
# Brokers are registered round these bureaus first, so any eight include all five city bureaus.
BROKER_REGION_ORDER = (
    "CITY-SZ", "CN-SH", "CITY-NB", "CN-BJ", "CITY-XM", "CITY-DL", "CITY-QD", "CN-GD", "CN-ZJ",
    "CN-JS",
)  # fmt: skip
BANK_REGION_ORDER = ("CN-BJ", "CN-SH", "CITY-SZ", "CN-GD", "CN-ZJ", "CN-FJ")
BROKER_NAMES = (
    "华信证券", "东方明德证券", "南粤证券", "申江证券", "北辰证券", "鹭江证券", "辽海证券",
    "琴岛证券", "钱塘证券", "金陵证券",
)  # fmt: skip
BANK_NAMES = ("中原存管银行", "沪江银行", "鹏城银行", "岭南银行", "之江银行", "闽海银行")
HOLIDAYS = (
    "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
    "2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19", "2026-09-25",
    "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07", "2027-01-01",
    "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12",
)  # fmt: skip
COMMISSION_RATES = ("0.00025", "0.0002", "0.00015", "0.0003")
COMMISSION_RATE_WEIGHTS = (0.7, 0.15, 0.1, 0.05)
KIND_WEIGHTS = (0.95, 0.035, 0.015)  # normal, credit, option
INSTITUTIONAL_SHARE = 0.02
# Security boards: (market, code prefix, how many, price range in milli-yuan, decimals).
BOARDS = (
    (SH, "600", 300, (2_000, 80_000), 2),
    (SH, "601", 200, (3_000, 60_000), 2),
    (SH, "688", 100, (10_000, 200_000), 2),
    (SZ, "000", 200, (2_000, 60_000), 2),
    (SZ, "002", 200, (3_000, 70_000), 2),
    (SZ, "300", 200, (5_000, 150_000), 2),
    (SH, "510", 30, (500, 6_000), 3),
    (SZ, "159", 30, (500, 6_000), 3),
    (BJ, "830", 20, (3_000, 40_000), 2),
)


@dataclass(frozen=True)
class Securities:
    code: list[str]  # e.g. "600519"
    market: Int64Array
    is_fund: BoolArray
    ref_price_milli: Int64Array
    decimals: npt.NDArray[np.int8]
    weight: npt.NDArray[np.float64]  # popularity, a probability (not money)

    @property
    def asset(self) -> list[str]:
        """`SH.600000` style asset names used in opening.csv."""
        return [f"{MARKETS[m]}.{c}" for m, c in zip(self.market.tolist(), self.code, strict=True)]


@dataclass(frozen=True)
class Clients:
    broker: Int64Array
    bank: Int64Array
    kind: Int64Array
    commission_units: Int64Array
    commission_rate: pa.Array
    institutional: BoolArray
    activity: npt.NDArray[np.float64]  # how often a client trades, a probability weight
    fund_account: pa.Array
    client_id: pa.Array

    def __len__(self) -> int:
        return len(self.broker)


@dataclass(frozen=True)
class SpecialAccounts:
    account_no: list[str]
    broker: Int64Array
    bank: Int64Array
    purpose: Int64Array
    filed: BoolArray
    branch_region: list[str]
    # route[broker, bank, kind]: the account that receives a client's bank transfers, -1 if none.
    route: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.account_no)


@dataclass(frozen=True)
class Universe:
    start: date
    broker_ids: list[str]
    broker_regions: list[str]
    bank_ids: list[str]
    bank_regions: list[str]
    clients: Clients
    accounts: SpecialAccounts
    securities: Securities


def _regions(order: tuple[str, ...], count: int) -> list[str]:
    rest = [region for region in REGIONS if region not in order]
    pool = list(order) + rest
    return [pool[i % len(pool)] for i in range(count)]


def make_securities(rng: np.random.Generator) -> Securities:
    codes: list[str] = []
    markets: list[int] = []
    funds: list[bool] = []
    prices: list[Int64Array] = []
    decimals: list[int] = []
    for market, prefix, count, (low, high), places in BOARDS:
        numbers = np.sort(rng.choice(1000, size=count, replace=False))
        codes.extend(f"{prefix}{n:03d}" for n in numbers.tolist())
        markets.extend([market] * count)
        funds.extend([places == 3] * count)
        tick = 10 if places == 2 else 1
        prices.append(rng.integers(low // tick, high // tick, size=count) * tick)
        decimals.extend([places] * count)
    total = len(codes)
    weight = 1.0 / np.arange(1, total + 1) ** 0.8  # Zipf-like popularity
    weight = weight[rng.permutation(total)]
    return Securities(
        code=codes,
        market=np.array(markets, dtype=np.int64),
        is_fund=np.array(funds, dtype=np.bool_),
        ref_price_milli=np.concatenate(prices).astype(np.int64),
        decimals=np.array(decimals, dtype=np.int8),
        weight=weight / weight.sum(),
    )


def make_clients(rng: np.random.Generator, *, count: int, brokers: int, banks: int) -> Clients:
    share = rng.dirichlet(np.full(brokers, 4.0))
    broker = np.sort(rng.choice(brokers, size=count, p=share)).astype(np.int64)
    kind = rng.choice(3, size=count, p=KIND_WEIGHTS).astype(np.int64)
    bank = rng.integers(0, banks, size=count).astype(np.int64)
    # Credit and option clients deposit at the bank holding the broker's account of that purpose.
    bank = np.where(kind == CREDIT, credit_bank(broker, banks), bank)
    bank = np.where(kind == OPTION, option_bank(broker, banks), bank)
    rate_index = rng.choice(len(COMMISSION_RATES), size=count, p=COMMISSION_RATE_WEIGHTS)
    units = np.array([rate_units(r) for r in COMMISSION_RATES], dtype=np.int64)[rate_index]
    serial = np.arange(count, dtype=np.int64)
    per_broker = serial - np.searchsorted(broker, broker)  # 0-based position within its broker
    fund_account = pa.array(
        [
            f"{b + 1:03d}{n + 1:08d}"
            for b, n in zip(broker.tolist(), per_broker.tolist(), strict=True)
        ]
    )
    institutional = rng.random(count) < INSTITUTIONAL_SHARE
    pseudonym = rng.permutation(count).astype(np.int64) + 10_000_000
    client_id = pa.array(
        [("I" if inst else "C") + str(p) for inst, p in zip(institutional, pseudonym, strict=True)]
    )
    return Clients(
        broker=broker,
        bank=bank,
        kind=kind,
        commission_units=units,
        commission_rate=take_text(COMMISSION_RATES, rate_index),
        institutional=institutional,
        activity=rng.pareto(2.5, size=count) + 0.3,
        fund_account=fund_account,
        client_id=client_id,
    )


def credit_bank(broker: Int64Array | int, banks: int) -> Int64Array:
    return np.asarray(broker, dtype=np.int64) % banks


def option_bank(broker: Int64Array | int, banks: int) -> Int64Array:
    return (np.asarray(broker, dtype=np.int64) + 1) % banks


def unfiled_bank(broker: int, banks: int) -> int:
    """A bank other than the broker's credit bank, so transfers never route to the unfiled one."""
    return (broker + 2) % banks if banks >= 3 else (broker + 1) % banks


def make_accounts(
    *, brokers: int, banks: int, broker_regions: list[str], unfiled_for: frozenset[int]
) -> SpecialAccounts:
    rows: list[tuple[int, int, int, bool]] = []
    for b in range(brokers):
        rows.extend((b, k, NORMAL, True) for k in range(banks))
        rows.append((b, int(credit_bank(b, banks)), CREDIT, True))
        rows.append((b, int(option_bank(b, banks)), OPTION, True))
        if b in unfiled_for:
            rows.append((b, unfiled_bank(b, banks), CREDIT, False))
    route = np.full((brokers, banks, 3), -1, dtype=np.int64)
    for index, (b, k, purpose, filed) in enumerate(rows):
        if filed:
            route[b, k, purpose] = index
    return SpecialAccounts(
        account_no=[
            f"62{k + 1:02d}{b + 1:04d}{p + 1}{i + 1:05d}" for i, (b, k, p, _) in enumerate(rows)
        ],
        broker=np.array([r[0] for r in rows], dtype=np.int64),
        bank=np.array([r[1] for r in rows], dtype=np.int64),
        purpose=np.array([r[2] for r in rows], dtype=np.int64),
        filed=np.array([r[3] for r in rows], dtype=np.bool_),
        branch_region=[broker_regions[r[0]] for r in rows],
        route=route,
    )


def make_universe(
    rng: np.random.Generator,
    *,
    brokers: int,
    banks: int,
    clients: int,
    start: date,
    unfiled_for: frozenset[int] = frozenset(),
) -> Universe:
    broker_regions = _regions(BROKER_REGION_ORDER, brokers)
    return Universe(
        start=start,
        broker_ids=[f"B{b + 1:03d}" for b in range(brokers)],
        broker_regions=broker_regions,
        bank_ids=[f"K{k + 1:03d}" for k in range(banks)],
        bank_regions=_regions(BANK_REGION_ORDER, banks),
        clients=make_clients(rng, count=clients, brokers=brokers, banks=banks),
        accounts=make_accounts(
            brokers=brokers, banks=banks, broker_regions=broker_regions, unfiled_for=unfiled_for
        ),
        securities=make_securities(rng),
    )


def registry_tables(universe: Universe) -> dict[str, dict[str, list[str]]]:
    """The monitor's registry files (monitoring.md §1) as columns of text."""
    brokers, banks = len(universe.broker_ids), len(universe.bank_ids)
    ids = [*universe.broker_ids, *universe.bank_ids, CSDC_ID]
    names = [
        BROKER_NAMES[b % len(BROKER_NAMES)] + ("" if b < len(BROKER_NAMES) else f"{b + 1}")
        for b in range(brokers)
    ]
    names += [
        BANK_NAMES[k % len(BANK_NAMES)] + ("" if k < len(BANK_NAMES) else f"{k + 1}")
        for k in range(banks)
    ]
    accounts = universe.accounts
    filed = [i for i in range(len(accounts)) if accounts.filed[i]]
    filed_on = (universe.start - timedelta(days=400)).isoformat()
    return {
        "institutions.csv": {
            "institution_id": ids,
            "kind": ["broker"] * brokers + ["bank"] * banks + ["csdc"],
            "name": [*names, "中国证券登记结算有限责任公司"],
            "region": [*universe.broker_regions, *universe.bank_regions, "CN-BJ"],
        },
        "special_accounts.csv": {
            "account_no": [accounts.account_no[i] for i in filed],
            "bank_id": [universe.bank_ids[accounts.bank[i]] for i in filed],
            "broker_id": [universe.broker_ids[accounts.broker[i]] for i in filed],
            "purpose": [PURPOSES[accounts.purpose[i]] for i in filed],
            "branch_region": [accounts.branch_region[i] for i in filed],
            "filed_on": [filed_on] * len(filed),
        },
        "holidays.csv": {"date": list(HOLIDAYS)},
    }
