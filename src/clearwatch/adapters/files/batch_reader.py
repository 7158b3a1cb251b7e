"""Batch files read into typed Arrow tables, validated by one DuckDB pass per file.

Every value is read as text, then one query finds the first bad line of every column; a clean
file is converted in one more query (money to int64 fen, prices to int64 thousandths, times to
UTC). Bad input becomes a `BatchRejected` naming the file, line and column.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from clearwatch.domain.backoffice.batch_files import OPENING
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rejection, Rule
from clearwatch.domain.shared.file_schema import ColumnSpec, FileSpec, ValueType

hash_block_bytes = 8 * 1024 * 1024
csv_block_bytes = 16 * 1024 * 1024  # blocks parse in parallel; a 1 M-row file is ~5 blocks
HEADER_LINES = 1

_MONEY = r"-?[0-9]{1,15}\.[0-9]{2}"
_PATTERNS: dict[ValueType, str] = {
    ValueType.MONEY: _MONEY,
    ValueType.POSITIVE_MONEY: r"[0-9]{1,15}\.[0-9]{2}",
    ValueType.DATE: r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    ValueType.QUANTITY: r"[1-9][0-9]{0,14}",
    ValueType.SIGNED_QUANTITY: r"-?[0-9]{1,15}",
    ValueType.PRICE: r"[0-9]{1,9}(\.[0-9]{1,3})?",
    ValueType.RATE: r"(0(\.[0-9]{1,8})?)?",  # empty means the default rate
    ValueType.TIMESTAMP: (
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
        r"(Z|[+-][0-9]{2}:[0-9]{2})"
    ),
}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(hash_block_bytes):
            digest.update(block)
    return digest.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _valid(column: ColumnSpec) -> str:
    """A DuckDB predicate that holds for a good value of the column."""
    c = _quote(column.name)
    match column.value_type:
        case ValueType.TEXT:
            return f"length(trim({c})) > 0 AND {c} = trim({c})"
        case ValueType.OPTIONAL_TEXT:
            return "true"
        case ValueType.ENUM:
            return f"{c} IN ({', '.join(_literal(choice) for choice in column.choices)})"
        case ValueType.POSITIVE_MONEY:
            pattern = _literal(_PATTERNS[column.value_type])
            return f"regexp_full_match({c}, {pattern}) AND {c} <> '0.00'"
        case ValueType.PRICE:
            pattern = _literal(_PATTERNS[column.value_type])
            # A well-formed price is above zero exactly when it has a digit other than 0.
            return f"regexp_full_match({c}, {pattern}) AND regexp_matches({c}, '[1-9]')"
        case ValueType.DATE | ValueType.TIMESTAMP:
            pattern = _literal(_PATTERNS[column.value_type])
            target = "DATE" if column.value_type is ValueType.DATE else "TIMESTAMPTZ"
            return f"regexp_full_match({c}, {pattern}) AND TRY_CAST({c} AS {target}) IS NOT NULL"
        case _:
            return f"regexp_full_match({c}, {_literal(_PATTERNS[column.value_type])})"


def _price_milli(c: str) -> str:
    """A checked price (at most 9 + 3 digits) in thousandths: exact through DECIMAL(18, 3)."""
    return f"CAST(CAST({c} AS DECIMAL(18, 3)) * 1000 AS BIGINT)"


def _converted(column: ColumnSpec) -> str:
    c = _quote(column.name)
    match column.value_type:
        case ValueType.MONEY | ValueType.POSITIVE_MONEY:
            return f"CAST(replace({c}, '.', '') AS BIGINT) AS {c}"
        case ValueType.QUANTITY | ValueType.SIGNED_QUANTITY:
            return f"CAST({c} AS BIGINT) AS {c}"
        case ValueType.PRICE:
            return f"{_price_milli(c)} AS {_quote(column.name + '_milli')}"
        case ValueType.DATE:
            return f"CAST({c} AS DATE) AS {c}"
        case ValueType.TIMESTAMP:
            return f"CAST({c} AS TIMESTAMPTZ) AS {c}"
        case _:
            return c


class DuckDBBatchFileReader:
    """Reads and checks one batch file at a time; DuckDB does the per-row work."""

    def sha256(self, path: Path) -> str:
        return file_sha256(path)

    def count_rows(self, path: Path, *, encoding: str) -> int:
        """Data rows of a file the back office keeps but does not apply."""
        options = pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding)
        convert = pacsv.ConvertOptions(strings_can_be_null=False)
        try:
            return int(pacsv.read_csv(path, read_options=options, convert_options=convert).num_rows)
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise _rejected(Rule.FILE_MUST_DECODE, path.name, None, "", str(error)[:200]) from error

    def read(self, path: Path, spec: FileSpec, *, encoding: str, rows: int) -> pa.Table:
        raw = self._raw(path, spec, encoding)
        if raw.num_rows != rows:
            raise _rejected(
                Rule.ROW_COUNT_MUST_MATCH, spec.name, None, "", f"{raw.num_rows} != {rows}"
            )
        lines = pa.array(np.arange(HEADER_LINES + 1, raw.num_rows + HEADER_LINES + 1))
        raw = raw.append_column("line", lines)
        con = duckdb.connect(config={"preserve_insertion_order": True})  # rows stay in file order
        try:
            con.register("raw", raw)
            self._check_values(con, spec)
            self._check_keys(con, spec)
            select = ", ".join([*(_converted(c) for c in spec.columns), "line"])
            if spec.name == OPENING.name:
                select = (
                    "account, asset, CASE WHEN asset = 'CASH' THEN "
                    "CAST(replace(quantity, '.', '') AS BIGINT) ELSE CAST(quantity AS BIGINT) "
                    "END AS quantity, line"
                )
            # A projection keeps the file's order (DuckDB preserves insertion order): no sort.
            return con.sql(f"SELECT {select} FROM raw").to_arrow_table()
        finally:
            con.close()

    def _raw(self, path: Path, spec: FileSpec, encoding: str) -> pa.Table:
        if not path.is_file():
            raise _rejected(Rule.FILE_MUST_EXIST, spec.name, None, "", str(path.name))
        options = pacsv.ReadOptions(
            encoding="utf8" if encoding == "utf-8" else encoding, block_size=csv_block_bytes
        )
        try:
            header = pacsv.open_csv(path, read_options=options).schema.names
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise _rejected(Rule.FILE_MUST_DECODE, spec.name, 1, "", str(error)[:200]) from error
        header = [name.lstrip("\ufeff") for name in header]
        for column in spec.column_names:
            if column not in header:
                raise _rejected(Rule.COLUMN_MUST_BE_PRESENT, spec.name, 1, column, "missing")
        read_names = [f"c{i}" for i in range(len(header))]
        options = pacsv.ReadOptions(
            encoding=options.encoding,
            block_size=csv_block_bytes,
            skip_rows=1,
            column_names=read_names,
        )
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in read_names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            include_columns=[read_names[header.index(c)] for c in spec.column_names],
        )
        try:
            table = pacsv.read_csv(path, read_options=options, convert_options=convert)
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise _rejected(Rule.FILE_MUST_DECODE, spec.name, None, "", str(error)[:200]) from error
        return table.rename_columns(list(spec.column_names))

    def _check_values(self, con: duckdb.DuckDBPyConnection, spec: FileSpec) -> None:
        checks = [(c.name, _valid(c)) for c in spec.columns]
        if spec.name == OPENING.name:
            checks = [
                ("account", "length(trim(account)) > 0"),
                ("asset", "regexp_full_match(asset, 'CASH|(SH|SZ|BJ)\\.[0-9A-Za-z]{1,12}')"),
                (
                    "quantity",
                    f"CASE WHEN asset = 'CASH' THEN regexp_full_match(quantity, '{_MONEY}') "
                    "ELSE regexp_full_match(quantity, '[0-9]{1,15}') END",
                ),
            ]
        firsts = ", ".join(
            f"min(line) FILTER (WHERE NOT coalesce({check}, false))" for _, check in checks
        )
        found = con.execute(f"SELECT {firsts} FROM raw").fetchall()[0]
        bad = [(line, i) for i, line in enumerate(found) if line is not None]
        if bad:
            line, index = min(bad)
            column = checks[index][0]
            values = con.execute(
                f"SELECT {_quote(column)} FROM raw WHERE line = ?", [line]
            ).fetchall()
            shown = str(values[0][0])[:40] if values else ""
            raise _rejected(Rule.VALUE_MUST_MATCH_TYPE, spec.name, int(line), column, repr(shown))

    def _check_keys(self, con: duckdb.DuckDBPyConnection, spec: FileSpec) -> None:
        """A repeated key names the line of its second occurrence.

        The common case (no repeats) costs one hash aggregate over a 64-bit hash of the key,
        half the cost of grouping the key's text. Equal hashes are only a suspicion (two keys
        may share one): the exact query over the key itself decides and finds the line.
        """
        key = ", ".join(_quote(k) for k in spec.key)
        suspects = con.execute(
            f"SELECT count(*) FROM (SELECT hash({key}) AS h FROM raw GROUP BY h "
            "HAVING count(*) > 1)"
        ).fetchall()[0][0]
        if not suspects:
            return
        found = con.execute(
            f"SELECT min(line) FROM (SELECT line, row_number() OVER (PARTITION BY {key} "
            "ORDER BY line) AS n FROM raw) WHERE n > 1"
        ).fetchall()[0][0]
        if found is not None:
            raise _rejected(
                Rule.KEY_MUST_BE_UNIQUE, spec.name, int(found), spec.key[0], ",".join(spec.key)
            )


def _rejected(rule: Rule, file: str, line: int | None, column: str, detail: str) -> BatchRejected:
    return BatchRejected((Rejection(rule, file, line, column, detail),))
