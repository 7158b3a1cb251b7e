"""Charts as server-side SVG, shared by the web pages and the static day report.

A chart is drawn from exact values (Decimal, never float) on a numeric axis whose ticks are
round numbers starting at zero; bars of a comparison are sorted largest first and each is
labelled with its value, and every figure carries a table of the same values beside it, so
the chart is a picture of the table and never the only place a number is. No script, no
style sheet, no outside source: the markup works in a page under a strict
Content-Security-Policy and in a file opened from disk. This module imports nothing of ours,
so every layer that renders may use it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

ticks_wanted = 5  # about this many intervals on a numeric axis
bar_height_px = 22
bar_gap_px = 6
chart_width_px = 640
label_width_px = 150  # room for a category's name left of a horizontal bar
value_width_px = 110  # room for a bar's value right of it
axis_height_px = 34  # tick labels under the plot
column_plot_height_px = 200
_STEP_FACTORS = (Decimal(1), Decimal(2), Decimal(5), Decimal(10))
_PX = Decimal("0.1")
_BAR_FILL = "#3b6fb6"
_NEGATIVE_FILL = "#b00020"
_GRID = "#d5dae3"
_INK = "#1d2433"


@dataclass(frozen=True)
class Bar:
    """One category and its exact value; `shown` is the value as the reader should read it."""

    label: str
    value: Decimal
    shown: str


@dataclass(frozen=True)
class Figure:
    """A drawn chart and the rows of its table (label, value as shown), in the chart's order."""

    chart_id: str
    title: str
    unit: str
    svg: str
    rows: tuple[tuple[str, str], ...]


def axis_ticks(low: Decimal, high: Decimal, wanted: int = ticks_wanted) -> tuple[Decimal, ...]:
    """Round ticks (1, 2 or 5 times a power of ten apart) covering [min(low, 0), max(high, 0)]."""
    low, high = min(low, Decimal(0)), max(high, Decimal(0))
    if low == high:
        return (Decimal(0), Decimal(1))
    raw = (high - low) / wanted
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(base * factor for factor in _STEP_FACTORS if base * factor >= raw)
    first = (low / step).to_integral_value(ROUND_FLOOR)
    last = (high / step).to_integral_value(ROUND_CEILING)
    return tuple((first + i) * step for i in range(int(last - first) + 1))


def tick_text(tick: Decimal) -> str:
    """A tick as plain digits: `0.0005`, `20`, never `2E+1`."""
    text = format(tick.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def sorted_bars(bars: Sequence[Bar]) -> tuple[Bar, ...]:
    """Largest first, ties by label: a comparison reads from the top."""
    return tuple(sorted(bars, key=lambda bar: (-bar.value, bar.label)))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _px(value: Decimal) -> str:
    return tick_text(value.quantize(_PX))


def _scale(ticks: tuple[Decimal, ...], length_px: int) -> tuple[Decimal, Decimal]:
    """(origin of the value 0, pixels per unit) along an axis of `length_px`."""
    per_unit = Decimal(length_px) / (ticks[-1] - ticks[0])
    return -ticks[0] * per_unit, per_unit


def bar_chart(*, chart_id: str, title: str, unit: str, bars: Sequence[Bar]) -> Figure:
    """Horizontal bars sorted largest first, a numeric axis along the bottom."""
    ordered = sorted_bars(bars)
    values = [bar.value for bar in ordered] or [Decimal(0)]
    ticks = axis_ticks(min(values), max(values))
    plot_px = chart_width_px - label_width_px - value_width_px
    zero, per_unit = _scale(ticks, plot_px)
    plot_height = max(len(ordered), 1) * (bar_height_px + bar_gap_px)
    height = plot_height + axis_height_px
    parts = [_open_svg(chart_id, title, unit, chart_width_px, height)]
    for tick in ticks:
        x = Decimal(label_width_px) + zero + tick * per_unit
        parts.append(
            f'<line class="grid" x1="{_px(x)}" y1="0" x2="{_px(x)}" y2="{plot_height}" '
            f'stroke="{_GRID}"/>'
            f'<text class="tick" x="{_px(x)}" y="{plot_height + 16}" text-anchor="middle" '
            f'font-size="11" fill="{_INK}" data-tick="{tick_text(tick)}">{tick_text(tick)}</text>'
        )
    for row, bar in enumerate(ordered):
        y = row * (bar_height_px + bar_gap_px) + bar_gap_px // 2
        start = Decimal(label_width_px) + zero + min(bar.value, Decimal(0)) * per_unit
        width = abs(bar.value) * per_unit
        fill = _NEGATIVE_FILL if bar.value < 0 else _BAR_FILL
        middle = y + bar_height_px // 2 + 4
        parts.append(
            f'<text x="{label_width_px - 6}" y="{middle}" text-anchor="end" font-size="12" '
            f'fill="{_INK}">{_e(bar.label)}</text>'
            f'<rect class="bar" x="{_px(start)}" y="{y}" width="{_px(width)}" '
            f'height="{bar_height_px}" fill="{fill}" data-label="{_e(bar.label)}" '
            f'data-value="{_e(bar.value)}"><title>{_e(bar.label)}: {_e(bar.shown)}</title></rect>'
            f'<text x="{_px(start + width + 4)}" y="{middle}" font-size="12" '
            f'fill="{_INK}">{_e(bar.shown)}</text>'
        )
    parts.append(_axis_caption(unit, chart_width_px // 2, height - 2))
    parts.append("</svg>")
    rows = tuple((bar.label, bar.shown) for bar in ordered)
    return Figure(chart_id, title, unit, "".join(parts), rows)


def column_chart(*, chart_id: str, title: str, unit: str, columns: Sequence[Bar]) -> Figure:
    """Vertical columns in the given order (a time series: dates left to right), a numeric
    axis on the left. Not sorted: the order is the time."""
    values = [column.value for column in columns] or [Decimal(0)]
    ticks = axis_ticks(min(values), max(values))
    left = 70
    plot_width = chart_width_px - left - 10
    zero, per_unit = _scale(ticks, column_plot_height_px)
    slot = Decimal(plot_width) / max(len(columns), 1)
    height = column_plot_height_px + axis_height_px + 14
    parts = [_open_svg(chart_id, title, unit, chart_width_px, height)]
    top = 8
    for tick in ticks:
        y = Decimal(top + column_plot_height_px) - zero - tick * per_unit
        parts.append(
            f'<line class="grid" x1="{left}" y1="{_px(y)}" x2="{chart_width_px - 10}" '
            f'y2="{_px(y)}" stroke="{_GRID}"/>'
            f'<text class="tick" x="{left - 6}" y="{_px(y + 4)}" text-anchor="end" '
            f'font-size="11" fill="{_INK}" data-tick="{tick_text(tick)}">{tick_text(tick)}</text>'
        )
    for index, column in enumerate(columns):
        x = Decimal(left) + slot * index + slot / 10
        base = Decimal(top + column_plot_height_px) - zero
        tip = base - column.value * per_unit
        y, length = min(base, tip), abs(base - tip)
        fill = _NEGATIVE_FILL if column.value < 0 else _BAR_FILL
        parts.append(
            f'<rect class="bar" x="{_px(x)}" y="{_px(y)}" width="{_px(slot * 8 / 10)}" '
            f'height="{_px(length)}" fill="{fill}" data-label="{_e(column.label)}" '
            f'data-value="{_e(column.value)}"><title>{_e(column.label)}: {_e(column.shown)}'
            "</title></rect>"
        )
    if columns:  # the first and last dates name the span; every one is in the table
        end = Decimal(left) + slot * len(columns)
        label_y = top + column_plot_height_px + 16
        parts.append(
            f'<text x="{left}" y="{label_y}" font-size="11" fill="{_INK}">'
            f"{_e(columns[0].label)}</text>"
            f'<text x="{_px(end)}" y="{label_y}" text-anchor="end" font-size="11" '
            f'fill="{_INK}">{_e(columns[-1].label)}</text>'
        )
    parts.append(_axis_caption(unit, 14, top + column_plot_height_px // 2, vertical=True))
    parts.append("</svg>")
    rows = tuple((column.label, column.shown) for column in columns)
    return Figure(chart_id, title, unit, "".join(parts), rows)


def _open_svg(chart_id: str, title: str, unit: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{_e(chart_id)}" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{_e(chart_id)}-title" data-unit="{_e(unit)}">'
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>'
    )


def _axis_caption(unit: str, x: int, y: int, *, vertical: bool = False) -> str:
    turn = f' transform="rotate(-90 {x} {y})"' if vertical else ""
    return (
        f'<text class="unit" x="{x}" y="{y}" text-anchor="middle" font-size="11" '
        f'fill="{_INK}"{turn}>{_e(unit)}</text>'
    )


def figure_html(figure: Figure, *, label_header: str, value_header: str) -> str:
    """The chart with its table of values beside it, as one `<figure>`."""
    rows = "".join(
        f'<tr><td>{_e(label)}</td><td class="num">{_e(shown)}</td></tr>'
        for label, shown in figure.rows
    )
    return (
        f'<figure class="chart-figure" id="{_e(figure.chart_id)}-figure">'
        f"<figcaption>{_e(figure.title)}</figcaption>"
        f'<div class="chart-body">{figure.svg}'
        f'<table class="chart-values"><thead><tr><th>{_e(label_header)}</th>'
        f'<th class="num">{_e(value_header)} ({_e(figure.unit)})</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div></figure>"
    )
