"""Valid monitor packages and back-office batches, built by Hypothesis, as bytes to corrupt.

A `Bundle` is a package or batch before it is written: its manifest as a document and each
file's bytes. The strategies here build valid ones from the file schemas the readers check
(`PACKAGE_SPECS`, `BATCH_KINDS`): every value in the grammar, keys unique, batches that the
books accept (clients and cash set up by `reliability.fuzz`). `{case}` and `{date}` in a
bundle stand for the case's number and its business date, filled in when it is written, so
that each case is new to the store (a batch id, a package's institution and date) and two
cases never collide.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

from clearwatch.domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from clearwatch.domain.audit.merkle import Frontier
from clearwatch.domain.audit.witness import PublishedHead
from clearwatch.domain.backoffice.batch_files import BATCH_FORMAT, BATCH_KINDS
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS, FileSpec, ValueType

PACKAGE_FORMAT = "clearwatch.package/1"
CASE, DATE = "{case}", "{date}"
# The monitor's registry the harness loads: who may submit which kind.
SUBMITTERS = {
    "broker_daily": ("B001", "B002"),
    "bank_daily": ("K001", "K002"),
    "csdc_daily": ("C001",),
}
# The back office the harness sets up: clients of B001 at bank K001, each with cash and shares.
BROKER, BANK, CLIENTS = "B001", "K001", tuple(f"F{n:04d}" for n in range(1, 11))
CLIENT_CASH, CLIENT_SHARES, SECURITY = "100000000.00", 10_000_000, "SH.600000"
ROWS_MAX = 6


@dataclass
class Bundle:
    """A package or a batch as bytes, before it is written to a directory."""

    target: str  # "package" or "batch"
    kind: str
    manifest: dict[str, Any]
    files: dict[str, bytes]
    manifest_bytes: bytes | None = None  # set when a corruption writes the manifest raw
    # What to put in place of a file instead of its bytes: "symlink", "directory", "fifo".
    specials: dict[str, str] = field(default_factory=dict)
    extra_files: dict[str, bytes] = field(default_factory=dict)  # present, not listed

    @property
    def encoding(self) -> str:
        value = self.manifest.get("encoding")
        return value if value in ("utf-8", "gb18030") else "utf-8"


def csv_bytes(header: tuple[str, ...], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def count_rows(data: bytes, encoding: str) -> int:
    """Data rows as the readers count them (records after the header); -1 if unreadable."""
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        return max(0, sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1)
    except (UnicodeDecodeError, csv.Error, LookupError):
        return -1


def file_entry(name: str, data: bytes, encoding: str) -> dict[str, Any]:
    rows = count_rows(data, encoding)
    return {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": max(rows, 0)}


def _money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


MONEY = st.integers(-(10**12), 10**12).map(_money)
POSITIVE_MONEY = st.integers(1, 10**12).map(_money)
IDENT = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_", min_size=1, max_size=12)
CHINESE = st.text(alphabet="示例证券银行结算客户资金", min_size=1, max_size=6)
TIMESTAMP = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(
    lambda hm: f"2026-11-20T{hm[0]:02d}:{hm[1]:02d}:00+08:00"
)
VALUES = {
    ValueType.TEXT: st.one_of(IDENT, CHINESE),
    ValueType.OPTIONAL_TEXT: st.one_of(st.just(""), IDENT),
    ValueType.MONEY: MONEY,
    ValueType.POSITIVE_MONEY: POSITIVE_MONEY,
    ValueType.DATE: st.dates().map(lambda d: d.isoformat()),
    ValueType.TIMESTAMP: TIMESTAMP,
    ValueType.QUANTITY: st.integers(1, 10**6).map(str),
    ValueType.SIGNED_QUANTITY: st.integers(-(10**6), 10**6).map(str),
    ValueType.PRICE: st.integers(1, 10**6).map(lambda m: f"{m // 1000}.{m % 1000:03d}"),
    ValueType.RATE: st.sampled_from(["", "0.00025", "0.0002", "0.0003"]),
}


@st.composite
def spec_rows(draw: st.DrawFn, spec: FileSpec) -> list[list[str]]:
    """Valid rows of a package file: each value in the grammar, the key unique by row."""
    enum_keys = [c for c in spec.columns if c.name in spec.key and c.value_type is ValueType.ENUM]
    limit = min([ROWS_MAX] + [len(c.choices) for c in enum_keys])
    count = draw(st.integers(0, limit))
    orders = {c.name: draw(st.permutations(c.choices)) for c in enum_keys}
    rows = []
    for index in range(count):
        row = []
        for column in spec.columns:
            if column.name in orders:
                row.append(orders[column.name][index])
            elif column.value_type is ValueType.ENUM:
                row.append(draw(st.sampled_from(column.choices)))
            elif column.name in spec.key:  # a text key: unique by construction
                row.append(f"{draw(IDENT)}{index}")
            else:
                row.append(draw(VALUES[column.value_type]))
        rows.append(row)
    return rows


@st.composite
def valid_packages(draw: st.DrawFn) -> Bundle:
    """A package any registered submitter of its kind could send: every file, valid rows."""
    kind = draw(st.sampled_from(sorted(PACKAGE_SPECS)))
    encoding = draw(st.sampled_from(["utf-8", "gb18030"]))
    files = {
        spec.name: csv_bytes(spec.column_names, draw(spec_rows(spec)), encoding)
        for spec in PACKAGE_SPECS[kind].files
    }
    institution = draw(st.sampled_from(SUBMITTERS[kind]))
    manifest = {
        "format": PACKAGE_FORMAT,
        "kind": kind,
        "institution_id": institution,
        "business_date": DATE,
        "sequence": 1,
        "encoding": encoding,
        "files": [],  # filled in when written, from the files as they end up
    }
    if PACKAGE_SPECS[kind].carries_audit_head and draw(st.booleans()):
        # The day's signed audit head, as the back office's end of day puts it in.
        manifest["audit_head"] = signed_head(institution, draw(st.integers(1, 40)))
    return Bundle("package", kind, manifest, files)


def audit_key(institution_id: str) -> Ed25519PrivateKey:
    """One fixed key per broker: the monitor pins a broker's first key, and an uncorrupted
    head must always be accepted, so every case of a broker signs with the same key."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"fuzz-audit-key:{institution_id}".encode()).digest()
    )


def signed_head(institution_id: str, seq: int, *, key: Ed25519PrivateKey | None = None) -> Any:
    """A valid signed head (`PublishedHead.document`) over `seq` made-up records."""
    frontier = Frontier.empty()
    for record in range(1, seq + 1):
        frontier.append(hashlib.sha256(f"record {record}".encode()).digest())
    checkpoint = Checkpoint(
        seq=seq,
        tree_head=frontier.root().hex(),
        chain_head=hashlib.sha256(f"chain {seq}".encode()).hexdigest(),
        made_at="2026-11-20T10:00:00+00:00",  # signed: never a placeholder filled in later
        frontier=tuple(zip(frontier.sizes, (h.hex() for h in frontier.hashes), strict=True)),
    )
    key = key or audit_key(institution_id)
    signed = SignedCheckpoint(checkpoint, key.sign(checkpoint.statement()).hex())
    return PublishedHead(signed, public_key_hex(key)).document()


def public_key_hex(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def _timestamp() -> st.SearchStrategy[str]:
    return st.integers(0, 86399).map(
        lambda s: f"{DATE}T{s // 3600:02d}:{s // 60 % 60:02d}:00+08:00"
    )


@st.composite
def _executions(draw: st.DrawFn) -> list[list[str]]:
    rows = []
    for index in range(draw(st.integers(0, ROWS_MAX))):
        side = draw(st.sampled_from(["B", "S"]))
        quantity = draw(st.integers(1, 10)) * 100
        price = f"{draw(st.integers(1, 20))}.{draw(st.integers(0, 999)):03d}"
        client = draw(st.sampled_from(CLIENTS))
        rows.append(
            [
                "E" + CASE + f"-{index}",
                "SH",
                "600000",
                side,
                str(quantity),
                price,
                client,
                "O" + CASE + f"-{index}",
                draw(_timestamp()),
            ]
        )
    return rows


@st.composite
def _adjustments(draw: st.DrawFn) -> list[list[str]]:
    reasons = ["cash_dividend", "lending_dividend_deduction", "interest", "fee_refund"]
    return [
        [
            "A" + CASE + f"-{i}",
            draw(st.sampled_from(CLIENTS)),
            _money(draw(st.integers(-(10**6), 10**6))),
            draw(st.sampled_from(reasons)),
        ]
        for i in range(draw(st.integers(0, ROWS_MAX)))
    ]


@st.composite
def _transfers(draw: st.DrawFn) -> list[list[str]]:
    return [
        [
            "X" + CASE + f"-{i}",
            draw(st.sampled_from(CLIENTS)),
            draw(st.sampled_from(["in", "out"])),
            _money(draw(st.integers(1, 10**7))),
            BANK,
            draw(_timestamp()),
        ]
        for i in range(draw(st.integers(0, ROWS_MAX)))
    ]


@st.composite
def _static(draw: st.DrawFn) -> dict[str, list[list[str]]]:
    """A new broker's first day: clients, one special account and opening cash that balances."""
    cash = [draw(st.integers(0, 10**10)) for _ in range(draw(st.integers(1, ROWS_MAX)))]
    clients = [
        [f"S{i}", f"CS{i}", "normal", BANK, draw(VALUES[ValueType.RATE]), "active"]
        for i in range(len(cash))
    ]
    opening = [[f"S{i}", "CASH", _money(fen)] for i, fen in enumerate(cash)]
    opening.append(["SA" + CASE, "CASH", _money(sum(cash))])
    return {
        "clients.csv": clients,
        "special_accounts.csv": [["SA" + CASE, BANK, "client_settlement"]],
        "opening.csv": opening,
    }


@st.composite
def valid_batches(draw: st.DrawFn) -> Bundle:
    """A batch the books accept: B001's trading or bank day, or a new broker's static day."""
    kind = draw(st.sampled_from(["trading", "bank", "static"]))
    encoding = draw(st.sampled_from(["utf-8", "gb18030"]))
    if kind == "trading":
        tables = {
            "executions.csv": draw(_executions()),
            "cash_adjustments.csv": draw(_adjustments()),
        }
    elif kind == "bank":
        tables = {"bank_transfers.csv": draw(_transfers())}
    else:
        tables = draw(_static())
    spec = BATCH_KINDS[kind]
    files = {}
    for name, rows in tables.items():
        file_spec = spec.file(name)
        assert file_spec is not None  # the tables above are named after the spec's files
        files[name] = csv_bytes(file_spec.column_names, rows, encoding)
    manifest = {
        "format": BATCH_FORMAT,
        "kind": kind,
        "broker_id": "SB" + CASE if kind == "static" else BROKER,
        "business_date": DATE,
        "batch_id": f"FZ-{kind}-{CASE}",
        "encoding": encoding,
        "files": [],
    }
    return Bundle("batch", kind, manifest, files)
