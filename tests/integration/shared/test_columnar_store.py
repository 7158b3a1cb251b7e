"""The columnar store: content-addressed Parquet, written once, checked on read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clearwatch.adapters.columnar import ColumnarIntegrityError, ParquetStore
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS


def sample(rows: int) -> pa.Table:
    return pa.table(
        {"fund_account": [f"F{i:06d}" for i in range(rows)], "balance": list(range(rows))}
    )


def test_an_object_is_named_by_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path / "col"))
    digest = store.put_table(sample(10))
    stored = Path(store.uri(digest))
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    assert store.read_table(digest).equals(sample(10))


def test_the_same_content_is_written_once(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path / "col"))
    first = store.put_table(sample(10))
    mtime = Path(store.uri(first)).stat().st_mtime_ns
    assert store.put_table(sample(10)) == first
    assert Path(store.uri(first)).stat().st_mtime_ns == mtime
    assert not any((tmp_path / "col" / "tmp").iterdir())


def test_streamed_batches_make_one_object(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path / "col"))
    table = sample(1000)
    with store.writer(table.schema) as writer:
        for batch in table.to_batches(max_chunksize=100):
            writer.write(batch)
    assert store.read_table(writer.digest).num_rows == 1000


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path / "col"))
    table = sample(5)
    with pytest.raises(RuntimeError), store.writer(table.schema) as writer:
        writer.write(table)
        raise RuntimeError("crash mid-write")
    assert not list((tmp_path / "col").rglob("*.parquet"))
    assert not list((tmp_path / "col").rglob("*.part"))


def test_a_tampered_object_fails_its_hash_check(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path / "col"))
    digest = store.put_table(sample(10))
    path = Path(store.uri(digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ColumnarIntegrityError, match=digest):
        store.read_table(digest)


def test_only_the_named_few_valued_columns_are_dictionary_encoded(tmp_path: Path) -> None:
    store = ParquetStore(str(tmp_path / "col"))
    table = sample(1000).append_column("bank_id", pa.array(["K001", "K002"] * 500))
    digest = store.put_table(table, dictionary_columns=["bank_id"])
    row_group = pq.ParquetFile(store.uri(digest)).metadata.row_group(0)
    encodings = {
        row_group.column(i).path_in_schema: row_group.column(i).encodings
        for i in range(row_group.num_columns)
    }
    assert "RLE_DICTIONARY" in encodings["bank_id"]
    assert "RLE_DICTIONARY" not in encodings["fund_account"]
    assert store.read_table(digest).equals(table)


def test_a_submitted_client_funds_file_names_its_few_valued_columns() -> None:
    spec = PACKAGE_SPECS["broker_daily"].file("client_funds.csv")
    assert spec is not None
    assert spec.few_valued_columns == ("account_kind", "bank_id")
