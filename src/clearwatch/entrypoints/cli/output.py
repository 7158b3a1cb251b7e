"""Listings for the terminal: stored text never read as markup, key cells kept whole.

Every listing is a list of rows (JSON-ready mappings) and the columns to show. Cells become
`rich.text.Text`, so an id such as `[/x]` prints as itself. Key cells (dates, ids, levels,
amounts) never wrap; only free text does. By default a listing shows the columns that fit 80
columns whole; `--wide` adds the rest and `--json` prints the rows for machines. Should even
the default columns not fit (an unusually long id), Rich cuts a key cell with an ellipsis
rather than break it across lines: the row stays one row, and `--json` has it whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from clearwatch.domain.shared.calendar import SHANGHAI

WIDE_HELP = "Show every column (wider than 80 columns)."
JSON_HELP = "Print the rows as JSON, for machines."
wide_option = typer.Option(False, "--wide", help=WIDE_HELP)
json_option = typer.Option(False, "--json", help=JSON_HELP)

LEVEL_STYLE = {"major": "bold red", "general": "yellow", "attention": "cyan"}
STATUS_STYLE = {
    "accepted": "green",
    "approved": "green",
    "applied": "green",
    "superseded": "dim",
    "rejected": "red",
    "refused": "red",
    "pending": "yellow",
}


@dataclass(frozen=True)
class Column:
    """One column: its header, the row key it shows and how it may be laid out.

    `whole` cells (ids, dates, levels, amounts) never wrap; free text wraps. `wide` columns
    show only with `--wide`.
    """

    header: str
    key: str
    whole: bool = True
    wide: bool = False
    justify: Literal["left", "right"] = "left"
    style: Callable[[str], str] | None = None
    show: Callable[[Any], str] | None = None  # the cell's text when not `cell(value)`


def cell(value: object) -> str:
    """The text of a value as a listing shows it; missing values are a dash."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list | tuple):
        # A space after each comma lets a narrow column wrap between items, never inside one.
        return ", ".join(str(item) for item in value)
    return str(value)


def local_time(moment: datetime | str, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment (aware, or ISO 8601 text with offset) as Shanghai time, the market's."""
    aware = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return aware.astimezone(SHANGHAI).strftime(pattern)


def level_style(level: str) -> str:
    return LEVEL_STYLE.get(level, "")


def status_style(status: str) -> str:
    return STATUS_STYLE.get(status, "")


def listing_table(
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    *,
    wide: bool = False,
) -> Table:
    """A table of `rows`, every cell plain text; wide-only columns when `wide`."""
    table = Table(
        title=Text(title),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        expand=False,
        title_justify="left",
    )
    shown = [column for column in columns if wide or not column.wide]
    for column in shown:
        table.add_column(
            Text(column.header),
            no_wrap=column.whole,
            overflow="ellipsis" if column.whole else "fold",
            justify=column.justify,
            min_width=None if column.whole else len(column.header),  # the header stays whole
        )
    for row in rows:
        table.add_row(*(_text(column, row.get(column.key)) for column in shown))
    return table


def _text(column: Column, value: object) -> Text:
    if isinstance(value, Text):
        return value if value.plain else Text("–")  # already plain text with its own styles
    text = column.show(value) if column.show and value is not None else cell(value)
    return Text(text, style=column.style(text) if column.style else "")


def print_listing(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    *,
    wide: bool = False,
    as_json: bool = False,
) -> None:
    """Print the rows as a table, or as one JSON array when `as_json`."""
    if as_json:
        print_json(list(rows))
        return
    console.print(listing_table(title, columns, rows, wide=wide))


def print_json(document: object) -> None:
    """A document for machines on stdout: dates as ISO 8601, never wrapped, never markup."""
    typer.echo(json.dumps(document, ensure_ascii=False, default=_iso, indent=1))


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def say(console: Console, *parts: str | tuple[str, str], whole: bool = False) -> None:
    """One line of plain parts and (text, style) parts; no part is read as markup.

    `whole` keeps the line unfolded past the terminal's width: for lines that end in a path,
    which people copy, and which Rich would otherwise cut mid-name into two lines."""
    console.print(Text.assemble(*parts), highlight=False, soft_wrap=whole)
