"""One money grammar: the package reader and the batch reader accept exactly the amounts that
`parse_fen` accepts, with the same fen; hex, locale forms, exponents, other digits, stray signs
and whitespace are refused by all three."""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.files.batch_reader import DuckDBBatchFileReader
from clearwatch.adapters.files.csv_package_reader import CsvPackageSource
from clearwatch.domain.backoffice.batch_files import CASH_ADJUSTMENTS
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.domain.monitor.manifest import parse_manifest
from clearwatch.domain.monitor.rejections import ErrorCollector
from clearwatch.domain.shared.money import MoneyFormatError, format_fen, parse_fen
from tests.support.packages import write_package

FILES = 40  # per reader, of up to VALUES_PER_FILE_MAX amounts: a few seconds in `make test`
VALUES_PER_FILE_MAX = 25  # below the cap on errors named per file
FEN_MAX = 10**18 - 1  # 16 integer digits and two of fen: the grammar's largest amount
FULL_WIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
NEAR_ALPHABET = "0123456789.-+ ,_eExX\t\u00a0\u3000\u2212'\""

valid = st.integers(-FEN_MAX, FEN_MAX).map(format_fen)
edges = st.sampled_from(
    ["0.00", "-0.00", "9999999999999999.99", "-9999999999999999.99", "10000000000000000.00",
     "0x10.00", "0XFF.FF", "0x1.00", "-0x10.00", "1,000.00", "1.000,00", "1 000.00", "1_000.00",
     "1e3", "1E3", "1.00e2", "1e+3.00", "+1.00", "--1.00", "\u22121.00", "1.0", "1.000", ".50",
     "1.", "1", "", " 1.00", "1.00 ", "\t1.00", "\u00a01.00", "1.00\u3000", "NaN", "inf",
     "-inf", "1.00-", "00001.00", "1.-5", "-.05", "0b1.00", "0o7.00", "１.００"]
)  # fmt: skip


@st.composite
def near_misses(draw: st.DrawFn) -> str:
    """A valid amount with one character inserted, removed or replaced."""
    text = draw(valid)
    at = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from(NEAR_ALPHABET))
    how = draw(st.sampled_from(["insert", "remove", "replace"]))
    if how == "insert":
        return text[:at] + char + text[at:]
    if how == "remove":
        return text[:at] + text[at + 1 :]
    return text[:at] + char + text[at + 1 :]


amounts = st.one_of(
    valid,
    edges,
    near_misses(),
    valid.map(lambda t: t.translate(FULL_WIDTH)),
    valid.map(lambda t: t.translate(ARABIC_INDIC)),
    st.from_regex(r"-?0[xX][0-9a-fA-F]{1,4}\.[0-9a-fA-F]{2}", fullmatch=True),
    st.from_regex(r"[+-]?[0-9]{1,4}(\.[0-9]{0,3})?[eE][+-]?[0-9]{1,2}", fullmatch=True),
    st.text(alphabet=NEAR_ALPHABET, max_size=24),
)


def _expected(texts: list[str]) -> tuple[set[int], list[int]]:
    """The lines `parse_fen` refuses (the header is line 1), and the fen of the others."""
    refused, fen = set(), []
    for line, text in enumerate(texts, start=2):
        try:
            fen.append(parse_fen(text))
        except MoneyFormatError:
            refused.add(line)
    return refused, fen


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([header, *rows])
    return buffer.getvalue()


def _batch_reader(directory: Path, texts: list[str]) -> tuple[set[int], list[int]]:
    """The lines the batch reader refuses, or the fen it read when it refused none."""
    path = directory / CASH_ADJUSTMENTS.name
    rows = [[f"A{n}", "F001", text, "interest"] for n, text in enumerate(texts)]
    data = _csv(list(CASH_ADJUSTMENTS.column_names), rows).encode()
    path.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        table = DuckDBBatchFileReader().read(
            path, CASH_ADJUSTMENTS, encoding="utf-8", rows=len(texts), sha256=sha256
        )
    except BatchRejected as rejected:
        return {r.line or 0 for r in rejected.rejections}, []
    return set(), [int(fen) for fen in table.column("amount").to_pylist()]


def _package_reader(directory: Path, texts: list[str]) -> tuple[set[int], list[int]]:
    """The lines the package reader refuses, or the fen it stored when it refused none."""
    rows = [[f"F{n}", "c", "normal", "K001", text] for n, text in enumerate(texts)]
    header = ["fund_account", "client_id", "account_kind", "bank_id", "balance"]
    package = write_package(
        directory / "package", "broker_daily", "B001", "2026-11-20",
        {"client_funds.csv": _csv(header, rows)}, fill_missing=False,
    )  # fmt: skip
    manifest = parse_manifest((package / "manifest.json").read_bytes()).manifest
    assert manifest is not None
    store = ParquetStore(str(directory / "columnar"))
    errors = ErrorCollector()
    staged = CsvPackageSource().stage(
        directory=str(package), manifest=manifest, names=["client_funds.csv"],
        columnar=store, errors=errors,
    )  # fmt: skip
    if errors:
        return {e.line or 0 for e in errors.sorted()}, []
    table = pq.read_table(store.uri(staged.parquet_digests["client_funds.csv"]))
    return set(), [int(fen) for fen in table.column("balance").to_pylist()]


# Many amounts per file: a read costs far more than a value, and each refused value is named
# by its line, so one file checks them all.
files = st.lists(amounts, min_size=1, max_size=VALUES_PER_FILE_MAX)


@settings(max_examples=FILES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files)
def test_the_batch_reader_accepts_exactly_the_grammar(texts: list[str]) -> None:
    refused, fen = _expected(texts)
    with tempfile.TemporaryDirectory() as directory:
        assert _batch_reader(Path(directory), texts) == (refused, [] if refused else fen)


@settings(max_examples=FILES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files)
def test_the_package_reader_accepts_exactly_the_grammar(texts: list[str]) -> None:
    refused, fen = _expected(texts)
    with tempfile.TemporaryDirectory() as directory:
        assert _package_reader(Path(directory), texts) == (refused, [] if refused else fen)
