"""Vectorised text columns and file writing: fen and prices as exact strings, CSV, manifests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

Int64Array = npt.NDArray[np.int64]

_WRITE_OPTIONS = pa_csv.WriteOptions(include_header=True, quoting_style="none")


def fen_text(fen: Int64Array | Sequence[int]) -> pa.Array:
    """Integer fen as `-?digits.dd` strings, exactly as `domain.money.format_fen` prints them."""
    values = np.asarray(fen, dtype=np.int64)
    magnitude = np.abs(values)
    whole = pa.array(magnitude // 100).cast(pa.string())
    cents = pc.utf8_lpad(pa.array(magnitude % 100).cast(pa.string()), width=2, padding="0")
    text = pc.binary_join_element_wise(whole, cents, ".")
    sign = pa.array(np.where(values < 0, "-", ""))
    return pc.binary_join_element_wise(sign, text, "")


def price_text(price_milli: Int64Array, decimals: npt.NDArray[np.int8]) -> pa.Array:
    """Prices in thousandths of a yuan as text with 2 decimals (stocks) or 3 (funds)."""
    values = np.asarray(price_milli, dtype=np.int64)
    whole = pa.array(values // 1000).cast(pa.string())
    milli = pc.utf8_lpad(pa.array(values % 1000).cast(pa.string()), width=3, padding="0")
    centi = pc.utf8_lpad(pa.array((values % 1000) // 10).cast(pa.string()), width=2, padding="0")
    fraction = pc.if_else(pa.array(decimals == 3), milli, centi)
    return pc.binary_join_element_wise(whole, fraction, ".")


def prefixed(prefix: str, numbers: Int64Array, width: int) -> pa.Array:
    """Identifiers such as `T20261120000001`: a prefix and a zero-padded number."""
    digits = pc.utf8_lpad(
        pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def take_text(labels: Sequence[str] | pa.Array, indices: npt.NDArray[Any]) -> pa.Array:
    """Map integer codes to their labels, vectorised."""
    table = labels if isinstance(labels, pa.Array) else pa.array(list(labels), pa.string())
    return table.take(pa.array(np.asarray(indices, dtype=np.int64)))


def write_csv(path: Path, columns: Mapping[str, pa.Array | Sequence[Any]]) -> int:
    """Write one RFC 4180 CSV file (header, comma; no value here needs quoting); returns rows."""
    arrays = {
        name: value if isinstance(value, pa.Array | pa.ChunkedArray) else pa.array(value)
        for name, value in columns.items()
    }
    table = pa.table(arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    pa_csv.write_csv(table, path, write_options=_WRITE_OPTIONS)
    return int(table.num_rows)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, document: object) -> None:
    """Deterministic JSON: fixed key order as built, UTF-8, two-space indent, final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_manifest(directory: Path, header: Mapping[str, object], rows: Mapping[str, int]) -> None:
    """`manifest.json` naming each written file with its sha256 and row count."""
    files = [
        {"name": name, "sha256": sha256_of(directory / name), "rows": count}
        for name, count in rows.items()
    ]
    write_json(directory / "manifest.json", {**header, "files": files})


def clock_text(day_text: str, seconds: Int64Array) -> pa.Array:
    """`YYYY-MM-DDTHH:MM:SS+08:00` for seconds after midnight, Asia/Shanghai."""
    values = np.asarray(seconds, dtype=np.int64)

    def two(part: Int64Array) -> pa.Array:
        return pc.utf8_lpad(pa.array(part).cast(pa.string()), width=2, padding="0")

    hours, minutes, secs = two(values // 3600), two(values // 60 % 60), two(values % 60)
    hms = pc.binary_join_element_wise(hours, minutes, secs, ":")
    return pc.binary_join_element_wise(pa.scalar(f"{day_text}T"), hms, pa.scalar("+08:00"), "")
