"""Build monitor packages and registry directories for tests from CSV text.

`write_package` computes each file's sha256 and row count so the manifest is right unless a
test overrides it on purpose.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from clearwatch.domain.shared.file_schema import PACKAGE_SPECS

MANIFEST_FORMAT = "clearwatch.package/1"


def count_rows(text: str) -> int:
    """Data rows of CSV text (records after the header), as the monitor counts them."""
    return max(0, sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1)


def write_package(
    directory: Path,
    kind: str,
    institution_id: str,
    business_date: date | str,
    files: Mapping[str, str],
    sequence: int = 1,
    encoding: str = "utf-8",
    *,
    fill_missing: bool = True,
    bom: bool = False,
    manifest_overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Write `files` (name → CSV text) encoded as `encoding` plus a correct manifest.

    Files of the kind not given are written with their header only when `fill_missing`.
    Returns the package directory.
    """
    directory.mkdir(parents=True, exist_ok=True)
    contents = dict(files)
    if fill_missing:
        for file_spec in PACKAGE_SPECS[kind].files:
            contents.setdefault(file_spec.name, ",".join(file_spec.column_names) + "\n")
    entries = []
    for name, text in contents.items():
        data = text.encode(encoding)
        if bom and encoding == "utf-8":
            data = b"\xef\xbb\xbf" + data
        (directory / name).write_bytes(data)
        entries.append(
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": count_rows(text)}
        )
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "institution_id": institution_id,
        "business_date": str(business_date),
        "sequence": sequence,
        "encoding": encoding,
        "files": entries,
    }
    manifest.update(manifest_overrides or {})
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return directory


def csv_text(header: str, rows: Iterable[Iterable[str]], newline: str = "\n") -> str:
    """CSV text from a header line and rows of fields (quoted where needed)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return buffer.getvalue()


DEFAULT_INSTITUTIONS = (
    ("B001", "broker", "示例证券", "CN-SH"),
    ("B002", "broker", "深圳示例证券", "CITY-SZ"),
    ("K001", "bank", "示例银行", "CN-BJ"),
    ("K002", "bank", "第二银行", "CN-GD"),
    ("C001", "csdc", "中国结算", "CN-BJ"),
)
DEFAULT_SPECIAL_ACCOUNTS = (
    ("SA-001", "K001", "B001", "client_settlement", "CN-SH", "2026-01-05"),
    ("SA-002", "K001", "B001", "credit_guarantee", "CN-SH", "2026-01-05"),
    ("SA-003", "K002", "B002", "client_settlement", "CITY-SZ", "2026-02-02"),
)


def write_registry(
    directory: Path,
    institutions: Iterable[Iterable[str]] = DEFAULT_INSTITUTIONS,
    special_accounts: Iterable[Iterable[str]] = DEFAULT_SPECIAL_ACCOUNTS,
    holidays: Iterable[date | str] | None = None,
) -> Path:
    """Write registry CSV files (UTF-8); holidays.csv only when `holidays` is given."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "institutions.csv").write_text(
        csv_text("institution_id,kind,name,region", institutions), encoding="utf-8"
    )
    (directory / "special_accounts.csv").write_text(
        csv_text("account_no,bank_id,broker_id,purpose,branch_region,filed_on", special_accounts),
        encoding="utf-8",
    )
    if holidays is not None:
        (directory / "holidays.csv").write_text(
            csv_text("date", [[str(day)] for day in holidays]), encoding="utf-8"
        )
    return directory
