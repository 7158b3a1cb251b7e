"""Batch files read into typed Arrow tables, validated by DuckDB queries built from the grammar.

Each file is opened once, without following links, and read once into memory: those bytes are
hashed against the manifest and those same bytes are parsed, so a file swapped during an import
is either the one hashed or refused. Every value is read as text; one query finds whether any
column holds a bad value, and only then do further queries list the bad lines (up to the cap),
each named by its rule. A clean file is converted in one more query (money to int64 fen, prices
to int64 thousandths, times to UTC). Bad input becomes a `BatchRejected` naming the file, line
and column of every error found.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from clearwatch.adapters.files.once_read import NotRegularFile, OpenedFile
from clearwatch.adapters.files.plain_columns import is_plain
from clearwatch.domain.backoffice.batch_files import OPENING
from clearwatch.domain.backoffice.batch_manifest import BatchError, BatchErrors, BatchRejected, Rule
from clearwatch.domain.shared.file_schema import ColumnSpec, FileSpec, ValueType
from clearwatch.domain.shared.money import AMOUNT_PATTERN
from clearwatch.domain.shared.value_grammar import (
    IDENTIFIER_PATTERN,
    PATTERNS,
    ValueRule,
    explain,
    quantity_digits_max,
    show_value,
)

csv_block_bytes = 16 * 1024 * 1024  # blocks parse in parallel; a 1 M-row file is ~5 blocks
HEADER_LINES = 1
_ARROW_ENCODING = {"utf-8": "utf8", "gb18030": "gb18030"}
# opening.csv: the asset names the type of its line's quantity (yuan for CASH, else shares).
_ASSET = "CASH|(SH|SZ|BJ)[.][0-9A-Za-z]{1,12}"
_SHARES = f"[0-9]{{1,{quantity_digits_max}}}"
_OPENING_CHECKS = (
    ("account", f"regexp_full_match(account, '{IDENTIFIER_PATTERN}')"),
    ("asset", f"regexp_full_match(asset, '{_ASSET}')"),
    (
        "quantity",
        f"CASE WHEN asset = 'CASH' THEN regexp_full_match(quantity, '{AMOUNT_PATTERN}') "
        f"ELSE regexp_full_match(quantity, '{_SHARES}') END",
    ),
)
_IDENTIFIER_RULES = {
    ValueRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS: (
        Rule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS
    ),
    ValueRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE: (
        Rule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE
    ),
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _valid(column: ColumnSpec, *, plain: bool = False) -> str:
    """A DuckDB predicate that holds for a good value of the column (the grammar's pattern),
    or for a `plain` column (its pattern known to hold) what the pattern does not check."""
    c = _quote(column.name)
    match column.value_type:
        case ValueType.TIMESTAMP if plain:
            return f"TRY_CAST({c} AS TIMESTAMPTZ) IS NOT NULL"
        case _ if plain:
            return "true"
        case ValueType.OPTIONAL_TEXT:
            return "true"
        case ValueType.ENUM:
            return f"{c} IN ({', '.join(_literal(choice) for choice in column.choices)})"
        case ValueType.POSITIVE_MONEY | ValueType.PRICE:
            pattern = _literal(PATTERNS[column.value_type])
            # A well-formed amount or price is above zero exactly when it has a digit but 0.
            return f"regexp_full_match({c}, {pattern}) AND regexp_matches({c}, '[1-9]')"
        case ValueType.DATE | ValueType.TIMESTAMP:
            pattern = _literal(PATTERNS[column.value_type])
            target = "DATE" if column.value_type is ValueType.DATE else "TIMESTAMPTZ"
            return f"regexp_full_match({c}, {pattern}) AND TRY_CAST({c} AS {target}) IS NOT NULL"
        case _:
            return f"regexp_full_match({c}, {_literal(PATTERNS[column.value_type])})"


def _price_milli(c: str) -> str:
    """A checked price (at most 9 + 3 digits) in thousandths: exact through DECIMAL(18, 3)."""
    return f"CAST(CAST({c} AS DECIMAL(18, 3)) * 1000 AS BIGINT)"


def _converted(column: ColumnSpec, *, trying: bool = False) -> str:
    """The column typed; a time `trying` its cast is null where the cast fails."""
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
            return f"{'TRY_CAST' if trying else 'CAST'}({c} AS TIMESTAMPTZ) AS {c}"
        case _:
            return c


def _read_once(path: Path, sha256: str) -> pa.Buffer:
    """The file's bytes, read once; refused unless a regular file whose bytes hash to `sha256`."""
    try:
        with OpenedFile(path) as opened:
            data = opened.stream().readall()
    except NotRegularFile as problem:
        raise _rejected(Rule.FILE_MUST_BE_REGULAR, path.name, None, "", str(problem)) from problem
    except FileNotFoundError as problem:
        raise _rejected(Rule.FILE_MUST_EXIST, path.name, None, "", path.name) from problem
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise _rejected(Rule.FILE_HASH_MUST_MATCH, path.name, None, "", f"sha256 {actual}")
    return pa.py_buffer(data)


class DuckDBBatchFileReader:
    """Reads and checks one batch file at a time; DuckDB does the per-row work."""

    def count_rows(self, path: Path, *, encoding: str, sha256: str) -> int:
        """Data rows of a file the back office keeps but does not apply."""
        data = _read_once(path, sha256)
        options = pacsv.ReadOptions(encoding=_ARROW_ENCODING[encoding])
        convert = pacsv.ConvertOptions(strings_can_be_null=False)
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data), read_options=options, convert_options=convert
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise _rejected(Rule.FILE_MUST_DECODE, path.name, None, "", str(error)[:200]) from error
        return int(table.num_rows)

    def read(
        self, path: Path, spec: FileSpec, *, encoding: str, rows: int, sha256: str
    ) -> pa.Table:
        """The file's rows, typed, with their line; `BatchRejected` with every error found."""
        raw, header = _raw(_read_once(path, sha256), spec, encoding)
        lines = pa.array(np.arange(HEADER_LINES + 1, raw.num_rows + HEADER_LINES + 1))
        raw = raw.append_column("line", lines)
        con = _checking_connection()
        con.register("raw", raw)
        try:
            plain = _plain_columns(spec, raw)
            # A plain time has one check left, that its date and time exist: the cast. The
            # conversion tries it anyway, so a clean file's times are cast once, not twice.
            times = [c.name for c in spec.columns if c.value_type is ValueType.TIMESTAMP]
            trying = [name for name in times if name in plain]
            counted = (raw.num_rows, rows)
            errors = _errors(con, spec, header, counted, _checks(spec, plain, skipped=trying))
            if not errors:
                typed = _typed(con, spec, raw, trying=trying)
                if not any(typed[name].null_count for name in trying):
                    return typed
            if trying:  # a time may not exist: check again with its cast, for every error
                errors = _errors(con, spec, header, counted, _checks(spec, plain, skipped=()))
            errors.refuse()
            return _typed(con, spec, raw, trying=())
        finally:
            con.unregister("raw")


def _errors(
    con: duckdb.DuckDBPyConnection,
    spec: FileSpec,
    header: list[str],
    counted: tuple[int, int],
    checks: list[tuple[str, str]],
) -> BatchErrors:
    """Every error of the registered rows (up to the cap): their count (found, and as the
    manifest says), values and keys."""
    errors = BatchErrors()
    found, rows = counted
    if found != rows:
        detail = f"the file holds {found} rows, the manifest says {rows}"
        errors.add(BatchError(Rule.ROW_COUNT_MUST_MATCH, spec.name, detail=detail))
    _check_values(con, spec, header, errors, checks)
    _check_keys(con, spec, header, errors)
    return errors


def _plain_columns(spec: FileSpec, raw: pa.Table) -> frozenset[str]:
    """The columns whose bytes already show every value good (`plain_columns`)."""
    if spec.name == OPENING.name:  # checked by its own rules
        return frozenset()
    return frozenset(c.name for c in spec.columns if is_plain(c.value_type, raw[c.name]))


def _checks(
    spec: FileSpec, plain: frozenset[str], *, skipped: Sequence[str]
) -> list[tuple[str, str]]:
    """Each column's DuckDB check: the pattern's, but none for a plain column (a plain time
    keeps its cast: the bytes show the layout, not that the date exists) or a `skipped` one."""
    if spec.name == OPENING.name:
        return list(_OPENING_CHECKS)
    return [
        (c.name, "true" if c.name in skipped else _valid(c, plain=c.name in plain))
        for c in spec.columns
    ]


_CHECKING = threading.local()


def _checking_connection() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB for checking batch files. Connecting costs tens of
    milliseconds, more than checking a small file, so it is made once per thread, not per file
    (a connection is not shared between threads, nor used again in a forked child). Each read
    registers its rows as `raw` and unregisters them: nothing else is kept in it."""
    held = getattr(_CHECKING, "held", None)
    if held is None or held[0] != os.getpid():
        # Rows stay in file order: the projection of `read` is not sorted.
        held = (os.getpid(), duckdb.connect(config={"preserve_insertion_order": True}))
        _CHECKING.held = held
    connection: duckdb.DuckDBPyConnection = held[1]
    return connection


def _typed(
    con: duckdb.DuckDBPyConnection, spec: FileSpec, raw: pa.Table, *, trying: Sequence[str]
) -> pa.Table:
    """The checked rows typed. Only the columns that change type pass through DuckDB: the text
    columns are the parsed ones as they are (copying millions of strings out of DuckDB cost
    more than converting the rest)."""
    if spec.name == OPENING.name:
        return con.sql(f"SELECT {_selected(spec)} FROM raw").to_arrow_table()
    converting = [c for c in spec.columns if _converted(c) != _quote(c.name)]
    if not converting:
        return raw
    selected = ", ".join(_converted(c, trying=c.name in trying) for c in converting)
    converted = con.sql(f"SELECT {selected} FROM raw").to_arrow_table()
    columns = {name: raw[name] for name in raw.column_names}
    for column, name in zip(converting, converted.column_names, strict=True):
        del columns[column.name]
        columns[name] = converted[name]
    return pa.table(columns).select([*_output_names(spec), "line"])


def _output_names(spec: FileSpec) -> list[str]:
    return [c.name + "_milli" if c.value_type is ValueType.PRICE else c.name for c in spec.columns]


def _selected(spec: FileSpec) -> str:
    """The converting projection; it keeps the file's order (DuckDB preserves insertion
    order), so no sort is needed."""
    if spec.name == OPENING.name:
        return (
            "account, asset, CASE WHEN asset = 'CASH' THEN "
            "CAST(replace(quantity, '.', '') AS BIGINT) ELSE CAST(quantity AS BIGINT) "
            "END AS quantity, line"
        )
    return ", ".join([*(_converted(c) for c in spec.columns), "line"])


def _raw(data: pa.Buffer, spec: FileSpec, encoding: str) -> tuple[pa.Table, list[str]]:
    """Every column of the spec as text, and the header; missing columns are all named."""
    options = pacsv.ReadOptions(encoding=_ARROW_ENCODING[encoding], block_size=csv_block_bytes)
    try:
        header = pacsv.open_csv(pa.BufferReader(data), read_options=options).schema.names
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise _rejected(Rule.FILE_MUST_DECODE, spec.name, 1, "", str(error)[:200]) from error
    header = [name.lstrip("\ufeff") for name in header]
    missing = [column for column in spec.column_names if column not in header]
    if missing:
        raise BatchRejected(
            tuple(
                BatchError(Rule.COLUMN_MUST_BE_PRESENT, spec.name, 1, c, "missing") for c in missing
            )
        )
    read_names = [f"c{i}" for i in range(len(header))]
    options = pacsv.ReadOptions(
        encoding=options.encoding, block_size=csv_block_bytes, skip_rows=1, column_names=read_names
    )
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in read_names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        include_columns=[read_names[header.index(c)] for c in spec.column_names],
    )
    try:
        table = pacsv.read_csv(pa.BufferReader(data), read_options=options, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise _rejected(Rule.FILE_MUST_DECODE, spec.name, None, "", str(error)[:200]) from error
    return table.rename_columns(list(spec.column_names)), header


def _check_values(
    con: duckdb.DuckDBPyConnection,
    spec: FileSpec,
    header: list[str],
    errors: BatchErrors,
    checks: list[tuple[str, str]],
) -> None:
    """One query says which columns hold a bad value; only those are listed, line by line."""
    firsts = ", ".join(
        f"min(line) FILTER (WHERE NOT coalesce({check}, false))" for _, check in checks
    )
    found = con.execute(f"SELECT {firsts} FROM raw").fetchall()[0]
    for (column, check), first_line in zip(checks, found, strict=True):
        if first_line is None or errors.full:
            continue
        bad = con.execute(
            f"SELECT line, {_quote(column)} FROM raw WHERE NOT coalesce({check}, false) "
            f"ORDER BY line LIMIT {errors.room + 1}"
        ).fetchall()
        for line, value in bad:
            errors.add(_value_error(spec, header, column, int(line), str(value)))


def _value_error(
    spec: FileSpec, header: list[str], column: str, line: int, text: str
) -> BatchError:
    """Name the rule one bad value broke: an identifier's own rule, else the type mismatch."""
    column_spec = next(c for c in spec.columns if c.name == column)
    rule, message = explain(column_spec, text)
    return BatchError(
        _IDENTIFIER_RULES.get(rule, Rule.VALUE_MUST_MATCH_TYPE),
        spec.name,
        line,
        column,
        f"{rule.value}: {message}" if rule in _IDENTIFIER_RULES else show_value(text),
        header.index(column) + 1,
    )


def _check_keys(
    con: duckdb.DuckDBPyConnection, spec: FileSpec, header: list[str], errors: BatchErrors
) -> None:
    """A repeated key names the line of each later occurrence.

    The common case (no repeats) costs one hash aggregate over a 64-bit hash of the key,
    half the cost of grouping the key's text. Equal hashes are only a suspicion (two keys
    may share one): the exact query over the key itself decides and finds the lines.
    """
    key = ", ".join(_quote(k) for k in spec.key)
    suspects = con.execute(
        f"SELECT count(*) FROM (SELECT hash({key}) AS h FROM raw GROUP BY h HAVING count(*) > 1)"
    ).fetchall()[0][0]
    if not suspects or errors.full:
        return
    repeated = con.execute(
        f"SELECT line FROM (SELECT line, row_number() OVER (PARTITION BY {key} "
        f"ORDER BY line) AS n FROM raw) WHERE n > 1 ORDER BY line LIMIT {errors.room + 1}"
    ).fetchall()
    for (line,) in repeated:
        errors.add(
            BatchError(
                Rule.KEY_MUST_BE_UNIQUE,
                spec.name,
                int(line),
                spec.key[0],
                ",".join(spec.key),
                header.index(spec.key[0]) + 1,
            )
        )


def _rejected(rule: Rule, file: str, line: int | None, column: str, detail: str) -> BatchRejected:
    return BatchRejected((BatchError(rule, file, line, column, detail),))
