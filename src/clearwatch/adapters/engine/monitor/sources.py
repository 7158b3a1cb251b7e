"""The stored files of a business date as Ibis tables, one per file kind, on any backend.

Each accepted package's file becomes rows tagged with the institution that sent it
(`broker_id` for broker files, `bank_id` for bank files, `csdc_id` for CSDC's). DuckDB and
Spark read the Parquet where it lies; PostgreSQL first loads it into tables of a scratch schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe

from clearwatch.adapters.columnar_keys import encrypted_footer
from clearwatch.adapters.files.csv_values import ARROW_TYPES
from clearwatch.domain.monitor.findings import EngineRequest, FilingRow, StoredPackageFile
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS, FileSpec
from clearwatch.domain.shared.kinds import PackageKind

# (attribute, package kind, file name, column naming the sender); `csdc_reserve` already names
# the broker each row is about, so CSDC's own id is kept apart as `csdc_id`.
SOURCE_FILES: tuple[tuple[str, PackageKind, str, str], ...] = (
    ("client_funds", PackageKind.BROKER_DAILY, "client_funds.csv", "broker_id"),
    ("broker_special", PackageKind.BROKER_DAILY, "special_accounts.csv", "broker_id"),
    ("broker_reserve", PackageKind.BROKER_DAILY, "settlement_reserve.csv", "broker_id"),
    ("fee_income", PackageKind.BROKER_DAILY, "fee_income.csv", "broker_id"),
    ("bank_balances", PackageKind.BANK_DAILY, "special_account_balances.csv", "bank_id"),
    ("bank_txns", PackageKind.BANK_DAILY, "special_account_transactions.csv", "bank_id"),
    ("depository", PackageKind.BANK_DAILY, "client_depository.csv", "bank_id"),
    ("actions", PackageKind.BANK_DAILY, "fund_actions.csv", "bank_id"),
    ("csdc_reserve", PackageKind.CSDC_DAILY, "settlement_reserve.csv", "csdc_id"),
)

FILINGS_SCHEMA = pa.schema(
    [
        (name, pa.string())
        for name in ("account_no", "bank_id", "broker_id", "purpose", "branch_region")
    ]
)


@dataclass(frozen=True)
class SourceTables:
    client_funds: ir.Table
    broker_special: ir.Table
    broker_reserve: ir.Table
    fee_income: ir.Table
    bank_balances: ir.Table
    bank_txns: ir.Table
    depository: ir.Table
    actions: ir.Table
    csdc_reserve: ir.Table
    filings: ir.Table


def source_key(kind: str, file_name: str) -> str:
    return f"{kind}/{file_name}"


def file_spec(kind: str, file_name: str) -> FileSpec:
    spec = PACKAGE_SPECS[kind].file(file_name)
    if spec is None:
        raise KeyError(f"{kind} has no file {file_name}")
    return spec


def stored_schema(kind: str, file_name: str, sender_column: str) -> pa.Schema:
    """The Parquet schema of a stored file, with the sender column in front."""
    spec = file_spec(kind, file_name)
    fields = [pa.field(sender_column, pa.string())]
    fields += [pa.field(c.name, ARROW_TYPES[c.value_type]) for c in spec.columns]
    return pa.schema(fields)


def filings_table(filings: Sequence[FilingRow]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "account_no": f.account_no,
                "bank_id": f.bank_id,
                "broker_id": f.broker_id,
                "purpose": f.purpose,
                "branch_region": f.branch_region,
            }
            for f in filings
        ],
        schema=FILINGS_SCHEMA,
    )


Reader = Callable[[str, str, pa.Schema, tuple[StoredPackageFile, ...]], ir.Table]


def build_sources(request: EngineRequest, read: Reader, filings: ir.Table) -> SourceTables:
    """One table per file kind: every sender's file, tagged, in one relation."""
    tables: dict[str, ir.Table] = {}
    for attribute, kind, file_name, sender in SOURCE_FILES:
        sources = request.sources.get(source_key(kind, file_name), ())
        tables[attribute] = read(attribute, sender, stored_schema(kind, file_name, sender), sources)
    return SourceTables(filings=filings, **tables)


def tagged_arrow(
    sender: str,
    schema: pa.Schema,
    sources: tuple[StoredPackageFile, ...],
    decryption: pe.FileDecryptionProperties | None = None,
) -> pa.Table:
    """All files of one kind as one Arrow table with the sender column (for loading);
    `decryption` reads an encrypted store's files."""
    parts = []
    for source in sources:
        # A store being encrypted in place holds plaintext objects for a while.
        keyed = decryption if decryption is not None and encrypted_footer(source.uri) else None
        table = pq.read_table(source.uri, decryption_properties=keyed)
        table = table.add_column(
            0, sender, pa.array([source.institution_id] * len(table), pa.string())
        )
        parts.append(table.select(schema.names).cast(schema))
    return pa.concat_tables(parts) if parts else schema.empty_table()
