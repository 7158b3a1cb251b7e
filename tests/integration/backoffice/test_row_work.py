"""The row work's building blocks: the batch reader, money as text, CSV written as a stream."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearwatch.adapters.engine.backoffice.row_work import (
    IbisBackOfficeEngine,
    _spreadsheet_column,
)
from clearwatch.adapters.files.batch_reader import DuckDBBatchFileReader
from clearwatch.domain.backoffice.batch_files import EXECUTIONS
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.domain.shared.spreadsheet_text import spreadsheet_text

ENGINE = IbisBackOfficeEngine(threads=1)
HEADER = "exec_id,market,security,side,quantity,price,fund_account,order_id,executed_at\n"
AT = "2026-11-20T10:00:00+08:00"


def _executions(tmp_path: Path, *rows: str) -> tuple[Path, int]:
    path = tmp_path / "executions.csv"
    path.write_text(HEADER + "".join(f"{row},{AT}\n" for row in rows))
    return path, len(rows)


def _read(path: Path, rows: int) -> pa.Table:
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    return DuckDBBatchFileReader().read(
        path, EXECUTIONS, encoding="utf-8", rows=rows, sha256=sha256
    )


def test_executions_keep_the_file_order_and_exact_prices(tmp_path: Path) -> None:
    path, rows = _executions(
        tmp_path,
        "E9,SZ,000001,B,100,10,F1,O1",
        "E1,SH,600000,S,200,10.5,F2,O2",
        "E5,SH,600000,B,300,0.001,F1,O3",
        "E2,SZ,000001,S,1,999999999.999,F3,O4",
    )
    table = _read(path, rows)
    assert table.column("exec_id").to_pylist() == ["E9", "E1", "E5", "E2"]
    assert table.column("line").to_pylist() == [2, 3, 4, 5]
    assert table.column("price_milli").to_pylist() == [10_000, 10_500, 1, 999_999_999_999]


@pytest.mark.parametrize(
    ("rows", "line", "column"),
    [
        # A repeated key is named at its second occurrence.
        (
            [
                "E1,SH,600000,B,100,10,F1,O1",
                "E2,SH,600000,B,100,10,F1,O2",
                "E1,SH,600001,S,1,1,F2,O3",
            ],
            4,
            "market",
        ),
        # The same exec_id in another market is another execution; a zero price is not a price.
        (["E1,SH,600000,B,100,10,F1,O1", "E1,SZ,000001,B,100,0.000,F1,O2"], 3, "price"),
        (["E1,SH,600000,B,100,10,F1,O1", "E2,SH,600000,B,0100,1,F1,O2"], 3, "quantity"),
    ],
)
def test_a_bad_file_is_rejected_naming_its_line_and_column(
    tmp_path: Path, rows: list[str], line: int, column: str
) -> None:
    path, count = _executions(tmp_path, *rows)
    with pytest.raises(BatchRejected) as refused:
        _read(path, count)
    (rejection,) = refused.value.rejections
    assert (rejection.file, rejection.line, rejection.column) == ("executions.csv", line, column)
    expected = Rule.KEY_MUST_BE_UNIQUE if column == "market" else Rule.VALUE_MUST_MATCH_TYPE
    assert rejection.rule is expected


def _fen_text(fen: int) -> str:
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), min_size=1))
def test_money_prints_exactly_over_the_whole_int64_range(values: list[int]) -> None:
    edges = [0, 5, -5, 100, -(10**18) + 1, 10**18 - 1, 10**18, -(10**18), 2**63 - 1]
    table = pa.table({"fen": pa.array(values + edges, pa.int64())})
    printed = ENGINE.format_money_table(table, ["fen"]).column("fen").to_pylist()
    assert printed == [_fen_text(v) for v in values + edges]


def test_a_csv_written_as_a_stream_has_the_bytes_of_one_whole_write(tmp_path: Path) -> None:
    table = pa.table(
        {
            "name": pa.array(["a", 'quote " inside', "comma, inside", None], pa.string()),
            "quantity": pa.array([1, None, -3, 4], pa.int64()),
        }
    )
    for rows in (table, table.slice(0, 0)):
        whole = io.BytesIO()
        pacsv.write_csv(rows, whole, pacsv.WriteOptions(quoting_style="needed"))
        sha, count = ENGINE.write_csv(rows, tmp_path / "out.csv")
        written = (tmp_path / "out.csv").read_bytes()
        assert written == whole.getvalue()
        assert (sha, count) == (hashlib.sha256(written).hexdigest(), rows.num_rows)


@settings(max_examples=200)
@given(
    values=st.lists(st.text(alphabet="=+-@\t\r'aF1 客", max_size=4), max_size=12),
    cut=st.integers(0, 12),
)
def test_statement_text_is_quoted_as_the_domain_quotes_one_value(
    values: list[str], cut: int
) -> None:
    """The whole-column guard of the statements (first bytes, then a regex where needed)
    gives each value what `spreadsheet_text` gives it, on a sliced column too."""
    column = pa.array(["x", *values], pa.string())[1 + min(cut, len(values)) :]
    expected = [spreadsheet_text(v) for v in values[min(cut, len(values)) :]]
    assert _spreadsheet_column(column).to_pylist() == expected
