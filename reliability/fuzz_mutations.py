"""Corruptions of a valid bundle: bytes, encodings, quoting, sizes, manifests, the file system.

A mutation is data — `(name, parameters)` drawn by Hypothesis — so that a failing case shrinks
to the fewest and plainest corruptions. `apply` runs one on a `Bundle`; one that does not fit
the bundle any more (a cell of a file an earlier corruption made undecodable) changes nothing.
File corruptions run before the manifest is re-hashed (when the case asks for it, so that the
corruption reaches the parser instead of the hash check); manifest corruptions after.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any, NamedTuple

from hypothesis import strategies as st

from reliability.fuzz_inputs import Bundle, audit_key, signed_head


class Mutation(NamedTuple):
    family: str
    params: tuple[Any, ...]


NASTY_BYTES = (
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\r",
    b"\n",
    b"\r\n",
    b'"',
    b",",
    b'""',
    b'"\n"',
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe2\x80\xa8",
    b"\x81\x30",
    b"\x1a",
    b"\\",
    b"\t",
    b"\x84\x31\x95\x33",
)
NASTY_VALUES = (
    "",
    " ",
    "0x10.00",
    "0XFF.FF",
    "1e3",
    "1E3",
    "1.0",
    "1.000",
    "+1.00",
    "-0.00",
    " 1.00",
    "1.00 ",
    "1,000.00",
    "１.００",
    "٣.٠٠",
    "1.00\u200b",
    "NaN",
    "inf",
    "-Infinity",
    "99999999999999999999.99",
    "9999999999999999.99",
    "-9223372036854775808.00",
    "92233720368547758.07",
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    '=HYPERLINK("http://x","y")',
    "\t1.00",
    "1.00\r",
    "a\x00b",
    "\u202e",
    "../../etc/passwd",
    "0",
    "-1",
    "1.5",
    "９",
    "2026-02-30",
    "2026-11-20T10:00:00",
    "2026-11-20 10:00:00+08:00",
    "20261120",
    "2026-11-20T25:00:00+08:00",
    "2026-11-20T10:00:00+24:00",
    "NORMAL",
    "normal ",
    "B ",
    "b",
    "x" * 65,
    "1" * 40,
    "0.123456789",
    "1.2345",
    "0.",
    ".5",
    "-",
    "--1.00",
    "1..00",
)
NASTY_NAMES = (
    "../x.csv",
    "/etc/passwd",
    "",
    ".",
    "..",
    "manifest.json",
    "a\x00b.csv",
    "CLIENT_FUNDS.CSV",
    "x" * 300,
    "sub/file.csv",
    "unknown.csv",
    "con",
)
MANIFEST_FIELDS = (
    "format",
    "kind",
    "institution_id",
    "broker_id",
    "business_date",
    "sequence",
    "encoding",
    "files",
    "batch_id",
    "corrects_batch_id",
    "extra",
)
ODD_ENCODINGS = ("UTF-8", "utf8", "GBK", "gb2312", "ascii", "utf-16", "latin-1", "", "GB18030")
CLEAN_ONE_IN = 20
HUGE_CELL_CHARS = 200_000
MANY_ROWS = 2_000
HEAD_STYLES = ("add", "other_key", "signature", "seq", "tree_head", "frontier", "not_object")
MANIFEST_PAD_BYTES = 1024 * 1024 + 16  # past the manifest limit

FRACTION = st.floats(0.0, 1.0)
INDEX = st.integers(0, 50)
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(NASTY_VALUES),
    st.just([]),
    st.just({}),
    st.lists(st.integers(-3, 3), max_size=3),
    st.sampled_from(["utf-8", "gb18030", "2026-11-20"]),
)
CELL_VALUES = st.one_of(st.sampled_from(NASTY_VALUES), st.text(max_size=12))


def _op(name: str, *parts: st.SearchStrategy[Any]) -> st.SearchStrategy[Mutation]:
    return st.builds(Mutation, st.just(name), st.tuples(*parts))


LINE_STYLES = ("delete", "duplicate", "swap_header")
QUOTE_STYLES = ("wrap", "open", "newline", "doubled", "after")
COLUMN_STYLES = ("drop_header", "drop", "extra_header", "extra", "dup_header", "rename", "reorder")
SIZE_STYLES = (
    "empty",
    "header_only",
    "huge_cell",
    "many_rows",
    "blank_lines",
    "commas",
    "no_newline",
    "only_newlines",
)
ENCODING_STYLES = ("gb18030", "utf-8", "utf-16", "latin1", "bom", "bom_gb18030", "declare_other")
NEWLINE_STYLES = ("\r\n", "\r", "mixed")
ENTRY_FIELDS = ("name", "sha256", "rows", "extra")
ENTRIES_STYLES = ("drop", "duplicate", "add", "clear_keys")
RAW_STYLES = (
    "truncate",
    "array",
    "bom",
    "trailing",
    "duplicate_keys",
    "nan",
    "huge",
    "deep",
    "latin1",
    "empty",
    "null",
)
FS_STYLES = (
    "symlink",
    "symlink_zero",
    "directory",
    "fifo",
    "missing",
    "extra_file",
    "manifest_directory",
    "manifest_fifo",
    "manifest_symlink",
)


def _file_mutations() -> list[st.SearchStrategy[Mutation]]:
    """Corruptions of a file's bytes, its CSV, its encoding, its size, or what it is."""
    pick = st.sampled_from
    blobs = st.one_of(pick(NASTY_BYTES), st.binary(min_size=1, max_size=6))
    return [
        _op("flip", INDEX, FRACTION, st.integers(0, 7)),
        _op("insert", INDEX, FRACTION, blobs),
        _op("truncate", INDEX, FRACTION),
        _op("lines", INDEX, pick(LINE_STYLES), INDEX),
        _op("cell", INDEX, INDEX, INDEX, CELL_VALUES),
        _op("quote", INDEX, INDEX, INDEX, pick(QUOTE_STYLES)),
        _op("columns", INDEX, INDEX, pick(COLUMN_STYLES)),
        _op("size", INDEX, pick(SIZE_STYLES)),
        _op("encoding", INDEX, pick(ENCODING_STYLES)),
        _op("declare", pick(ODD_ENCODINGS)),
        _op("newlines", INDEX, pick(NEWLINE_STYLES)),
        _op("fs", INDEX, pick(FS_STYLES)),
    ]


def _manifest_mutations() -> list[st.SearchStrategy[Mutation]]:
    """Corruptions of the manifest: a field, a file entry, the list, or its raw bytes."""
    pick = st.sampled_from
    return [
        _op("set", pick(MANIFEST_FIELDS), JSON_VALUES),
        _op("delete", pick(MANIFEST_FIELDS)),
        _op("entry", INDEX, pick(ENTRY_FIELDS), JSON_VALUES),
        _op("entries", INDEX, pick(ENTRIES_STYLES), pick(NASTY_NAMES)),
        _op("raw", pick(RAW_STYLES)),
        _op("head", pick(HEAD_STYLES)),
    ]


def mutations() -> st.SearchStrategy[list[Mutation]]:
    """One to three corruptions, drawn from every family; none in one case out of
    `CLEAN_ONE_IN` (the valid inputs must pass, and pass cheaply enough to be rare)."""
    one = st.one_of(*_file_mutations(), *_manifest_mutations())
    corrupted = st.lists(one, min_size=1, max_size=3)
    # A middle value marks the clean cases: Hypothesis favours the ends of a range, and the
    # first branch of a `one_of`, far more than one in ten.
    clean = CLEAN_ONE_IN // 2
    return st.sampled_from(range(CLEAN_ONE_IN)).flatmap(
        lambda pick: st.just([]) if pick == clean else corrupted
    )


def _name(bundle: Bundle, index: int) -> str | None:
    names = sorted(bundle.files)
    return names[index % len(names)] if names else None


def _at(data: bytes, fraction: float) -> int:
    return min(len(data), int(len(data) * fraction))


def _bytes_op(bundle: Bundle, name: str, params: tuple[Any, ...]) -> None:
    target = _name(bundle, params[0])
    if target is None:
        return
    data = bundle.files[target]
    cut = _at(data, params[1])
    if name == "flip" and data:
        cut = min(cut, len(data) - 1)
        data = data[:cut] + bytes([data[cut] ^ (1 << params[2])]) + data[cut + 1 :]
    elif name == "insert":
        data = data[:cut] + params[2] + data[cut:]
    elif name == "truncate":
        data = data[:cut]
    bundle.files[target] = data


def _decoded(bundle: Bundle, target: str) -> list[list[str]] | None:
    try:
        text = bundle.files[target].decode(bundle.encoding)
        return list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error):
        return None


def _encode(bundle: Bundle, target: str, text: str) -> None:
    bundle.files[target] = text.encode(bundle.encoding, errors="replace")


def _write_rows(bundle: Bundle, target: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    _encode(bundle, target, buffer.getvalue())


def _rows_op(bundle: Bundle, name: str, params: tuple[Any, ...]) -> None:
    target = _name(bundle, params[0])
    rows = None if target is None else _decoded(bundle, target)
    if target is None or not rows:
        return
    if name == "lines":
        how, index = params[1], params[2] % len(rows)
        if how == "delete":
            del rows[index]
        elif how == "duplicate":
            rows.insert(index, list(rows[index]))
        else:
            rows[0], rows[index] = rows[index], rows[0]
    elif name == "cell":
        row = rows[params[1] % len(rows)]
        if row:
            row[params[2] % len(row)] = params[3]
    elif name == "columns":
        _columns(rows, params[1], params[2])
    _write_rows(bundle, target, rows)


def _columns(rows: list[list[str]], index: int, how: str) -> None:
    width = len(rows[0])
    if width == 0:
        return
    at = index % width
    header = rows[0]
    if how == "drop_header":
        del header[at]
    elif how == "drop":
        for row in rows:
            del row[at : at + 1]
    elif how == "extra_header":
        header.append("extra")
    elif how == "extra":
        for number, row in enumerate(rows):
            row.append("extra" if number == 0 else "x")
    elif how == "dup_header":
        header.append(header[at])
    elif how == "rename":
        header[at] = header[at].upper() + " "
    else:  # reorder: the same columns, another order (rows moved with the header)
        for row in rows:
            row[:] = row[at:] + row[:at]


def _quote_op(bundle: Bundle, params: tuple[Any, ...]) -> None:
    target = _name(bundle, params[0])
    rows = None if target is None else _decoded(bundle, target)
    if target is None or not rows:
        return
    line, style = params[1] % len(rows), params[3]
    row = rows[line]
    if not row:
        return
    col = params[2] % len(row)
    value = row[col]
    row[col] = {
        "wrap": f'"{value}"',
        "open": f'"{value}',
        "newline": f'"{value[:1]}\n{value[1:]}"',
        "doubled": f'"{value[:1]}""{value[1:]}"',
        "after": f'{value[:1]}"{value[1:]}',
    }[style]
    lines = [",".join(cells) if n == line else _csv_line(cells) for n, cells in enumerate(rows)]
    _encode(bundle, target, "\n".join(lines) + "\n")


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _size_op(bundle: Bundle, params: tuple[Any, ...]) -> None:
    target = _name(bundle, params[0])
    if target is None:
        return
    data, how = bundle.files[target], params[1]
    lines = data.split(b"\n")
    if how == "empty":
        data = b""
    elif how == "header_only":
        data = lines[0] + b"\n"
    elif how == "huge_cell":
        data = data.rstrip(b"\n") + b"," + b"9" * HUGE_CELL_CHARS + b"\n"
    elif how == "many_rows":
        last = next((line for line in reversed(lines) if line), b"")
        data = data + (last + b"\n") * MANY_ROWS
    elif how == "blank_lines":
        data = b"\n\n".join(lines)
    elif how == "commas":
        data = data + b"," * 1000 + b"\n"
    elif how == "no_newline":
        data = data.rstrip(b"\r\n")
    else:
        data = b"\n" * 50
    bundle.files[target] = data


def _encoding_op(bundle: Bundle, params: tuple[Any, ...]) -> None:
    target = _name(bundle, params[0])
    if target is None:
        return
    how, declared = params[1], bundle.encoding
    other = "gb18030" if declared == "utf-8" else "utf-8"
    try:
        text = bundle.files[target].decode(declared)
    except UnicodeDecodeError:
        text = None
    if how == "declare_other":
        bundle.manifest["encoding"] = other
    elif how == "bom":
        bundle.files[target] = b"\xef\xbb\xbf" + bundle.files[target]
    elif how == "bom_gb18030":
        bundle.files[target] = b"\x84\x31\x95\x33" + bundle.files[target]
    elif text is not None:
        codec = {"latin1": "latin-1", "utf-16": "utf-16"}.get(how, how)
        bundle.files[target] = (text + "é\n").encode(codec, errors="replace")


def _newlines_op(bundle: Bundle, params: tuple[Any, ...]) -> None:
    target = _name(bundle, params[0])
    if target is None:
        return
    lines = bundle.files[target].split(b"\n")
    if params[1] == "mixed":
        joined = b"".join(line + (b"\r\n" if n % 2 else b"\r") for n, line in enumerate(lines))
    else:
        joined = params[1].encode().join(lines)
    bundle.files[target] = joined


def _fs_op(bundle: Bundle, params: tuple[Any, ...]) -> None:
    target, how = _name(bundle, params[0]), params[1]
    if how == "extra_file":
        bundle.extra_files["unlisted.csv"] = b"a,b\n1,2\n"
    elif how.startswith("manifest_"):
        bundle.specials["manifest.json"] = how.removeprefix("manifest_")
    elif target is not None and how == "missing":
        del bundle.files[target]
    elif target is not None:
        bundle.specials[target] = how


FILE_OPS: dict[str, Callable[[Bundle, str, tuple[Any, ...]], None]] = {
    "flip": _bytes_op,
    "insert": _bytes_op,
    "truncate": _bytes_op,
    "lines": _rows_op,
    "cell": _rows_op,
    "columns": _rows_op,
    "quote": lambda bundle, _, params: _quote_op(bundle, params),
    "size": lambda bundle, _, params: _size_op(bundle, params),
    "encoding": lambda bundle, _, params: _encoding_op(bundle, params),
    "newlines": lambda bundle, _, params: _newlines_op(bundle, params),
    "fs": lambda bundle, _, params: _fs_op(bundle, params),
    "declare": lambda bundle, _, params: bundle.manifest.__setitem__("encoding", params[0]),
}


def apply_to_files(bundle: Bundle, mutation: Mutation) -> None:
    name, params = mutation
    if name in FILE_OPS:
        FILE_OPS[name](bundle, name, params)


def apply_to_manifest(bundle: Bundle, mutation: Mutation) -> None:
    """The manifest's corruptions; the raw ones replace the manifest's bytes whole."""
    name, params = mutation
    document = bundle.manifest
    entries = document.get("files")
    if name == "set":
        document[params[0]] = params[1]
    elif name == "delete":
        document.pop(params[0], None)
    elif name == "entry" and isinstance(entries, list) and entries:
        entry = entries[params[0] % len(entries)]
        if isinstance(entry, dict):
            entry[params[1]] = params[2]
    elif name == "entries" and isinstance(entries, list):
        _entries(entries, params)
    elif name == "raw":
        bundle.manifest_bytes = _raw_manifest(document, params[0])
    elif name == "head":
        _head(document, params[0])


def _head(document: dict[str, Any], how: str) -> None:
    """Corrupt the signed audit head (or give one to a package that has none)."""
    institution = str(document.get("institution_id"))
    head = document.get("audit_head")
    if not isinstance(head, dict) or how == "add":
        document["audit_head"] = signed_head(institution, 5)  # on a bank's: a field unknown
        return
    body = head["checkpoint"]
    if how == "other_key":  # validly signed, by a key the monitor has not pinned
        document["audit_head"] = signed_head(institution, body["seq"], key=audit_key("other"))
    elif how == "signature":
        head["signature_ed25519"] = ("0" if head["signature_ed25519"][0] != "0" else "1") + head[
            "signature_ed25519"][1:]  # fmt: skip
    elif how == "seq":
        body["seq"] = body["seq"] + 1  # the frontier no longer adds up to it
    elif how == "tree_head":
        body["tree_head"] = "f" * 64
    elif how == "frontier":
        body["frontier"] = body["frontier"][:-1] or [[1, "0" * 64]]
    elif how == "not_object":
        document["audit_head"] = "signed"


def _entries(entries: list[Any], params: tuple[Any, ...]) -> None:
    index, how, nasty = params
    if how == "add":
        entries.append({"name": nasty, "sha256": "0" * 64, "rows": 0})
    elif entries and how == "drop":
        del entries[index % len(entries)]
    elif entries and how == "duplicate":
        entries.append(entries[index % len(entries)])
    elif entries and how == "clear_keys":
        entries[index % len(entries)] = {}


def _raw_manifest(document: dict[str, Any], how: str) -> bytes:
    text = json.dumps(document, ensure_ascii=False)
    return {
        "truncate": text[: len(text) // 2].encode(),
        "array": ("[" + text + "]").encode(),
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "trailing": text.encode() + b" garbage",
        "duplicate_keys": ('{"kind": "broker_daily", ' + text[1:]).encode(),
        "nan": text.replace('"sequence": 1', '"sequence": NaN').encode(),
        "huge": text.encode() + b" " * MANIFEST_PAD_BYTES,
        "deep": b"[" * 100_000 + b"]" * 100_000,
        "latin1": text.encode("utf-8").replace(b'"kind"', b'"k\xe9nd"'),
        "empty": b"",
        "null": b"null",
    }[how]
