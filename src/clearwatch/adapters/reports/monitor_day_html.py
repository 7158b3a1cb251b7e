"""The day's monitor report as one self-contained HTML page, its charts drawn as SVG.

The charts come from `clearwatch.charts`, the module the web pages draw with: numeric axes,
bars sorted and labelled, the values in a table beside each. No script at all, so a report
is a few kilobytes and opens anywhere without loading anything.

The findings' largest items name client fund accounts (F1, F2) and special accounts (F5, F6,
F9): the report shows them masked, always. It is a file left in the home, which anyone who
can read the home may open later, not an answer to one permitted caller; the evidence itself
is `run-day --json FILE --evidence` (or the API's `?evidence=true`), asked of the policy.
"""

from __future__ import annotations

import html
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from clearwatch.charts import Bar, bar_chart, figure_html
from clearwatch.domain.monitor.criteria import Level
from clearwatch.domain.monitor.evidence_masking import ACCOUNT_REF_FINDINGS
from clearwatch.domain.monitor.report import DayResult, InstitutionResult, finding_figure_text
from clearwatch.domain.shared.masking import mask
from clearwatch.domain.shared.money import format_fen

_STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2rem; color: #1d2433; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c9cfdb; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.major { color: #b00020; font-weight: 600; }
.general { color: #b26a00; }
.attention { color: #1f5fa8; }
.chart-body { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
"""
_PERCENT_PLACES = Decimal("0.0001")  # a ratio of six decimals is a percentage of four


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _warnings_section(result: DayResult) -> str:
    by_level: dict[str, list[list[str]]] = defaultdict(list)
    for inst in result.institutions:
        for w in inst.warnings:
            level = w.level.value
            by_level[level].append(
                [
                    _e(w.route_to),
                    _e(inst.institution_id),
                    f'<span class="{_e(level)}">{_e(level)}</span>',
                    _e(" ".join(c.value for c in w.criteria)),
                    _e(format_fen(w.problem_amount_fen)),
                    _e(w.cc),
                    "yes" if w.special_report else "",
                ]
            )
    parts = ["<h2>Warnings by level and bureau 预警</h2>"]
    if not by_level:
        parts.append("<p>No warning for this day.</p>")
    for level in Level:
        rows = sorted(by_level.get(level.value, []))
        if rows:
            parts.append(f'<h3 class="{level.value}">{level.value} ({len(rows)})</h3>')
            headers = ["bureau", "institution", "level", "criteria", "problem amount", "cc",
                       "special report"]  # fmt: skip
            parts.append(_table(headers, rows, numeric={4}))
    return "".join(parts)


def _findings_rows(inst: InstitutionResult) -> list[list[str]]:
    rows = []
    for reported in inst.findings:
        f = reported.finding
        masked = f.code.value in ACCOUNT_REF_FINDINGS
        largest = "; ".join(
            f"{mask(item.ref) if masked else item.ref} "
            f"{'' if f.is_count else format_fen(item.amount_fen)}".strip()
            for item in reported.largest
        )
        rows.append(
            [_e(f.code.value), _e(f.finding_type.value), _e(f.region or ""),
             _e(finding_figure_text(f)), _e(f.items_count), _e(largest)]
        )  # fmt: skip
    return rows


def _institutions_section(result: DayResult) -> str:
    parts = ["<h2>Findings by institution 各机构发现</h2>"]
    for inst in result.institutions:
        balance = inst.client_fund_balance_fen
        title = (
            f"{inst.institution_id} ({inst.kind.value}) — client funds "
            f"{'–' if balance is None else format_fen(balance)}, "
            f"problem {format_fen(inst.problem_amount_fen)}, ratio {inst.problem_ratio or '–'}"
        )
        parts.append(f"<h3>{_e(title)}</h3>")
        rows = _findings_rows(inst)
        if inst.could_not_compare is not None:
            # Its data was left out of the day's comparison; the others' results stand.
            reason = _e(inst.could_not_compare)
            parts.append(f'<p class="major">Could not compare 无法比对: {reason}</p>')
        elif rows:
            headers = ["code", "type", "region", "amount", "items", "largest items"]
            parts.append(_table(headers, rows, numeric={3, 4}))
        else:
            parts.append("<p>No finding.</p>")
        for item in inst.incomplete if inst.could_not_compare is None else ():
            missing = ", ".join(f"{i} {kind}" for i, kind in item.missing)
            codes = " ".join(code.value for code in item.findings)
            parts.append(
                f"<p>Incomplete ({_e(codes)}): {_e(item.reason)} — missing {_e(missing)}</p>"
            )
    return "".join(parts)


def _charts(result: DayResult) -> str:
    ratios = [
        Bar(inst.institution_id, percent, f"{percent:.4f}")
        for inst in result.institutions
        if inst.problem_ratio is not None
        for percent in [(Decimal(inst.problem_ratio) * 100).quantize(_PERCENT_PLACES)]
    ]
    totals_fen: dict[str, int] = defaultdict(int)
    for inst in result.institutions:
        for reported in inst.findings:
            f = reported.finding
            if not f.is_count:  # a count of accounts is not yuan
                totals_fen[f"{f.code.value} {f.finding_type.value}"] += f.amount_fen
    amounts = [
        Bar(label, Decimal(fen).scaleb(-2), format_fen(fen)) for label, fen in totals_fen.items()
    ]
    ratio_chart = bar_chart(
        chart_id="ratio-chart", title="Problem ratio P / L per broker 问题比例", unit="%",
        bars=ratios,
    )  # fmt: skip
    amount_chart = bar_chart(
        chart_id="amount-chart", title="Amounts by finding type 各类发现金额", unit="yuan 元",
        bars=amounts,
    )  # fmt: skip
    return (
        "<h2>Charts 图表</h2>"
        + figure_html(ratio_chart, label_header="broker 券商", value_header="ratio 比例")
        + figure_html(amount_chart, label_header="finding 发现", value_header="amount 金额")
    )


def render_day_report(result: DayResult) -> str:
    day = result.business_date.isoformat()
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>clearwatch monitor {_e(day)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Client-fund monitor — {_e(day)}</h1>"
        f"<p>Rules {_e(result.rules_version)}, result version "
        f"{_e(result.result_version)}.</p>"
        + _warnings_section(result)
        + _charts(result)
        + _institutions_section(result)
        + "</body></html>"
    )


def write_day_report(result: DayResult, directory: Path) -> Path:
    """The report of the day's result as `<directory>/<date>.html`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{result.business_date.isoformat()}.html"
    path.write_text(render_day_report(result), encoding="utf-8")
    return path
