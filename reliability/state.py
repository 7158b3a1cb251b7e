"""What a store holds, as plain data two runs can be compared by, and the checks it must pass.

`inspect_store` opens the store as the next command would (which is when a crashed command's
leftovers must go), then reads:

- `state`: every business table row by row (surrogate keys dropped, references replaced by
  the natural key of the row they point to), the columnar objects, and the bytes of every
  output file (end-of-day outputs, day reports) — what must equal a clean run's;
- `checks`: `audit verify --data`, `broker check` for every broker and date, and the orphans
  left (temporary files of any writer, in the columnar store or beside any file).

Logs of attempts are compared for what they prove, not row by row: a killed command leaves its
own audit records (the audit is verified instead), a started end-of-day step that never
completed, or the rejection of a package it submitted (a second attempt is a second rejection
record, one BATCH_ERROR all the same).

Deliveries likewise: a killed delivery round leaves claims without an outcome, retried by the
next round once past their lease (later, by business time, than the clean run's round). So
the outbox is compared row by row, its events by their outcomes only (each delivery's
`delivered` or `parked`, with its detail, not when or by which claim), the inbox without the
moment of filing, and the recipients' documents byte by byte (`deliveries/` is an output).
`checks["deliveries"]` holds at any instant, a kill's included: no delivery recorded delivered
twice, an inbox message for exactly the inbox deliveries recorded delivered, both documents on
the shelf for each documents delivery recorded delivered, one audit record per delivered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Table, inspect, select

from clearwatch.adapters.db.schema import metadata
from clearwatch.bootstrap import Application
from clearwatch.services.audit.anchor import verify_anchored_audit
from clearwatch.services.backoffice.books_check import check_books_committed

# Verified, not compared: a killed command's records stay, and rightly so.
NOT_COMPARED = frozenset({"audit_log"})
# Logs of attempts: compared as the set of distinct rows (one per distinct attempt outcome).
DISTINCT_ONLY = frozenset({"monitor_package_rejections"})
# A row's natural key, standing in for its surrogate key wherever another row points at it.
NATURAL_KEYS: Mapping[str, tuple[str, ...]] = {
    "bo_batches": ("broker_id", "batch_id"),
    "bo_batch_files": ("broker_id", "role", "sha256", "applied"),
    "bo_entries": ("idempotency_key",),
    "monitor_packages": ("institution_id", "kind", "business_date", "sequence"),
    "monitor_runs": ("business_date", "result_version"),
    "monitor_reporting_occurrences": ("institution_id", "category", "business_date"),
    "monitor_deliveries": ("delivery_key", "channel"),
}
# References that are not declared as foreign keys: (table, column) → the table pointed at.
UNDECLARED_REFERENCES: Mapping[tuple[str, str], str] = {
    ("bo_batch_files", "duplicate_of_file_pk"): "bo_batch_files",
}
OUTPUT_DIRECTORIES = ("out", "reports", "deliveries")
# A delivery's outcomes: what a killed round and its retry must end with, as a clean round did.
DELIVERY_OUTCOMES = frozenset({"delivered", "parked"})
DELIVERED_AUDIT_ACTION = "monitor.delivery.delivered"
# A package's signed audit head is an attestation of its moment (the log's size and tree head
# when the package was written), like the audit log itself: a killed and re-run command may
# sign another, equally true one. So it is verified (audit verify), and compared for what it
# belongs to, not byte by byte: the manifest without it, the kept head without its figures.
AUDIT_HEAD_FIELD = "audit_head"
ATTESTATION_COLUMNS: Mapping[str, frozenset[str]] = {
    "monitor_audit_heads": frozenset(
        {"seq", "tree_head", "chain_head", "made_at", "frontier_json", "signature"}
    ),
}
# When a retried delivery was filed: a round after a kill runs past the claims' lease.
MOMENT_COLUMNS: Mapping[str, frozenset[str]] = {"monitor_inbox": frozenset({"delivered_at"})}
# Names a crashed writer leaves: columnar `.parquet.part`, owner-only files' `.tmp`, `.partial`.
TEMPORARY_NAME = re.compile(r"(\.part|\.tmp|\.partial)$")

Rows = list[list[str]]


def inspect_store(app: Application, *, dates: Iterable[date]) -> dict[str, Any]:
    """Open the store as the next command would, then read its state and run its checks."""
    columnar_root = Path(app.settings.columnar_root)
    app.columnar  # noqa: B018 -- opening the store is the "next start" that removes orphans
    app.remove_orphaned_uploads()  # and the API's start, those of uploads killed mid-way
    app.delivery_context()  # and the delivery worker's, the documents a killed round left
    return {
        "state": {
            "tables": table_rows(app),
            "objects": _objects(columnar_root),
            "outputs": _outputs(app.settings.home),
        },
        "checks": {
            "audit": _audit(app),
            "books": _books(app, dates),
            "orphans": orphans(app.settings.home, columnar_root),
            "deliveries": delivery_problems(app),
        },
    }


def table_rows(app: Application) -> dict[str, Rows]:
    """Each business table's rows, sorted, as text; comparable across two stores."""
    present = set(inspect(app.engine).get_table_names())
    with app.engine.connect() as connection:
        naturals = {
            name: _natural_map(connection, metadata.tables[name])
            for name in NATURAL_KEYS
            if name in present
        }
        dumped: dict[str, Rows] = {}
        for table in metadata.sorted_tables:
            if table.name in present and table.name not in NOT_COMPARED:
                rows = connection.execute(select(table)).mappings().all()
                dumped[table.name] = _comparable(table, rows, naturals)
    return dumped


def _natural_map(connection: Any, table: Table) -> dict[str, str]:
    pk = _surrogate(table)
    if pk is None:
        return {}
    columns = NATURAL_KEYS[table.name]
    return {
        str(row[pk]): "/".join(str(row[c]) for c in columns)
        for row in connection.execute(select(table)).mappings()
    }


def _surrogate(table: Table) -> str | None:
    """The table's generated key (an autoincrement integer), which two runs may number apart."""
    column = table.autoincrement_column
    return None if column is None else column.name


def _comparable(
    table: Table, rows: Iterable[Mapping[Any, Any]], naturals: Mapping[str, Mapping[str, str]]
) -> Rows:
    if table.name == "bo_eod_steps":
        # The step log proves which steps completed; a started step a kill cut short is an
        # attempt, and a completion's detail says what that attempt found (already posted).
        return sorted(
            [str(r["broker_id"]), str(r["business_date"]), str(r["step"])]
            for r in rows
            if r["event"] == "completed"
        )
    if table.name == "monitor_delivery_events":
        delivery = naturals.get("monitor_deliveries", {})
        return sorted(
            [delivery.get(str(r["delivery_id"]), "?"), str(r["event"]), _shelved(r["detail_json"])]
            for r in rows
            if r["event"] in DELIVERY_OUTCOMES
        )
    surrogate = _surrogate(table)
    pointed = {
        column.name: next(iter(column.foreign_keys)).column.table.name
        for column in table.columns
        if column.foreign_keys
    }
    pointed |= {c: t for (name, c), t in UNDECLARED_REFERENCES.items() if name == table.name}
    attested = ATTESTATION_COLUMNS.get(table.name, frozenset()) | MOMENT_COLUMNS.get(
        table.name, frozenset()
    )
    names = [c.name for c in table.columns if c.name != surrogate and c.name not in attested]
    out = []
    for row in rows:
        values = []
        for name in names:
            value = None if row[name] is None else str(row[name])
            target = pointed.get(name)
            if value is not None and target is not None and target in naturals:
                value = naturals[target].get(value, f"dangling:{value}")
            values.append("∅" if value is None else value)
        out.append(values)
    if table.name in DISTINCT_ONLY:
        out = [list(t) for t in {tuple(v) for v in out}]
    return sorted(out)


def _objects(columnar_root: Path) -> list[str]:
    """The columnar store's published objects (content-addressed: a re-run writes the same)."""
    if not columnar_root.is_dir():
        return []
    return sorted(
        p.relative_to(columnar_root).as_posix()
        for p in columnar_root.rglob("*")
        if p.is_file() and p.parent.name != "tmp"
    )


def _outputs(home: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in OUTPUT_DIRECTORIES:
        root = home / name
        if root.is_dir():
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                found[path.relative_to(home).as_posix()] = _output_digest(path)
    return found


def _output_digest(path: Path) -> str:
    """The file's sha256; a package manifest's without its signed audit head."""
    if path.name != "manifest.json":
        return _sha256(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _sha256(path)
    if not isinstance(document, dict) or document.pop(AUDIT_HEAD_FIELD, None) is None:
        return _sha256(path)
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def orphans(home: Path, columnar_root: Path) -> list[str]:
    """Files a crashed writer left behind: anything in the columnar `tmp/` or the API's
    `uploads/`, or a temporary name anywhere under the home."""
    left = {p for p in (columnar_root / "tmp").glob("*") if p.is_file()}
    # The API's uploads are removed when their request ends: one left is a killed request's.
    left |= {p for p in (home / "uploads").rglob("*") if p.is_file()}
    left |= {p for p in home.rglob("*") if p.is_file() and TEMPORARY_NAME.search(p.name)}
    return sorted(p.relative_to(home).as_posix() for p in left)


def _shelved(detail_json: str) -> str:
    """A delivery's detail with its documents named from the shelf (`recipient/name`), not by
    the path of the store's home, which is another folder in each run."""
    detail = json.loads(detail_json)
    return json.dumps(
        {k: "/".join(Path(v).parts[-2:]) if k in ("pdf", "xlsx") else v for k, v in detail.items()},
        sort_keys=True,
    )


def delivery_problems(app: Application) -> list[str]:
    """Each way the store breaks "delivered once, as recorded", per delivery and channel."""
    tables = metadata.tables
    if "monitor_deliveries" not in set(inspect(app.engine).get_table_names()):
        return []
    events, inbox, audit = (
        tables[name] for name in ("monitor_delivery_events", "monitor_inbox", "audit_log")
    )
    with app.engine.connect() as connection:
        outbox = connection.execute(select(tables["monitor_deliveries"])).mappings().all()
        outcomes = connection.execute(
            select(events.c.delivery_id, events.c.detail_json).where(events.c.event == "delivered")
        ).all()
        filed = Counter(
            (str(recipient), str(key))
            for recipient, key in connection.execute(
                select(inbox.c.recipient, inbox.c.delivery_key)
            )
        )
        audited = Counter(
            row[0]
            for row in connection.execute(
                select(audit.c.object_ref).where(audit.c.action == DELIVERED_AUDIT_ACTION)
            )
        )
    delivered = Counter(delivery_id for delivery_id, _ in outcomes)
    shelved = [json.loads(detail) for _, detail in outcomes]
    shelf = app.settings.home / "deliveries"
    problems = [
        f"{path}: a delivered document is not on the shelf"
        for detail in shelved
        for kind, path in detail.items()
        if kind in ("pdf", "xlsx") and not shelf.joinpath(*Path(path).parts[-2:]).is_file()
    ]
    for row in outbox:
        name = f"{row['delivery_key'][-24:]} {row['channel']}"
        times = delivered[row["delivery_id"]]
        if times > 1:
            problems.append(f"{name}: recorded delivered {times} times")
        audits = audited[f"delivery:{row['delivery_key']}:{row['channel']}"]
        if audits != times:
            problems.append(f"{name}: {audits} audit records for {times} deliveries")
        if row["channel"] == "inbox":
            messages = filed[(row["recipient"], row["delivery_key"])]
            if messages != times:
                problems.append(f"{name}: {messages} inbox messages for {times} deliveries")
    return problems


def _audit(app: Application) -> dict[str, Any]:
    report = verify_anchored_audit(anchor=app.audit_anchor(), data=True)
    return {
        "intact": report.intact,
        "findings": [str(finding) for finding in report.findings],
        "records": report.chain.records_checked,
        "signed_seq": 0 if report.latest is None else report.latest.checkpoint.seq,
    }


def _books(app: Application, dates: Iterable[date]) -> list[str]:
    """Every breach of the books' invariants, for every broker with batches and every date."""
    with app.engine.connect() as connection:
        table = metadata.tables["bo_batches"]
        brokers = sorted({row[0] for row in connection.execute(select(table.c.broker_id))})
    breaches = []
    for broker in brokers:
        for day in sorted(set(dates)):
            found = check_books_committed(uow=app.read_uow(), broker_id=broker, as_of=day)
            breaches += [f"{broker} {day}: {breach.describe()}" for breach in found]
    return breaches


def differences(
    expected: Mapping[str, Any], actual: Mapping[str, Any], limit: int = 6
) -> list[str]:
    """What differs between two `state`s, the first few rows of each table or listing."""
    found: list[str] = []
    for section in ("tables", "objects", "outputs"):
        want, got = expected[section], actual[section]
        if isinstance(want, dict):
            for key in sorted(set(want) | set(got)):
                if want.get(key) != got.get(key):
                    found.append(f"{section}.{key}: {_sample(want.get(key), got.get(key), limit)}")
        elif want != got:
            found.append(f"{section}: {_sample(want, got, limit)}")
    return found


def _sample(want: Any, got: Any, limit: int) -> str:
    if not isinstance(want, list) or not isinstance(got, list):
        return f"expected {str(want)[:200]}, found {str(got)[:200]}"
    want_set = {repr(item) for item in want}
    got_set = {repr(item) for item in got}
    missing = sorted(want_set - got_set)[:limit]
    extra = sorted(got_set - want_set)[:limit]
    counts = f"{len(want)} rows expected, {len(got)} found"
    return f"{counts}; missing {missing}; extra {extra}"
