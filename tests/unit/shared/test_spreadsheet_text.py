"""Text for people's spreadsheets: formula prefixes are neutralised, everything else is kept."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.shared.spreadsheet_text import (
    FORMULA_PREFIX_PATTERN,
    FORMULA_PREFIXES,
    spreadsheet_text,
)


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"],
)
def test_a_value_a_spreadsheet_would_run_is_quoted(value: str) -> None:
    assert spreadsheet_text(value) == "'" + value


@pytest.mark.parametrize("value", ["F001", "C=1", " =1", "", "'=1", "客户"])
def test_any_other_value_is_kept_as_it_is(value: str) -> None:
    assert spreadsheet_text(value) == value


@given(st.text(max_size=8))
def test_the_engines_pattern_flags_exactly_the_values_the_rule_quotes(value: str) -> None:
    flagged = re.search(FORMULA_PREFIX_PATTERN, value) is not None
    assert flagged == value.startswith(FORMULA_PREFIXES)
    assert spreadsheet_text(value) == ("'" + value if flagged else value)
