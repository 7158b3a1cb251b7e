"""Package files on disk: stream each CSV with pyarrow, check it vectorised, stage it as Parquet.

Nothing here builds a Python object per row. Each file is opened once and read once for the
hash, the header check and the parse alike (`once_read.py`), so what is stored is what was
hashed. Line numbers of bad values are found on the error path only, by a second pass over the
same descriptor that follows quoted fields across line breaks.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from queue import Full, Queue
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from clearwatch.adapters.crash_points import crash_point
from clearwatch.adapters.files.csv_values import arrow_schema, check_column, show_value
from clearwatch.adapters.files.once_read import HashedStream, NotRegularFile, OpenedFile
from clearwatch.domain.audit.witness import PublishedHead
from clearwatch.domain.monitor.intake import file_rows_max
from clearwatch.domain.monitor.manifest import MANIFEST_FILE_NAME, Manifest
from clearwatch.domain.monitor.rejections import ErrorCollector, PackageError, PackageRule
from clearwatch.domain.shared.file_format import manifest_bytes_max
from clearwatch.domain.shared.file_schema import FileSpec
from clearwatch.services.monitor.ports import StagedPackage
from clearwatch.services.shared.ports import ColumnarStore, ColumnarWriter

csv_block_bytes = 16 * 1024 * 1024  # pyarrow parses this much per batch
header_bytes_max = 1024 * 1024  # the header row is read from this first part of the file
batches_ahead_max = 2  # parsed batches waiting to be checked; bounds memory
writes_in_flight_max = 2  # converted batches waiting for the Parquet thread; bounds memory
_ARROW_ENCODING = {"utf-8": "utf8", "gb18030": "gb18030"}
_PYTHON_ENCODING = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}


class _Abandoned(Exception):
    """Raised inside the writers' stack so that no Parquet object of a bad package is published."""


class CsvPackageSource:
    """The package directory on a local filesystem."""

    def manifest_bytes(self, directory: str) -> bytes | None:
        try:
            with OpenedFile(Path(directory) / MANIFEST_FILE_NAME) as opened:
                return opened.stream().prefix(manifest_bytes_max + 1)
        except OSError:  # absent, a symbolic link or not a file: no manifest
            return None

    def file_sizes(self, directory: str) -> dict[str, int]:
        # Symbolic links are not files of the package: they could point anywhere.
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return {}
        return {
            entry.name: entry.stat(follow_symlinks=False).st_size
            for entry in entries
            if entry.is_file(follow_symlinks=False)
        }

    def not_regular(self, directory: str) -> set[str]:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return set()
        return {entry.name for entry in entries if not entry.is_file(follow_symlinks=False)}

    def file_sha256(self, directory: str, names: Sequence[str]) -> dict[str, str]:
        return {name: _sha256(Path(directory) / name) for name in names}

    def head_signature_valid(self, head: PublishedHead) -> bool:
        # Loaded here: most packages carry no head, and a submit starts without cryptography.
        from clearwatch.adapters.audit_checkpoints import ed25519_signature_valid

        signed = head.signed
        return ed25519_signature_valid(
            head.public_key, signed.signature, signed.checkpoint.statement()
        )

    def stage(
        self,
        *,
        directory: str,
        manifest: Manifest,
        names: Sequence[str],
        columnar: ColumnarStore,
        errors: ErrorCollector,
    ) -> StagedPackage:
        staged = StagedPackage()
        writers: dict[str, ColumnarWriter] = {}
        try:
            with ExitStack() as stack:
                for name in names:
                    spec = manifest.spec.file(name)
                    if spec is None:
                        continue
                    writer = stack.enter_context(
                        columnar.writer(
                            arrow_schema(spec), dictionary_columns=spec.few_valued_columns
                        )
                    )
                    writers[name] = writer
                    _stage_file(
                        Path(directory) / name, spec, manifest.encoding, errors, writer, staged
                    )
                _check_claims(manifest, staged, errors)
                if errors:
                    raise _Abandoned
        except _Abandoned:
            return staged
        staged.parquet_digests = {name: writer.digest for name, writer in writers.items()}
        crash_point("after_publish")
        return staged


def _stage_file(
    path: Path,
    spec: FileSpec,
    encoding: str,
    errors: ErrorCollector,
    writer: ColumnarWriter,
    staged: StagedPackage,
) -> None:
    """Read one file once: its rows checked and written, its sha256 from the same bytes."""
    try:
        opened = OpenedFile(path)
    except OSError as problem:
        # Listed as a regular file a moment ago: it was replaced during the submit.
        rule = PackageRule.FILE_MUST_BE_REGULAR
        if not isinstance(problem, NotRegularFile):
            rule = PackageRule.FILE_MUST_EXIST
        errors.add(PackageError(rule, f"{spec.name!r} changed during the submit", spec.name))
        return
    with opened:
        reader = _FileReader(opened, spec, encoding)
        staged.row_counts[spec.name] = reader.run(errors, writer)
        staged.file_sha256[spec.name] = reader.sha256


def _sha256(path: Path) -> str:
    """The file's sha256, or "" when it is no longer a regular file (matches no manifest)."""
    try:
        with OpenedFile(path) as opened:
            return opened.stream().hexdigest()
    except OSError:
        return ""


def _check_claims(manifest: Manifest, staged: StagedPackage, errors: ErrorCollector) -> None:
    """The manifest's hash and row count of each file must be what the file holds."""
    for name, actual in staged.file_sha256.items():
        entry = manifest.file(name)
        if entry is not None and entry.sha256 != actual:
            errors.add(
                PackageError(
                    PackageRule.MANIFEST_HASH_MUST_MATCH,
                    f"manifest says sha256 {entry.sha256}, the file hashes to {actual}",
                    file=name,
                )
            )
    for name, rows in staged.row_counts.items():
        entry = manifest.file(name)
        if entry is not None and rows >= 0 and entry.rows != rows:
            errors.add(
                PackageError(
                    PackageRule.MANIFEST_ROWS_MUST_MATCH,
                    f"manifest says {entry.rows} rows, the file holds {rows}",
                    file=name,
                )
            )


@dataclass
class _Pending:
    """A bad value found in a batch, located by record number until lines are known."""

    record: int  # 1 is the header
    code: PackageRule
    message: str
    column: str
    column_number: int


_KEY_HASHING = threading.local()


def _key_hashing_connection() -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB for hashing keys. Connecting costs tens of milliseconds,
    more than hashing a small file's keys, so it is made once per thread, not per file (a
    connection is not shared between threads, nor used again in a forked child)."""
    held = getattr(_KEY_HASHING, "held", None)
    if held is None or held[0] != os.getpid():
        held = (os.getpid(), duckdb.connect())
        _KEY_HASHING.held = held
    connection: duckdb.DuckDBPyConnection = held[1]
    return connection


@dataclass
class _FileReader:
    file: OpenedFile
    spec: FileSpec
    encoding: str
    sha256: str = ""  # of the bytes the parse read, known once `run` returns
    header: list[str] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    invalid_rows: int = 0
    key_hashes: list[np.ndarray[Any, Any]] = field(default_factory=list)
    header_only: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    def run(self, errors: ErrorCollector, writer: ColumnarWriter) -> int:
        """Check the file, writing converted batches while it is clean; return its rows (-1
        when it could not be counted). One pass reads every byte: the header, the parse and
        the hash in `sha256` all see the same bytes."""
        stream = self.file.stream()
        if not self._check_header(stream, errors):
            self.sha256 = stream.hexdigest()
            return -1
        if self.header_only:
            self.sha256 = stream.hexdigest()
            return 0
        # Parquet encoding runs in its own thread (pyarrow releases the GIL), overlapping the
        # parsing and checking of the next batch; at most `writes_in_flight_max` batches wait.
        with ThreadPoolExecutor(max_workers=1) as pipeline:
            in_flight: deque[Future[None]] = deque()
            try:
                rows = self._stream(stream, errors, writer, pipeline, in_flight)
            finally:
                for pending in in_flight:
                    pending.result()
        self.sha256 = stream.hexdigest()  # also hashes what a stopped parse left unread
        if rows < 0:
            return rows
        self._locate(errors)
        if not self.invalid_rows:
            self._check_keys(rows, errors)
        return rows + self.invalid_rows

    def _stream(
        self,
        stream: HashedStream,
        errors: ErrorCollector,
        writer: ColumnarWriter,
        pipeline: ThreadPoolExecutor,
        in_flight: deque[Future[None]],
    ) -> int:
        rows = 0
        try:
            for batch in _prefetched(self._open(stream)):
                converted = self._check_batch(batch, rows, errors)
                rows += batch.num_rows
                if rows > file_rows_max:
                    message = f"more than {file_rows_max} rows"
                    errors.add(self._error(PackageRule.FILE_ROWS_MUST_NOT_EXCEED_MAX, message))
                    return -1
                if converted is not None:
                    if len(in_flight) >= writes_in_flight_max:
                        in_flight.popleft().result()
                    in_flight.append(pipeline.submit(writer.write, converted))
        except UnicodeDecodeError:
            errors.add(self._decode_error())
            return -1
        except pa.ArrowInvalid as problem:
            errors.add(self._arrow_error(problem))
            return -1
        return rows

    def _open(self, stream: HashedStream) -> pacsv.CSVStreamingReader:
        return pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                encoding=_ARROW_ENCODING[self.encoding], block_size=csv_block_bytes
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=self._invalid_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in self.header},
                include_columns=[c for c in self.spec.column_names if c in self.header],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )

    def _invalid_row(self, row: object) -> str:
        self.invalid_rows += 1
        return "skip"  # found again, with its line, by the error-path scan

    def _check_header(self, stream: HashedStream, errors: ErrorCollector) -> bool:
        prefix = stream.prefix(header_bytes_max)
        try:
            decoder = codecs.getincrementaldecoder(_PYTHON_ENCODING[self.encoding])()
            text = decoder.decode(prefix, final=stream.at_end)
            header = next(csv.reader(io.StringIO(text, newline=""), strict=True), None)
        except UnicodeDecodeError:
            errors.add(self._decode_error())
            return False
        except csv.Error as problem:
            errors.add(self._error(PackageRule.CSV_MUST_BE_WELL_FORMED, str(problem), 1))
            return False
        if not header:
            errors.add(self._error(PackageRule.HEADER_MUST_EXIST, "the file has no header row", 1))
            return False
        if self.encoding == "gb18030":
            # One byte-order mark opens the file, and the parser drops exactly one (utf-8-sig
            # has dropped utf-8's already): any other U+FEFF is part of a name, for both.
            header[0] = header[0].removeprefix("\ufeff")
        self.header = header
        # A header and no line break after it is a file of no rows (RFC 4180), which pyarrow
        # cannot parse ("cannot infer number of columns").
        self.header_only = stream.at_end and "\n" not in text and "\r" not in text
        before = len(errors)
        for column_spec in self.spec.columns:
            # A column a later spec version added may be absent: an earlier version's file.
            if column_spec.name not in self.header and column_spec.default is None:
                errors.add(
                    self._error(
                        PackageRule.HEADER_COLUMN_MUST_BE_PRESENT, "missing", 1, column_spec.name
                    )
                )
        for position, column in enumerate(self.header, start=1):
            if column not in self.spec.column_names:
                errors.add(
                    self._error(
                        PackageRule.HEADER_COLUMN_MUST_BE_KNOWN, "unknown", 1, column, position
                    )
                )
            elif self.header.index(column) != position - 1:
                errors.add(
                    self._error(
                        PackageRule.HEADER_COLUMN_MUST_BE_UNIQUE, "twice", 1, column, position
                    )
                )
        return len(errors) == before and not errors.truncated

    def _error(
        self,
        code: PackageRule,
        message: str,
        line: int | None = None,
        column: str | None = None,
        column_number: int | None = None,
    ) -> PackageError:
        if column is not None and column_number is None and column in self.header:
            column_number = self.header.index(column) + 1
        return PackageError(code, message, self.name, line, column, column_number)

    def _check_batch(
        self, batch: pa.RecordBatch, row_base: int, errors: ErrorCollector
    ) -> pa.RecordBatch | None:
        """Check a batch; return it converted for storage while the package is still clean."""
        converted: list[pa.Array] = []
        bad_max = errors.room - len(self.pending)
        for column_spec in self.spec.columns:
            if column_spec.name not in self.header:
                # Absent from an earlier version's file: every row holds the default.
                default = pa.array([column_spec.default] * batch.num_rows, pa.string())
                converted.append(check_column(default, column_spec, bad_max=1).values)
                continue
            raw = batch.column(column_spec.name)
            checked = check_column(raw, column_spec, bad_max=max(bad_max, 1))
            converted.append(checked.values)
            position = self.header.index(column_spec.name) + 1
            for bad in checked.bad:
                self.pending.append(
                    _Pending(
                        row_base + bad.row + 2,
                        PackageRule(bad.code.value),  # the value grammar's rule, by its name
                        bad.message,
                        column_spec.name,
                        position,
                    )
                )
        if batch.num_rows:
            self.key_hashes.append(self._hash_keys(batch))
        if errors or self.pending or self.invalid_rows:
            return None  # the package will be rejected: storing more would be wasted work
        return pa.RecordBatch.from_arrays(converted, schema=arrow_schema(self.spec))

    def _locate(self, errors: ErrorCollector) -> None:
        """Turn record numbers into line numbers; report malformed rows (error path only)."""
        if not self.pending and not self.invalid_rows:
            return
        wanted = {pending.record for pending in self.pending}
        scan = _scan(self.file, self.encoding, len(self.header), wanted, errors.room + 1)
        if self.invalid_rows:
            # Skipped rows shift record numbers, so values are not located in such a file.
            for line, width in scan.width_problems:
                message = f"{width} fields where the header has {len(self.header)}"
                errors.add(self._error(PackageRule.ROW_MUST_HAVE_HEADER_WIDTH, message, line))
            if not scan.width_problems:
                problem = scan.problem or "malformed rows"
                errors.add(
                    self._error(PackageRule.CSV_MUST_BE_WELL_FORMED, problem, scan.problem_line)
                )
            return
        if scan.problem is not None:  # the values' own error hides a quote left open
            problem = scan.problem
            errors.add(self._error(PackageRule.CSV_MUST_BE_WELL_FORMED, problem, scan.problem_line))
        for pending in self.pending:
            located = scan.lines.get(pending.record)
            if located is None and scan.problem is not None:
                continue  # past the record that cannot be read, named above: not placeable
            errors.add(
                PackageError(
                    pending.code,
                    pending.message,
                    self.name,
                    located,
                    pending.column,
                    pending.column_number,
                )
            )

    def _read_keys(self) -> pa.Table | None:
        """The key columns again from the file (error path only); None when this second pass
        hashes differently from the parse, so the file was rewritten in place meanwhile."""
        options = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in self.header},
            include_columns=list(self.spec.key),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        stream = self.file.stream()
        table = pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(encoding=_ARROW_ENCODING[self.encoding]),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=options,
        )
        return table if stream.hexdigest() == self.sha256 else None

    def _hash_keys(self, batch: pa.RecordBatch) -> np.ndarray[Any, Any]:
        """64-bit hashes of each row's key (DuckDB's vectorised hash); 8 bytes a row to keep."""
        keys = pa.table({name: batch.column(name) for name in self.spec.key})
        relation = _key_hashing_connection().from_arrow(keys)
        hashed = relation.query("k", f"SELECT hash({_quoted(list(self.spec.key))}) AS h FROM k")
        if hashed is None:
            raise RuntimeError("DuckDB returned no relation for a SELECT")
        return np.asarray(hashed.to_arrow_table().column("h").to_numpy(), dtype=np.uint64)

    def _check_keys(self, rows: int, errors: ErrorCollector) -> None:
        """Sort the key hashes (fast on integers); only equal neighbours send us to the exact,
        string-by-string search, which also clears a mere hash collision."""
        hashes = np.sort(np.concatenate(self.key_hashes)) if self.key_hashes else None
        self.key_hashes.clear()
        if hashes is None or rows == 0 or errors.full or not (hashes[1:] == hashes[:-1]).any():
            return
        key_names = list(self.spec.key)
        keys = self._read_keys()
        if keys is None:
            message = "the file was rewritten while it was read; send it again"
            errors.add(self._error(PackageRule.FILE_MUST_NOT_CHANGE_WHILE_READ, message))
            return
        table = keys.append_column("record_no", pa.array(range(2, rows + 2), pa.int64()))
        duplicates = _duplicate_records(table, key_names, errors.room)
        wanted = set(duplicates) | {first for _, first in duplicates.values()}
        scan = _scan(self.file, self.encoding, len(self.header), wanted, 0)
        label = ",".join(key_names)
        for record, (key_text, first_record) in duplicates.items():
            first_line = scan.lines.get(first_record)
            errors.add(
                self._error(
                    PackageRule.KEY_MUST_BE_UNIQUE,
                    f"key ({label}) = {key_text} already appears on line {first_line}",
                    scan.lines.get(record),
                    key_names[0],
                )
            )

    def _decode_error(self) -> PackageError:
        line, column_number = _locate_decode_error(self.file, self.encoding)
        if not self.header:
            self.header = _lenient_header(self.file, self.encoding)
        column = None
        if column_number is not None and 0 < column_number <= len(self.header):
            column = self.header[column_number - 1]
        return PackageError(
            PackageRule.FILE_MUST_DECODE,
            f"bytes that are not valid {self.encoding}",
            self.name,
            line,
            column,
            column_number,
        )

    def _arrow_error(self, problem: pa.ArrowInvalid) -> PackageError:
        if "UTF8" in str(problem) or "utf8" in str(problem).lower():
            return self._decode_error()
        scan = _scan(self.file, self.encoding, len(self.header), set(), 0)
        return self._error(
            PackageRule.CSV_MUST_BE_WELL_FORMED, scan.problem or str(problem), scan.problem_line
        )


def _quoted(names: list[str], table: str = "") -> str:
    prefix = f"{table}." if table else ""
    return ", ".join(f'{prefix}"{name}"' for name in names)


def _rows(relation: duckdb.DuckDBPyRelation | None) -> list[tuple[Any, ...]]:
    if relation is None:
        raise RuntimeError("DuckDB returned no relation for a SELECT")
    return relation.fetchall()


def _prefetched(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Parse the next batches in a thread (pyarrow parses without the GIL) while the caller
    checks the current one; errors of the parser are raised in the caller, in order."""
    queue: Queue[pa.RecordBatch | BaseException | None] = Queue(maxsize=batches_ahead_max)
    stop = threading.Event()

    def put(item: pa.RecordBatch | BaseException | None) -> None:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return
            except Full:
                continue

    def produce() -> None:
        try:
            for batch in batches:
                put(batch)
                if stop.is_set():
                    return
            put(None)
        except BaseException as problem:  # handed to the consumer, who raises it
            put(problem)

    thread = threading.Thread(target=produce, name="csv-parse", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _duplicate_records(
    table: pa.Table, key_names: list[str], limit: int
) -> dict[int, tuple[str, int]]:
    """Record numbers of repeated keys → (the key shown, the record where it first appeared)."""
    joined = " AND ".join(f't."{name}" = d."{name}"' for name in key_names)
    with duckdb.connect() as connection:
        relation = connection.from_arrow(table)
        rows = _rows(
            relation.query(
                "t",
                f"""
            WITH d AS (
                SELECT {_quoted(key_names)}, min(record_no) AS first_record FROM t
                GROUP BY ALL HAVING count(*) > 1
            )
            SELECT t.record_no, d.first_record, {_quoted(key_names, "t")}
            FROM t JOIN d ON {joined}
            WHERE t.record_no > d.first_record
            ORDER BY t.record_no LIMIT {max(limit, 1)}
            """,
            )
        )
    return {
        int(row[0]): (",".join(show_value(str(v)) for v in row[2:]), int(row[1])) for row in rows
    }


@dataclass
class _Scan:
    lines: dict[int, int] = field(default_factory=dict)  # record number → its first line
    width_problems: list[tuple[int, int]] = field(default_factory=list)  # (line, fields)
    problem: str | None = None
    problem_line: int | None = None


def _scan(file: OpenedFile, encoding: str, width: int, wanted: set[int], width_max: int) -> _Scan:
    """Walk the records with Python's csv module (error path only): lines and malformed rows."""
    scan = _Scan()
    last_wanted = max(wanted, default=0)
    with file.text(_PYTHON_ENCODING[encoding], errors="replace") as handle:
        reader = csv.reader(handle, strict=True)
        previous_line = record = 0
        try:
            for record, fields in enumerate(reader, start=1):
                if record in wanted:
                    scan.lines[record] = previous_line + 1
                if record > 1 and fields and len(fields) != width:
                    scan.width_problems.append((previous_line + 1, len(fields)))
                previous_line = reader.line_num
                enough = len(scan.width_problems) >= width_max
                if record >= last_wanted and enough:
                    break
        except csv.Error as problem:
            # Where the record that cannot be read starts: an unterminated quote is only
            # noticed at the end of the file. The parser may have taken that record whole
            # (the quote running to the end), so a value in it is located there too.
            scan.problem, scan.problem_line = str(problem), previous_line + 1
            scan.lines.setdefault(record + 1, previous_line + 1)
    return scan


def _lenient_header(file: OpenedFile, encoding: str) -> list[str]:
    """The header names with undecodable bytes replaced, to name a column on the error path."""
    with file.text(_PYTHON_ENCODING[encoding], errors="replace") as handle:
        try:
            return next(csv.reader(handle), [])
        except csv.Error:
            return []


def _field_count(prefix: str) -> int:
    """Which field (1-based) the end of a line's prefix falls in, quotes respected if possible."""
    try:
        return max(len(next(csv.reader([prefix.replace("\r", " ")]), [])), 1)
    except csv.Error:
        return prefix.count(",") + 1


def _locate_decode_error(file: OpenedFile, encoding: str) -> tuple[int | None, int | None]:
    """The first line holding bytes the encoding rejects, and the field they are in."""
    codec = _PYTHON_ENCODING[encoding]
    with file.binary() as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode(codec if number == 1 else codec.removesuffix("-sig"))
            except UnicodeDecodeError as problem:
                prefix = raw[: problem.start].decode(codec, errors="replace")
                return number, _field_count(prefix)
    return None, None
