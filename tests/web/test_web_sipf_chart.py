"""The SIPF page's trend charts read back from the page itself: every value numeric, the days in
order, the SVG and the table beside it saying the same, and each figure equal to what the
day's stored result says, computed here from its amounts in fen."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.rejections import PackageError, PackageRule
from clearwatch.domain.shared.money import parse_fen
from clearwatch.entrypoints.web.pages import trend_days
from clearwatch.services.monitor.ports import NewRejection
from clearwatch.services.monitor.run_day import run_day
from tests.api.support import client_of
from tests.scenarios.test_monitor_day import DAY
from tests.web.support import WEB, sign_in

_BAR = re.compile(r'<rect class="bar"[^>]*? data-label="([^"]+)" data-value="([^"]+)"')
_ROW = re.compile(r'<tr><td>([^<]+)</td><td class="num">([^<]+)</td></tr>')
_TICK = re.compile(r'data-tick="([^"]+)"')
_AMOUNT_CELL = re.compile(r'<td class="num" data-fen="(-?[0-9]+)">(-?[0-9,]+\.[0-9]{2})</td>')


def _figure(page: str, chart_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    """(bars as (label, value), table rows as (label, shown), the SVG) of one chart."""
    start = page.index(f'id="{chart_id}-figure"')
    figure = page[start : page.index("</figure>", start)]
    svg = figure[: figure.index("</svg>")]
    table = figure[figure.index('class="chart-values"') :]
    return _BAR.findall(svg), _ROW.findall(table), svg


def _stored_day(app: Application, day: date) -> tuple[int, int, int, list[int]]:
    """Σ P and Σ L of the brokers in fen, the warnings, and each warning's problem amount,
    from the day's latest stored result."""
    with app.read_uow() as uow:
        run = uow.monitor_runs.latest(day)
        warnings = uow.monitor_runs.warnings(business_date=day)
    assert run is not None
    brokers = [
        entry
        for entry in json.loads(run.document_json)["institutions"]
        if entry["kind"] == "broker" and entry["client_fund_balance"] is not None
    ]
    problem_fen = sum(parse_fen(entry["problem_amount"]) for entry in brokers)
    balance_fen = sum(parse_fen(entry["client_fund_balance"]) for entry in brokers)
    return problem_fen, balance_fen, len(warnings), [w.problem_amount_fen for w in warnings]


def test_the_trend_charts_are_numeric_in_date_order_and_match_the_stored_day_to_the_fen(
    review_day: Application,
) -> None:
    app = review_day
    before = DAY - timedelta(days=1)  # a day run with nothing received: no ratio, drawn as such
    run_day(business_date=before, actor="test-fixture", context=app.run_day_context())
    client = client_of(app)
    sign_in(client, app, "SIPF", Role.ANALYST)
    page = client.get(f"{WEB}/sipf", params={"date": DAY.isoformat()}).text
    expected_days = [(DAY - timedelta(days=back)).isoformat() for back in range(trend_days)][::-1]
    problem_fen, balance_fen, warning_count, amounts_fen = _stored_day(app, DAY)
    ratio = (Decimal(problem_fen) * 100 / Decimal(balance_fen)).quantize(Decimal("0.0001"))
    assert problem_fen > 0 and ratio > 0  # B001's 100.00 and B002's 499.99 are in it
    for chart_id, today in (("trend-ratio", str(ratio)), ("trend-warnings", str(warning_count))):
        bars, rows, svg = _figure(page, chart_id)
        # The days in order, one bar and one table row each, the same in both.
        assert [label for label, _ in bars] == expected_days
        assert [label for label, _ in rows] == expected_days
        values = [Decimal(value) for _, value in bars]  # numeric, or this raises
        assert all(value.is_finite() and value >= 0 for value in values)
        shown = dict(rows)
        assert shown[DAY.isoformat()] == today and dict(bars)[DAY.isoformat()] == today
        for label, value in bars:  # the table shows every drawn value, or "–" where none
            assert shown[label] == "–" or Decimal(shown[label]) == Decimal(value)
        # A numeric axis from zero that covers the largest value, ticks ascending.
        ticks = [Decimal(tick) for tick in _TICK.findall(svg)]
        assert ticks == sorted(ticks) and ticks[0] == 0 and ticks[-1] >= max(values)
    # The run with nothing received has no ratio: "–" in the table, never a 0 that reads as one.
    _, ratio_rows, _ = _figure(page, "trend-ratio")
    assert dict(ratio_rows)[before.isoformat()] == "–"
    # The day's warnings: each problem amount on the page to the fen, separators and decimals.
    warnings_table = page[page.index('id="warnings-by-bureau"') : page.index("trend-ratio")]
    cells = _AMOUNT_CELL.findall(warnings_table)
    assert all(int(fen) == parse_fen(text.replace(",", "")) for fen, text in cells), cells
    assert sorted(int(fen) for fen, _ in cells) == sorted(amounts_fen)
    assert len(cells) == warning_count


def test_the_page_opens_on_the_last_day_anything_arrived_for_even_a_rejection(
    review_day: Application,
) -> None:
    app = review_day
    client = client_of(app)
    sign_in(client, app, "SIPF", Role.ANALYST)
    assert f"<h1>监控日 {DAY.isoformat()}</h1>" in client.get(f"{WEB}/sipf").text
    later = DAY + timedelta(days=3)
    error = PackageError(PackageRule.MANIFEST_MUST_EXIST, "nothing but a broken try")
    with app.uow() as uow:
        uow.packages.add_rejection(
            NewRejection(
                received_at=app.real_clock.now(), kind="broker_daily", institution_id="B001",
                business_date=later, sequence=1, content_sha256=None, errors=(error,),
                errors_truncated=False,
            )
        )  # fmt: skip
        uow.commit()
    assert f"<h1>监控日 {later.isoformat()}</h1>" in client.get(f"{WEB}/sipf").text
