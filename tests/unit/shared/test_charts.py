"""Charts drawn as SVG tell the truth: numeric axes from zero, sorted bars, values in a table."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from clearwatch.charts import Bar, axis_ticks, bar_chart, column_chart, figure_html, tick_text

D = Decimal


def test_ticks_are_round_steps_from_zero_covering_the_largest_value() -> None:
    assert axis_ticks(D(0), D("9.5589")) == (D(0), D(2), D(4), D(6), D(8), D(10))
    assert axis_ticks(D(0), D("0.0004")) == tuple(D("0.0001") * i for i in range(5))
    assert axis_ticks(D(0), D(0)) == (D(0), D(1))  # nothing to show still has an axis
    assert [tick_text(t) for t in axis_ticks(D(0), D(20))] == ["0", "5", "10", "15", "20"]


def test_ticks_reach_below_zero_for_a_negative_value() -> None:
    ticks = axis_ticks(D(-500), D(100))
    assert ticks[0] <= D(-500) and ticks[-1] >= D(100) and D(0) in ticks


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False),
    st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False),
)
def test_ticks_always_cover_both_values_and_zero_in_even_steps(a: Decimal, b: Decimal) -> None:
    ticks = axis_ticks(min(a, b), max(a, b))
    assert ticks[0] <= min(a, b, D(0)) and ticks[-1] >= max(a, b, D(0))
    steps = {later - earlier for earlier, later in pairwise(ticks)}
    assert len(steps) == 1 and 2 <= len(ticks) <= 12


def test_bars_are_sorted_largest_first_and_each_carries_its_exact_value() -> None:
    # The report of 2026-11-18: B001's 9.56 % had no bar and the axis read values as text.
    bars = [Bar("B003", D("0.0004"), "0.0004"), Bar("B001", D("9.5589"), "9.5589"),
            Bar("B002", D("1.1523"), "1.1523"), Bar("B004", D(0), "0.0000")]  # fmt: skip
    figure = bar_chart(chart_id="ratio", title="ratio", unit="%", bars=bars)
    labels = re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', figure.svg)
    assert labels == [("B001", "9.5589"), ("B002", "1.1523"), ("B003", "0.0004"), ("B004", "0")]
    widths = [D(w) for w in re.findall(r'<rect class="bar"[^>]* width="([^"]+)"', figure.svg)]
    assert widths == sorted(widths, reverse=True) and widths[0] > 0
    ticks = re.findall(r'data-tick="([^"]+)"', figure.svg)
    assert ticks == ["0", "2", "4", "6", "8", "10"]
    assert figure.rows[0] == ("B001", "9.5589")


def test_labels_are_escaped_and_the_table_sits_beside_the_chart() -> None:
    figure = bar_chart(
        chart_id="x", title="<b>t</b>", unit="元", bars=[Bar("<script>", D(1), "1.00")]
    )
    page = figure_html(figure, label_header="who", value_header="amount")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert '<table class="chart-values">' in page and "amount (元)" in page


def test_a_time_series_keeps_its_order_and_a_day_without_value_is_zero_high() -> None:
    columns = [Bar("2026-11-18", D(2), "2"), Bar("2026-11-19", D(0), "–"),
               Bar("2026-11-20", D(1), "1")]  # fmt: skip
    figure = column_chart(chart_id="w", title="warnings", unit="#", columns=columns)
    assert re.findall(r'data-label="([^"]+)"', figure.svg) == [c.label for c in columns]
    heights = re.findall(r'<rect class="bar"[^>]* height="([^"]+)"', figure.svg)
    assert D(heights[1]) == 0 and D(heights[0]) == 2 * D(heights[2])
