"""An encrypted store's objects as an Ibis table on DuckDB, for both engines.

The scan is SQL (`columnar_keys.duckdb_parquet_scan`: the key, and no filter pushed into it)
made a temporary view, which Ibis reads as it reads its own `read_parquet` views. Ibis's
`sql` cannot be used instead: on DuckDB 2 it fails to describe a query (it calls the removed
`fetch_arrow_table`).

An object's row count is read from its footer by pyarrow (`rows_of_objects`): DuckDB's
`parquet_file_metadata` takes no key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import ibis.expr.types as ir
import pyarrow.parquet as pq
from pyarrow import fs

from clearwatch.adapters.columnar_keys import DataKey, duckdb_parquet_scan


def read_encrypted_parquet(
    con: Any, uris: Sequence[str], key: DataKey, *, filename: bool = False
) -> ir.Table:
    """`uris` (the key registered on `con` by `DataKey.register_in_duckdb`) as one table."""
    name = f"cw_encrypted_{uuid.uuid4().hex[:12]}"
    scan = duckdb_parquet_scan(uris, key, filename=filename)
    con.con.execute(f'CREATE TEMPORARY VIEW "{name}" AS SELECT * FROM {scan}')
    table: ir.Table = con.table(name)
    return table


def rows_of_objects(uris: Sequence[str], key: DataKey) -> dict[str, int]:
    """Each object's rows, from its footer, decrypted with `key` (a plaintext object of a store
    being encrypted in place is read as it is). Reads no page of data."""
    decryption = key.scan_decryption()
    counted = {}
    for uri in uris:
        filesystem, path = (
            fs.FileSystem.from_uri(uri) if "://" in uri else (fs.LocalFileSystem(), uri)
        )
        with filesystem.open_input_file(path) as source:
            footer = pq.ParquetFile(source, decryption_properties=decryption).metadata
            counted[uri] = footer.num_rows
    return counted
