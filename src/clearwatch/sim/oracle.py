"""The simulator's own reading of monitoring.md §3–5: expected findings, criteria, levels, routes.

An independent oracle of the monitor, written in DuckDB SQL over the day's views, so scenario
tests can check the real monitor against what the spec says the injected faults must produce.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from clearwatch.domain.shared.money import format_fen
from clearwatch.sim.views import DayViews

MAJOR_RATIO_PERCENT = 25
GENERAL_PROBLEM_FEN = 10_000_000_000  # 100,000,000.00
ATTENTION_PROBLEM_FEN = 100_000_000  # 1,000,000.00
ATTENTION_ACCOUNTS_MAX = 100
CATEGORY_OCCURRENCES_GENERAL = 5
LEVEL_OF = {"M": "major", "G": "general", "A": "attention"}
LEVEL_RANK = {"major": 3, "general": 2, "attention": 1}
FINDING_TYPES = {
    "F1": "CLIENT_MISMATCH",
    "F2": "OVERDRAFT",
    "F3": "FUND_GAP",
    "F4": "MISAPPROPRIATION",
    "F5": "UNFILED_ACCOUNT",
    "F6": "ACCOUNT_MISMATCH",
    "F7": "RESERVE_MISMATCH",
    "F8": "FAULT_ACTION",
    "F9": "FILED_ACCOUNT_MISSING",
}

_BROKER_SQL = """
WITH
f1 AS (
  SELECT coalesce(c.broker_id, d.broker_id) AS broker_id,
         coalesce(c.fund_account, d.fund_account) AS fund_account,
         abs(greatest(coalesce(c.balance, 0), 0) - coalesce(d.balance, 0)) AS diff
  FROM client_funds c FULL OUTER JOIN depository d
    ON c.broker_id = d.broker_id AND c.fund_account = d.fund_account),
f2 AS (SELECT broker_id, fund_account, -balance AS over FROM client_funds WHERE balance < 0),
liab AS (
  SELECT broker_id, account_kind, sum(greatest(balance, 0)) AS l FROM client_funds GROUP BY ALL),
assets AS (
  SELECT broker_id, CASE purpose WHEN 'client_settlement' THEN 'normal'
           WHEN 'credit_guarantee' THEN 'credit' ELSE 'option' END AS account_kind,
         sum(balance) AS a
  FROM bank_accounts GROUP BY ALL
  UNION ALL SELECT broker_id, 'normal', sum(balance + net_settlement) FROM csdc_reserve
  GROUP BY ALL),
gap AS (
  SELECT l.broker_id, l.account_kind, l.l, coalesce(sum(a.a), 0) AS a
  FROM liab l LEFT JOIN assets a USING (broker_id, account_kind) GROUP BY ALL),
outflow AS (
  SELECT b.broker_id,
         sum(t.amount) FILTER (WHERE t.counterparty_kind = 'other') AS to_other,
         sum(t.amount) FILTER (WHERE t.counterparty_kind = 'broker_own') AS to_own
  FROM bank_transactions t JOIN bank_accounts b USING (account_no)
  WHERE t.direction = 'out' GROUP BY ALL),
income AS (SELECT broker_id, sum(amount) AS fee FROM fee_income GROUP BY ALL),
f6 AS (
  SELECT coalesce(k.broker_id, b.broker_id) AS broker_id,
         abs(coalesce(k.book_balance, 0) - coalesce(b.balance, 0)) AS diff
  FROM book_accounts k FULL OUTER JOIN bank_accounts b USING (account_no)),
f7 AS (
  SELECT coalesce(k.broker_id, c.broker_id) AS broker_id,
         abs(coalesce(k.balance, 0) - coalesce(c.balance, 0))
         + abs(coalesce(k.net_settlement, 0) - coalesce(c.net_settlement, 0)) AS diff
  FROM book_reserve k FULL OUTER JOIN csdc_reserve c USING (broker_id, market)),
f8 AS (
  SELECT broker_id, fund_account, amount FROM fund_actions
  WHERE initiator = 'broker' AND coalesce(legal_basis, '') = ''),
affected AS (
  SELECT broker_id, fund_account FROM f1 WHERE diff > 0
  UNION SELECT broker_id, fund_account FROM f2
  UNION SELECT broker_id, fund_account FROM f8)
SELECT broker_id,
  coalesce((SELECT sum(diff) FROM f1 WHERE f1.broker_id = i.broker_id AND diff > 0), 0) AS f1,
  coalesce((SELECT sum(over) FROM f2 WHERE f2.broker_id = i.broker_id), 0) AS f2,
  coalesce((SELECT sum(greatest(l - a, 0)) FROM gap WHERE gap.broker_id = i.broker_id), 0) AS f3,
  coalesce((SELECT coalesce(to_other, 0) + greatest(coalesce(to_own, 0) - coalesce(
      (SELECT fee FROM income WHERE income.broker_id = i.broker_id), 0), 0)
    FROM outflow WHERE outflow.broker_id = i.broker_id), 0) AS f4,
  coalesce((SELECT sum(balance) FROM bank_accounts b
    WHERE b.broker_id = i.broker_id AND NOT b.filed), 0) AS f5,
  coalesce((SELECT sum(diff) FROM f6 WHERE f6.broker_id = i.broker_id), 0) AS f6,
  coalesce((SELECT sum(diff) FROM f7 WHERE f7.broker_id = i.broker_id), 0) AS f7,
  coalesce((SELECT sum(amount) FROM f8 WHERE f8.broker_id = i.broker_id), 0) AS f8,
  coalesce((SELECT sum(l) FROM liab WHERE liab.broker_id = i.broker_id), 0) AS l,
  (SELECT count(*) FROM affected WHERE affected.broker_id = i.broker_id) AS affected
FROM brokers i ORDER BY broker_id
"""

_BANK_SQL = """
SELECT bank_id, branch_region, sum(amount) AS f8 FROM fund_actions
WHERE initiator = 'bank' AND coalesce(legal_basis, '') = ''
GROUP BY ALL ORDER BY bank_id, branch_region
"""


@dataclass(frozen=True)
class Registry:
    broker_regions: Mapping[str, str]
    bank_regions: Mapping[str, str]


def broker_criteria(f: Mapping[str, int], *, liabilities_fen: int, affected: int) -> list[str]:
    """The criteria of monitoring.md §4 firing on one broker's findings (reviewer ones aside)."""
    problem = problem_fen(f)
    fired = {
        "M1": f["F4"] > 0 and f["F3"] > 0,
        "M2": liabilities_fen > 0 and problem * 100 >= MAJOR_RATIO_PERCENT * liabilities_fen,
        "G1": f["F3"] > 0,
        "G2": problem >= GENERAL_PROBLEM_FEN,
        "G3": f["F2"] > 0,
        "G4": f["F8"] > 0,
        "G5": f["F5"] > 0,
        "G7": f["F4"] > 0 and f["F3"] == 0,
        "A1": f["F6"] > 0,
        "A2": f["F7"] > 0,
        "A3": f["F9"] > 0,
        "A4": f["F1"] > 0,
        "A5": problem >= ATTENTION_PROBLEM_FEN,
        "A6": affected > ATTENTION_ACCOUNTS_MAX,
    }
    return [code for code, yes in fired.items() if yes]


def problem_fen(f: Mapping[str, int]) -> int:
    """P = max(F3, F4) + F2 + F1 + F5 + F8 (initiator broker): a gap and its cause count once."""
    return max(f["F3"], f["F4"]) + f["F2"] + f["F1"] + f["F5"] + f["F8"]


def level_of(criteria: list[str]) -> str | None:
    if not criteria:
        return None
    return max((LEVEL_OF[c[0]] for c in criteria), key=LEVEL_RANK.__getitem__)


def ratio_text(problem: int, liabilities: int) -> str | None:
    """P / L to six decimals, half-up, computed in integers."""
    if liabilities <= 0:
        return None
    scaled = (problem * 2_000_000 + liabilities) // (2 * liabilities)
    return f"{scaled // 1_000_000}.{scaled % 1_000_000:06d}"


def expected_day(
    views: DayViews,
    registry: Registry,
    *,
    categories: list[tuple[str, str]],
    year_counts: Counter[tuple[str, str]],
) -> dict[str, object]:
    """Per institution: findings, criteria, level, route; plus the day's reporting reminders.

    `categories` lists (institution_id, category) occurrences of the day; `year_counts` carries
    the counts of earlier days of the same calendar year and is updated.
    """
    connection = duckdb.connect()
    for name in DayViews.__dataclass_fields__:
        connection.register(name, getattr(views, name))
    connection.register("brokers", _brokers_table(registry))
    rows = connection.execute(_BROKER_SQL).fetchall()
    bank_rows = connection.execute(_BANK_SQL).fetchall()
    connection.close()
    reminders = []
    g6: set[str] = set()
    for institution, category in categories:
        year_counts[(institution, category)] += 1
        count = year_counts[(institution, category)]
        reminders.append(
            {"institution_id": institution, "category": category, "count_this_year": count}
        )
        if count >= CATEGORY_OCCURRENCES_GENERAL:
            g6.add(institution)
    institutions = [_broker_result(row, registry, g6) for row in rows]
    institutions += _bank_results(bank_rows, registry, g6)
    return {
        "institutions": [i for i in institutions if i["findings"] or i["warnings"]],
        "reminders": reminders,
    }


def _brokers_table(registry: Registry) -> object:
    import pyarrow as pa

    return pa.table({"broker_id": pa.array(sorted(registry.broker_regions), pa.string())})


def _broker_result(row: tuple[object, ...], registry: Registry, g6: set[str]) -> dict[str, object]:
    broker_id = str(row[0])
    values = [int(v) for v in row[1:]]  # type: ignore[call-overload]
    f = dict(zip(("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8"), values[:8], strict=True))
    f["F9"] = 0
    liabilities, affected = values[8], values[9]
    criteria = broker_criteria(f, liabilities_fen=liabilities, affected=affected)
    if broker_id in g6:
        criteria.append("G6")
    problem = problem_fen(f)
    level = level_of(criteria)
    warnings = []
    if level is not None:
        warnings.append(
            {
                "level": level,
                "criteria": _sorted_criteria(criteria),
                "route_to": registry.broker_regions[broker_id],
                "cc": broker_id,
                "special_report": level == "major",
            }
        )
    return {
        "institution_id": broker_id,
        "kind": "broker",
        "client_fund_balance": format_fen(liabilities),
        "problem_amount": format_fen(problem),
        "problem_ratio": ratio_text(problem, liabilities),
        "findings": [
            {"code": code, "type": FINDING_TYPES[code], "amount": format_fen(amount)}
            for code, amount in f.items()
            if amount > 0
        ],
        "warnings": warnings,
    }


def _bank_results(
    rows: list[tuple[object, ...]], registry: Registry, g6: set[str]
) -> list[dict[str, object]]:
    per_bank: dict[str, list[tuple[str, int]]] = {}
    for bank_id, region, amount in rows:
        per_bank.setdefault(str(bank_id), []).append((str(region), int(amount)))  # type: ignore[call-overload]
    results: list[dict[str, object]] = []
    for bank_id in sorted(set(per_bank) | (g6 & set(registry.bank_regions))):
        actions = per_bank.get(bank_id, [])
        total = sum(amount for _, amount in actions)
        warnings = [
            {
                "level": "general",
                "criteria": ["G4"],
                "route_to": region,
                "cc": bank_id,
                "special_report": False,
            }
            for region, _ in actions
        ]
        if bank_id in g6:
            warnings.append(
                {
                    "level": "general",
                    "criteria": ["G6"],
                    "route_to": registry.bank_regions[bank_id],
                    "cc": bank_id,
                    "special_report": False,
                }
            )
        results.append(
            {
                "institution_id": bank_id,
                "kind": "bank",
                "problem_amount": format_fen(total),
                "findings": [
                    {"code": "F8", "type": FINDING_TYPES["F8"], "amount": format_fen(total)}
                ]
                if total
                else [],
                "warnings": warnings,
            }
        )
    return results


def _sorted_criteria(criteria: list[str]) -> list[str]:
    order = {"M": 0, "G": 1, "A": 2}
    return sorted(criteria, key=lambda c: (order[c[0]], int(c[1:])))
