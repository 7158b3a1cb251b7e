"""A package as the monitor stored it: identity, receipt facts, and its files' Parquet digests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class StoredPackage:
    package_id: int
    kind: str  # broker_daily | bank_daily | csdc_daily
    institution_id: str
    business_date: date
    sequence: int
    content_sha256: str  # identity of the content: the manifest's file hashes, canonicalised
    received_at: datetime
    late: bool
    supersedes_package_id: int | None
    # file name in the package (e.g. "client_funds.csv") → sha256 of its Parquet object in the
    # columnar store; every file of the kind is present (a file may have no rows).
    parquet_digests: Mapping[str, str]
    row_counts: Mapping[str, int]
