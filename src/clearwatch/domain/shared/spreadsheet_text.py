"""Text for people's spreadsheets: a value a spreadsheet would run as a formula is neutralised.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab or carriage return before one) is
read by Excel, LibreOffice and Sheets as a formula: `=HYPERLINK(...)` as a client id in a
statement would become a live link, a DDE call worse. Following OWASP's advice on CSV injection,
files meant for people (client statements) prefix such a value with a single quote, which the
spreadsheet shows as text and does not run. Files meant for machines (packages, batches, CSDC
settlement) keep every value exact: their readers parse, never evaluate. Only text columns are
neutralised; amounts such as "-3.10" are numbers and stay as they are.
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_ESCAPE = "'"
# The same test as a pattern for the engines (RE2 and DuckDB read it alike): the tab and the
# carriage return are the characters themselves, the hyphen last so it is not a range.
FORMULA_PREFIX_PATTERN = "^[=+@\t\r-]"


def spreadsheet_text(value: str) -> str:
    """The value as a person's spreadsheet should show it: quoted if it would run as a formula."""
    return FORMULA_ESCAPE + value if value.startswith(FORMULA_PREFIXES) else value
