"""The day's monitor report as one self-contained HTML page, charts by plotly.

plotly's own bundled JavaScript is inlined from the installed package (`include_plotlyjs=True`):
the page loads nothing from a CDN and nothing is copied into the repository.
"""

from __future__ import annotations

import html
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

_STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2rem; color: #1d2433; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #c9cfdb; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.major { color: #b00020; font-weight: 600; }
.general { color: #b26a00; }
.attention { color: #1f5fa8; }
"""


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


def _warnings_section(document: dict[str, Any]) -> str:
    by_level: dict[str, list[list[str]]] = defaultdict(list)
    for inst in document["institutions"]:
        for w in inst["warnings"]:
            by_level[w["level"]].append(
                [
                    _e(w["route_to"]),
                    _e(inst["institution_id"]),
                    f'<span class="{_e(w["level"])}">{_e(w["level"])}</span>',
                    _e(" ".join(w["criteria"])),
                    _e(w["problem_amount"]),
                    _e(w["cc"]),
                    "yes" if w["special_report"] else "",
                ]
            )
    parts = ["<h2>Warnings by level and bureau 预警</h2>"]
    if not by_level:
        parts.append("<p>No warning for this day.</p>")
    for level in ("major", "general", "attention"):
        rows = sorted(by_level.get(level, []))
        if rows:
            parts.append(f'<h3 class="{level}">{level} ({len(rows)})</h3>')
            headers = ["bureau", "institution", "level", "criteria", "problem amount", "cc",
                       "special report"]  # fmt: skip
            parts.append(_table(headers, rows, numeric={4}))
    return "".join(parts)


def _institutions_section(document: dict[str, Any]) -> str:
    parts = ["<h2>Findings by institution 各机构发现</h2>"]
    for inst in document["institutions"]:
        title = (
            f"{inst['institution_id']} ({inst['kind']}) — client funds "
            f"{inst['client_fund_balance'] or '–'}, problem {inst['problem_amount']}, "
            f"ratio {inst['problem_ratio'] or '–'}"
        )
        parts.append(f"<h3>{_e(title)}</h3>")
        rows = []
        for f in inst["findings"]:
            largest = "; ".join(
                f"{item['ref']} {item.get('amount', '')}".strip()
                for item in f["evidence"]["largest"]
            )
            rows.append(
                [_e(f["code"]), _e(f["type"]), _e(f.get("region", "")), _e(f["amount"]),
                 _e(f["evidence"]["items_count"]), _e(largest)]
            )  # fmt: skip
        if rows:
            headers = ["code", "type", "region", "amount", "items", "largest items"]
            parts.append(_table(headers, rows, numeric={3, 4}))
        else:
            parts.append("<p>No finding.</p>")
        for item in inst["incomplete"]:
            missing = ", ".join(f"{m['institution_id']} {m['kind']}" for m in item["missing"])
            parts.append(
                f"<p>Incomplete ({_e(' '.join(item['findings']))}): {_e(item['reason'])}"
                f" — missing {_e(missing)}</p>"
            )
    return "".join(parts)


def _charts(document: dict[str, Any]) -> str:
    ratios = [
        (inst["institution_id"], Decimal(inst["problem_ratio"]))
        for inst in document["institutions"]
        if inst["problem_ratio"] is not None
    ]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for inst in document["institutions"]:
        for f in inst["findings"]:
            if f["code"] != "F9":
                totals[f"{f['code']} {f['type']}"] += Decimal(f["amount"])
    # Chart values are display-only; exact figures are in the tables and the JSON.
    ratio_chart = go.Figure(
        go.Bar(x=[i for i, _ in ratios], y=[str(r * 100) for _, r in ratios]),
        layout={"title": "Problem ratio P / L per broker (%)", "yaxis": {"title": "%"}},
    )
    amount_chart = go.Figure(
        go.Bar(x=list(totals), y=[str(v) for v in totals.values()]),
        layout={"title": "Amounts by finding type (yuan)"},
    )
    first: str = ratio_chart.to_html(include_plotlyjs=True, full_html=False)
    second: str = amount_chart.to_html(include_plotlyjs=False, full_html=False)
    return "<h2>Charts</h2>" + first + second


def render_day_report(document: dict[str, Any]) -> str:
    day = document["business_date"]
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>clearwatch monitor {_e(day)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Client-fund monitor — {_e(day)}</h1>"
        f"<p>Rules {_e(document['rules_version'])}, result version "
        f"{_e(document.get('result_version'))}.</p>"
        + _warnings_section(document)
        + _charts(document)
        + _institutions_section(document)
        + "</body></html>"
    )


def write_day_report(document: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{document['business_date']}.html"
    path.write_text(render_day_report(document), encoding="utf-8")
    return path
