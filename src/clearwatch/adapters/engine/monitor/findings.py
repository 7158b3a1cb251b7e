"""Findings F1–F9 as Ibis expressions, written once and run on DuckDB, PostgreSQL or Spark.

The engine turns the stored Parquet of one business date into one long table of *items* (an
account, transaction, action, market or account kind behind a finding), caches it, and reads
three small results from it: sums per institution and finding, the largest items as evidence,
and the number of distinct client fund accounts concerned. Money is integer fen, stored int64;
every sum and every figure built from sums is `decimal(38,0)` (`FEN_WIDE`), so the sums are exact
at any size the value grammar allows; nothing is divided. The few scalar steps left (F4's fee
allowance, tolerances) are done on the integer sums in Python by `clearwatch.domain.monitoring`'s
callers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from clearwatch.adapters.engine.monitor.sources import SourceTables
from clearwatch.domain.monitor.findings import (
    BankRegionAggregates,
    BrokerAggregates,
    EngineRequest,
    EngineResult,
    EvidenceItem,
    Finding,
    FindingCode,
)

# Whole fen with 38 digits: one amount has at most 18 (16 integer digits and 2 of fen, see
# `value_grammar`), so 10^20 rows at the largest amount still sum exactly. Thirteen such amounts
# already overflow int64, and Spark sums int64 as int64: the inputs of every sum are widened
# before it, the same expression on DuckDB, PostgreSQL (numeric) and Spark (decimal).
FEN_WIDE = dt.Decimal(38, 0)
NO_REGION = ""  # brokers' items carry no region; a bank's F8 items carry the branch region
KIND_OF_PURPOSE = {
    "client_settlement": "normal",
    "credit_guarantee": "credit",
    "option_margin": "option",
}
_ITEM_COLUMNS: dict[str, str | dt.DataType] = {
    "institution_id": "string",
    "region": "string",
    "code": "string",
    "subkind": "string",
    "ref": "string",
    "amount_fen": FEN_WIDE,
    "client_ref": "string",
    "left_fen": FEN_WIDE,
    "right_fen": FEN_WIDE,
}


def _item(
    table: ir.Table,
    *,
    institution: ir.Value,
    code: FindingCode,
    ref: ir.Value,
    amount: ir.Value,
    region: ir.Value | None = None,
    subkind: ir.Value | None = None,
    client_ref: ir.Value | None = None,
    left: ir.Value | None = None,
    right: ir.Value | None = None,
) -> ir.Table:
    """Project one finding's rows onto the common item shape, with explicit types."""
    null_text = ibis.null().cast("string")
    null_fen = ibis.null().cast(FEN_WIDE)
    values: dict[str, Any] = {
        "institution_id": institution,
        "region": region if region is not None else ibis.literal(NO_REGION),
        "code": ibis.literal(code.value),
        "subkind": subkind if subkind is not None else ibis.literal(""),
        "ref": ref,
        "amount_fen": amount,
        "client_ref": client_ref if client_ref is not None else null_text,
        "left_fen": left if left is not None else null_fen,
        "right_fen": right if right is not None else null_fen,
    }
    return table.select(**{name: values[name].cast(dtype) for name, dtype in _ITEM_COLUMNS.items()})


def wide_sum(value: ir.NumericColumn, *, widen_inputs: bool = True) -> ir.NumericScalar:
    """Σ value, exact, as `FEN_WIDE` (typed after the sum too: Ibis gives a decimal sum two
    fraction digits).

    The inputs are widened before summing, as Spark sums int64 as int64. DuckDB (into HUGEINT)
    and PostgreSQL (into numeric) sum int64 exactly by themselves, so the two sums over every
    client fund row leave the inputs as they are there (`widen_inputs=False`): a cast per row
    cost about a tenth more in F1's aggregation, and eight times a plain sum of a column.
    """
    if widen_inputs:
        value = value.cast(FEN_WIDE)
    return value.sum().cast(FEN_WIDE)


def _client_ref(broker: ir.StringValue, account: ir.StringValue) -> ir.StringValue:
    return broker.concat("/", account)


@dataclass(frozen=True)
class AccountGroup:
    """Brokers whose client fund accounts are compared (F1) in one pass, with their client funds.

    F1 is per (broker, fund account), so the market can be compared a group of brokers at a
    time and the items stacked: each pass's hash table holds only its brokers' accounts. A
    backend that compares the whole market at once has one group of every submitted broker.
    """

    broker_ids: frozenset[str]
    client_funds: ir.Table


def f1_items(
    t: SourceTables,
    request: EngineRequest,
    group: AccountGroup | None = None,
    *,
    widen_inputs: bool = True,
) -> ir.Table:
    """F1: per fund account, max(broker balance, 0) − bank depository balance, beyond tol.

    Both sides are stacked and summed per (broker, fund account) in one aggregation, instead of
    aggregating the bank side and then joining it to the broker side: one hash table over the
    accounts instead of two, which is most of what the comparison costs at 100 million accounts
    per side. An account missing on one side has nothing to add there (the outer join's zero).
    """
    in_a_pass = group is not None
    if group is None:
        group = AccountGroup(request.submitted_broker_ids, t.client_funds)
    banks = sorted(request.submitted_bank_ids) or ["\x00"]
    brokers = sorted(group.broker_ids & request.submitted_broker_ids) or ["\x00"]
    cf = group.client_funds.filter(group.client_funds.bank_id.isin(banks))
    # Depository rows of brokers that did not submit are dropped after the aggregation, where a
    # few mismatched accounts remain, rather than tested row by row before it: an account is
    # keyed by its broker, so its sum is the same either way.
    dep = t.depository
    if in_a_pass:
        # A pass takes the bank rows in its range of broker ids, a filter the scan applies as
        # it reads. Only DuckDB makes passes, and it orders text by its bytes, as Python's
        # sort does; a database's language collation may not (PostgreSQL compares at once).
        dep = dep.filter(dep.broker_id.between(brokers[0], brokers[-1]))
    zero = ibis.literal(0).cast("int64")
    # The sides stay int64 in the union (half the bytes of the widest rows); the sums widen.
    broker_side = cf.select(
        broker_id=cf.broker_id,
        fund_account=cf.fund_account,
        left=ibis.greatest(cf.balance, 0).cast("int64"),
        right=zero,
    )
    bank_side = dep.select(
        broker_id=dep.broker_id, fund_account=dep.fund_account, left=zero, right=dep.balance
    )
    both = broker_side.union(bank_side, distinct=False)
    compared = both.group_by(["broker_id", "fund_account"]).agg(
        left=wide_sum(both.left, widen_inputs=widen_inputs),
        right=wide_sum(both.right, widen_inputs=widen_inputs),
    )
    compared = compared.mutate(diff=compared.left - compared.right)
    mismatched = compared.filter(
        (compared["diff"].abs() > request.tolerance_fen) & compared.broker_id.isin(brokers)
    )
    return _item(
        mismatched,
        institution=mismatched.broker_id,
        code=FindingCode.F1,
        ref=mismatched.fund_account,
        amount=mismatched["diff"].abs(),
        client_ref=_client_ref(mismatched.broker_id, mismatched.fund_account),
        left=mismatched.left,
        right=mismatched.right,
    )


def f2_items(t: SourceTables) -> ir.Table:
    """F2: client fund accounts with a negative balance, Σ −balance."""
    cf = t.client_funds
    overdrawn = cf.filter(cf.balance < 0)
    return _item(
        overdrawn,
        institution=overdrawn.broker_id,
        code=FindingCode.F2,
        ref=overdrawn.fund_account,
        amount=-overdrawn.balance,
        client_ref=_client_ref(overdrawn.broker_id, overdrawn.fund_account),
        left=overdrawn.balance,
    )


def client_fund_liabilities(t: SourceTables, *, widen_inputs: bool = True) -> ir.Table:
    """Σ max(balance, 0) per (broker, bank, account kind): the one scan of the client funds
    that both F3 (per kind) and the broker's client fund balance and banks (per bank) need."""
    cf = t.client_funds
    return cf.group_by(broker_id=cf.broker_id, bank_id=cf.bank_id, kind=cf.account_kind).agg(
        liability=wide_sum(ibis.greatest(cf.balance, 0), widen_inputs=widen_inputs)
    )


def f3_items(t: SourceTables, liabilities_by_bank: ir.Table) -> ir.Table:
    """F3: per account kind, Σ max(balance, 0) beyond the banks' balances; for `normal`, plus
    CSDC's reserve after D's clearing (reserve + net_settlement, spec v2): a net-selling day's
    proceeds reach the reserve on D+1, a net-buying day's cost leaves it then."""
    by_bank = liabilities_by_bank
    liabilities = by_bank.group_by(broker_id=by_bank.broker_id, kind=by_bank.kind).agg(
        liability=wide_sum(by_bank.liability)
    )
    sab = t.bank_balances
    held = sab.group_by(broker_id=sab.broker_id, kind=sab.purpose.substitute(KIND_OF_PURPOSE)).agg(
        held=wide_sum(sab.balance)
    )
    cr = t.csdc_reserve
    reserve = cr.group_by(broker_id=cr.broker_id).agg(
        held=wide_sum(cr.balance) + wide_sum(cr.net_settlement)
    )
    reserve = reserve.select(reserve.broker_id, kind=ibis.literal("normal"), held=reserve.held)
    assets = held.union(reserve, distinct=False)
    assets = assets.group_by(assets.broker_id, assets.kind).agg(held=wide_sum(assets.held))
    gaps = liabilities.left_join(
        assets,
        [liabilities.broker_id == assets.broker_id, liabilities.kind == assets.kind],
    ).select(
        broker_id=liabilities.broker_id,
        kind=liabilities.kind,
        liability=liabilities.liability,
        held=assets.held.coalesce(ibis.literal(0).cast(FEN_WIDE)),
    )
    gaps = gaps.mutate(gap=gaps.liability - gaps.held).filter(lambda g: g.gap > 0)
    return _item(
        gaps,
        institution=gaps.broker_id,
        code=FindingCode.F3,
        ref=gaps.kind,
        amount=gaps.gap,
        left=gaps.liability,
        right=gaps.held,
    )


def f4_items(t: SourceTables) -> ir.Table:
    """F4 candidates: outflows of B's special accounts to `other` or to `broker_own`."""
    txn, sab = t.bank_txns, t.bank_balances
    outflows = txn.filter(
        (txn.direction == "out") & txn.counterparty_kind.isin(["other", "broker_own"])
    )
    owned = outflows.join(
        sab, [outflows.bank_id == sab.bank_id, outflows.account_no == sab.account_no]
    ).select(
        broker_id=sab.broker_id,
        txn_id=outflows.txn_id,
        kind=outflows.counterparty_kind,
        amount=outflows.amount,
    )
    return _item(
        owned,
        institution=owned.broker_id,
        code=FindingCode.F4,
        ref=owned.txn_id,
        amount=owned.amount,
        subkind=owned.kind,
    )


def f5_items(t: SourceTables) -> ir.Table:
    """F5: special accounts a bank reports for B that are unfiled, or filed for another broker."""
    sab, filed = t.bank_balances, t.filings
    matched = sab.left_join(
        filed, [sab.account_no == filed.account_no, sab.bank_id == filed.bank_id]
    ).select(
        broker_id=sab.broker_id,
        account_no=sab.account_no,
        balance=sab.balance,
        filed_broker=filed.broker_id,
    )
    unfiled = matched.filter(
        matched.filed_broker.isnull() | (matched.filed_broker != matched.broker_id)
    )
    return _item(
        unfiled,
        institution=unfiled.broker_id,
        code=FindingCode.F5,
        ref=unfiled.account_no,
        amount=unfiled.balance,
    )


def f6_items(t: SourceTables, request: EngineRequest) -> ir.Table:
    """F6: broker book balance − bank balance per special account, both sides present or not."""
    banks = sorted(request.submitted_bank_ids) or ["\x00"]
    brokers = sorted(request.submitted_broker_ids) or ["\x00"]
    book = t.broker_special.filter(t.broker_special.bank_id.isin(banks)).select(
        k_broker=t.broker_special.broker_id,
        k_bank=t.broker_special.bank_id,
        k_account=t.broker_special.account_no,
        k_balance=t.broker_special.book_balance,
    )
    sab = t.bank_balances.filter(t.bank_balances.broker_id.isin(brokers)).select(
        s_broker=t.bank_balances.broker_id,
        s_bank=t.bank_balances.bank_id,
        s_account=t.bank_balances.account_no,
        s_balance=t.bank_balances.balance,
    )
    joined = book.outer_join(
        sab,
        [
            book.k_broker == sab.s_broker,
            book.k_bank == sab.s_bank,
            book.k_account == sab.s_account,
        ],
    )
    compared = joined.select(
        broker_id=joined.k_broker.coalesce(joined.s_broker),
        account_no=joined.k_account.coalesce(joined.s_account),
        left=joined.k_balance.coalesce(0),
        right=joined.s_balance.coalesce(0),
    )
    differing = compared.filter(compared.left != compared.right)
    return _item(
        differing,
        institution=differing.broker_id,
        code=FindingCode.F6,
        ref=differing.account_no,
        amount=(differing.left - differing.right).abs(),
        left=differing.left,
        right=differing.right,
    )


def f7_items(t: SourceTables, request: EngineRequest) -> ir.Table:
    """F7: broker − CSDC per market, for the reserve and for D's net settlement (only when
    CSDC submitted). A reserve difference is an item as before; a net settlement difference
    is one of kind `net_settlement`, so F7 is Σ|diff| of both."""
    brokers = sorted(request.submitted_broker_ids) or ["\x00"]
    br = t.broker_reserve
    own = br.select(
        o_broker=br.broker_id,
        o_market=br.market,
        o_balance=br.balance,
        o_net=br.net_settlement,
    )
    csdc = t.csdc_reserve.filter(t.csdc_reserve.broker_id.isin(brokers))
    csdc = csdc.group_by(c_broker=csdc.broker_id, c_market=csdc.market).agg(
        c_balance=wide_sum(csdc.balance), c_net=wide_sum(csdc.net_settlement)
    )
    joined = own.outer_join(csdc, [own.o_broker == csdc.c_broker, own.o_market == csdc.c_market])
    compared = joined.select(
        broker_id=joined.o_broker.coalesce(joined.c_broker),
        market=joined.o_market.coalesce(joined.c_market),
        left=joined.o_balance.coalesce(0),
        right=joined.c_balance.coalesce(0),
        left_net=joined.o_net.coalesce(0),
        right_net=joined.c_net.coalesce(0),
    )
    if not request.csdc_submitted:
        compared = compared.filter(ibis.literal(False))
    reserve = compared.filter(compared.left != compared.right)
    net = compared.filter(compared.left_net != compared.right_net)
    return _item(
        reserve,
        institution=reserve.broker_id,
        code=FindingCode.F7,
        ref=reserve.market,
        amount=(reserve.left - reserve.right).abs(),
        left=reserve.left,
        right=reserve.right,
    ).union(
        _item(
            net,
            institution=net.broker_id,
            code=FindingCode.F7,
            ref=net.market,
            amount=(net.left_net - net.right_net).abs(),
            subkind=ibis.literal("net_settlement"),
            left=net.left_net,
            right=net.right_net,
        ),
        distinct=False,
    )


def f8_items(t: SourceTables) -> ir.Table:
    """F8: actions by the broker or the bank without a legal basis, charged to the initiator."""
    act = t.actions
    basis = act.legal_basis.strip()
    faulty = act.filter(
        act.initiator.isin(["broker", "bank"]) & (basis.isnull() | (basis.length() == 0))
    )
    by_broker = faulty.initiator == "broker"
    return _item(
        faulty,
        institution=by_broker.ifelse(faulty.broker_id, faulty.bank_id),
        region=by_broker.ifelse(ibis.literal(NO_REGION), faulty.branch_region),
        code=FindingCode.F8,
        ref=faulty.action_id,
        amount=faulty.amount,
        subkind=faulty.initiator,
        client_ref=_client_ref(faulty.broker_id, faulty.fund_account),
    )


def f9_items(t: SourceTables, request: EngineRequest) -> ir.Table:
    """F9: filed accounts of B at a bank that submitted but did not report them."""
    banks = sorted(request.submitted_bank_ids) or ["\x00"]
    filed, sab = t.filings, t.bank_balances
    candidates = filed.filter(filed.bank_id.isin(banks))
    missing = candidates.anti_join(
        sab, [candidates.bank_id == sab.bank_id, candidates.account_no == sab.account_no]
    )
    return _item(
        missing,
        institution=missing.broker_id,
        code=FindingCode.F9,
        ref=missing.account_no,
        amount=ibis.literal(0),
    )


def finding_items(
    t: SourceTables, request: EngineRequest, liabilities: ir.Table, compared_accounts: ir.Table
) -> ir.Table:
    """Every item behind every finding, in one table of one shape (F1's already compared)."""
    parts = [
        compared_accounts,
        f2_items(t),
        f3_items(t, liabilities),
        f4_items(t),
        f5_items(t),
        f6_items(t, request),
        f7_items(t, request),
        f8_items(t),
        f9_items(t, request),
    ]
    return ibis.union(*parts, distinct=False)


@dataclass(frozen=True)
class EngineQueries:
    """The small results read from the cached items, plus the per-broker base figures."""

    sums: ir.Table
    evidence: ir.Table
    affected: ir.Table
    balances: ir.Table  # per (broker, bank)
    fees: ir.Table
    special_account_banks: ir.Table


def engine_queries(
    items: ir.Table, t: SourceTables, liabilities: ir.Table, evidence_rows_max: int
) -> EngineQueries:
    keys = ["institution_id", "region", "code"]
    sums = items.group_by([*keys, "subkind"]).agg(
        amount_fen=wide_sum(items.amount_fen), items_count=items.count()
    )
    rank = ibis.row_number().over(
        group_by=keys, order_by=[items.amount_fen.desc(), items.ref.asc()]
    )
    ranked = items.mutate(rank=rank)
    evidence = ranked.filter(ranked["rank"] < evidence_rows_max).drop("rank")
    concerned = items.filter(items.code.isin(["F1", "F2", "F8"]) & items.client_ref.notnull())
    concerned = concerned.select("institution_id", "region", "client_ref").distinct()
    affected = concerned.group_by(["institution_id", "region"]).agg(accounts=concerned.count())
    # The client fund balance (summed per broker in Python) and the banks the broker's clients
    # use, from the liabilities already summed for F3.
    balances = liabilities.group_by(
        broker_id=liabilities.broker_id, bank_id=liabilities.bank_id
    ).agg(liability=wide_sum(liabilities.liability))
    fees = t.fee_income.group_by(broker_id=t.fee_income.broker_id).agg(
        fee=wide_sum(t.fee_income.amount)
    )
    bsa = t.broker_special
    special_account_banks = bsa.select(bsa.broker_id, bsa.bank_id).distinct()
    return EngineQueries(sums, evidence, affected, balances, fees, special_account_banks)


# Keeps the rows of one or more expressions of one shape as one table: a temporary table
# filled part by part, a cached DataFrame.
Materialize = Callable[[Sequence[ir.Table]], AbstractContextManager[ir.Table]]


def run_queries(
    t: SourceTables,
    request: EngineRequest,
    *,
    materialize: Materialize,
    account_groups: Sequence[AccountGroup] = (),
    backend_sums_int64_exactly: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Execute every query on the tables' backend; rows come back as plain Python values.

    F1 runs once per group of brokers (`account_groups`; none: the whole market at once) and
    its items are kept. The items are read three times, so `materialize` keeps them once (a
    temporary table, a cached DataFrame) and the heavy work runs in one pass; the client fund
    liabilities per (broker, bank, kind) are kept too, for F3 and for the per-broker balances.
    `backend_sums_int64_exactly`: the backend sums int64 into a wider type by itself (DuckDB,
    PostgreSQL), so the sums over every client fund row need not widen their inputs.
    """
    widen = not backend_sums_int64_exactly
    groups: Sequence[AccountGroup | None] = account_groups or [None]
    passes = [f1_items(t, request, group, widen_inputs=widen) for group in groups]
    with (
        materialize(passes) as compared_accounts,
        materialize([client_fund_liabilities(t, widen_inputs=widen)]) as liabilities,
        materialize([finding_items(t, request, liabilities, compared_accounts)]) as items,
    ):
        queries = engine_queries(items, t, liabilities, request.evidence_rows_max)
        return {
            name: getattr(queries, name).to_pyarrow().to_pylist()
            for name in (
                "sums",
                "evidence",
                "affected",
                "balances",
                "fees",
                "special_account_banks",
            )
        }


def _fen(value: Any) -> int:
    """Sums come back as `Decimal` of whole fen (numeric, decimal(38,0)); int() of it is exact.
    None is zero."""
    return 0 if value is None else int(value)


def assemble_result(rows: Mapping[str, list[dict[str, Any]]]) -> EngineResult:
    """Fold the engine's small results into per-broker and per-bank-region values."""
    evidence: dict[tuple[str, str, str], list[EvidenceItem]] = defaultdict(list)
    for row in sorted(rows["evidence"], key=_evidence_order):
        evidence[(row["institution_id"], row["region"], row["code"])].append(_evidence(row))
    sums: dict[tuple[str, str, str], dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in rows["sums"]:
        key = (row["institution_id"], row["region"], row["code"])
        sums[key][row["subkind"]] = (_fen(row["amount_fen"]), _fen(row["items_count"]))
    affected = {
        (row["institution_id"], row["region"]): _fen(row["accounts"]) for row in rows["affected"]
    }
    fees = {row["broker_id"]: _fen(row["fee"]) for row in rows["fees"]}
    brokers = _brokers(rows, sums, evidence, affected, fees)
    bank_regions = tuple(
        BankRegionAggregates(
            bank_id=institution,
            branch_region=region,
            finding=replace(
                _finding(FindingCode.F8, parts, evidence[(institution, region, "F8")], 0),
                region=region,
            ),
            affected_accounts=affected.get((institution, region), 0),
        )
        for (institution, region, code), parts in sorted(sums.items())
        if region != NO_REGION and code == FindingCode.F8.value
    )
    return EngineResult(brokers=brokers, bank_regions=bank_regions)


def _brokers(
    rows: Mapping[str, list[dict[str, Any]]],
    sums: Mapping[tuple[str, str, str], Mapping[str, tuple[int, int]]],
    evidence: Mapping[tuple[str, str, str], list[EvidenceItem]],
    affected: Mapping[tuple[str, str], int],
    fees: Mapping[str, int],
) -> dict[str, BrokerAggregates]:
    balances: dict[str, int] = defaultdict(int)
    for row in rows["balances"]:
        balances[row["broker_id"]] += _fen(row["liability"])
    cf_banks = _banks_by_broker(rows["balances"])
    sa_banks = _banks_by_broker(rows["special_account_banks"])
    broker_ids = set(balances) | {key[0] for key in sums if key[1] == NO_REGION}
    result: dict[str, BrokerAggregates] = {}
    for broker_id in sorted(broker_ids):
        findings: dict[FindingCode, Finding] = {}
        for code in FindingCode:
            parts = sums.get((broker_id, NO_REGION, code.value))
            if parts:
                items = evidence.get((broker_id, NO_REGION, code.value), [])
                findings[code] = _finding(code, parts, items, fees.get(broker_id, 0))
        result[broker_id] = BrokerAggregates(
            broker_id=broker_id,
            client_fund_balance_fen=balances.get(broker_id, 0),
            findings=findings,
            affected_accounts=affected.get((broker_id, NO_REGION), 0),
            client_fund_banks=frozenset(cf_banks.get(broker_id, ())),
            special_account_banks=frozenset(sa_banks.get(broker_id, ())),
        )
    return result


def _banks_by_broker(rows: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    banks: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        banks[row["broker_id"]].add(row["bank_id"])
    return banks


def _finding(
    code: FindingCode,
    parts: Mapping[str, tuple[int, int]],
    evidence: list[EvidenceItem],
    fee_fen: int,
) -> Finding:
    """A finding's amount from its integer sums; F4 allows broker_own outflows up to the fees."""
    count = sum(n for _, n in parts.values())
    if code is FindingCode.F4:
        to_other = parts.get("other", (0, 0))[0]
        to_broker = parts.get("broker_own", (0, 0))[0]
        amount = to_other + max(0, to_broker - fee_fen)
    elif code is FindingCode.F9:
        amount = 0  # F9 counts accounts: its figure is `items_count`, never fen
    else:
        amount = sum(total for total, _ in parts.values())
    return Finding(code=code, amount_fen=amount, items_count=count, evidence=tuple(evidence))


def _evidence_order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (row["institution_id"], row["region"], row["code"], -_fen(row["amount_fen"]), row["ref"])


def _evidence(row: Mapping[str, Any]) -> EvidenceItem:
    detail: list[tuple[str, str]] = []
    if row["subkind"]:
        detail.append(("kind", str(row["subkind"])))
    for side in ("left_fen", "right_fen"):
        if row[side] is not None:
            detail.append((side, str(_fen(row[side]))))
    return EvidenceItem(
        ref=str(row["ref"]), amount_fen=_fen(row["amount_fen"]), detail=tuple(detail)
    )
