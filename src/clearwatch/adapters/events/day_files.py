"""The event stream of simulated or recorded days, read from their files.

A directory is a market (`sim.json` and one directory per business date, as `clearwatch sim
day` writes), one day (`broker/`, `packages/`, `nodes/`), or one inbox of batch directories (as
`clearwatch broker eod --inbox` reads). Each delivered batch is an event and so is each of its
records, keyed by the delivery (`B001/2026-11-17/trading.retry1/A…`): reading the same
directory twice gives the same keys, and a file delivered twice gives two deliveries, which is
what the watch must see. A delivery whose files do not match its manifest is refused, as the
importer refuses it, and gives no event.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.money import parse_fen
from clearwatch.domain.watch.detectors import TOTAL_PREFIX
from clearwatch.domain.watch.events import EventKind, WatchEvent

MANIFEST = "manifest.json"
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Batches arrive static first, then trading, then bank; a retried delivery after its original.
KIND_ORDER = {"static": 0, "trading": 1, "bank": 2}
# Records that carry no time of their own take their delivery's nominal time.
STATIC_AT = time(8, 30)
BATCH_AT = time(15, 30)
CSDC_AT = time(18, 30)
MILLI_PER_FEN = 10


@dataclass
class DayFilesSource:
    """Events of every day under `root`, in business-date order; `refused` lists deliveries
    whose files did not match their manifest."""

    root: Path
    refused: list[str] = field(default_factory=list)

    def events(self) -> Iterator[WatchEvent]:
        if _batch_kind(self.root) in KIND_ORDER:  # one delivered batch: the importer's feed
            yield from self._batch(self.root)
            return
        for day_dir in day_directories(self.root):
            yield from self._day(day_dir)

    def _day(self, day_dir: Path) -> Iterator[WatchEvent]:
        broker_root = day_dir / "broker"
        inboxes = (
            sorted(p for p in broker_root.iterdir() if p.is_dir()) if broker_root.is_dir() else []
        )
        if not inboxes and _batches(day_dir):
            inboxes = [day_dir]  # the directory is itself one inbox
        for inbox in inboxes:
            for batch in _batches(inbox):
                yield from self._batch(batch)
        for nodes in sorted((day_dir / "nodes").glob("*/node_funds.csv")):
            yield from _node_events(nodes)
        for package in sorted((day_dir / "packages").glob(f"*/{MANIFEST}")):
            yield from self._package(package.parent)

    def _verified(self, directory: Path) -> dict[str, Any] | None:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        for entry in manifest.get("files", []):
            path = directory / entry["name"]
            if not path.is_file() or _sha256(path) != entry["sha256"]:
                self.refused.append(f"{directory}: {entry['name']} does not match its manifest")
                return None
        return manifest  # type: ignore[no-any-return]

    def _batch(self, directory: Path) -> Iterator[WatchEvent]:
        manifest = self._verified(directory)
        if manifest is None:
            return
        delivery = Delivery.of(directory, manifest)
        files = {entry["name"]: entry["sha256"] for entry in manifest["files"]}
        adjustments = _table(directory / "cash_adjustments.csv")
        yield delivery.event(files, adjustments)
        if "opening.csv" in files:
            yield from delivery.opening_reserves(_table(directory / "opening.csv"))
        if adjustments is not None:
            yield from delivery.adjustments(adjustments)
        if "executions.csv" in files:
            yield from delivery.executions(_table(directory / "executions.csv"))
        if "bank_transfers.csv" in files:
            yield from delivery.transfers(_table(directory / "bank_transfers.csv"))

    def _package(self, directory: Path) -> Iterator[WatchEvent]:
        manifest = self._verified(directory)
        if manifest is None:
            return
        day = date.fromisoformat(manifest["business_date"])
        institution = str(manifest["institution_id"])
        if manifest["kind"] == "csdc_daily":
            yield from _reserves(directory / "settlement_reserve.csv", day, institution)
        elif manifest["kind"] == "bank_daily":
            owners = _owners(directory / "special_account_balances.csv")
            yield from _movements(
                directory / "special_account_transactions.csv", day, institution, owners
            )
            yield from _fund_actions(directory / "fund_actions.csv", day, institution)


def day_directories(root: Path) -> list[Path]:
    """The business-date directories of a market, or the directory itself."""
    dated = sorted(p for p in root.iterdir() if p.is_dir() and _DATE_DIR.match(p.name))
    return dated or [root]


def _batch_kind(directory: Path) -> str | None:
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return None
    kind = json.loads(manifest.read_text(encoding="utf-8")).get("kind")
    return kind if isinstance(kind, str) else None


def _batches(inbox: Path) -> list[Path]:
    found = [p.parent for p in inbox.glob(f"*/{MANIFEST}")]
    batches = []
    for path in found:
        kind = _batch_kind(path)
        if kind in KIND_ORDER:
            batches.append((KIND_ORDER[kind], path.name, path))
    return [path for _, _, path in sorted(batches)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _table(path: Path) -> pa.Table | None:
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        header = handle.readline().decode("utf-8").strip().split(",")
    names = [name.strip('"') for name in header]
    return pa_csv.read_csv(
        path,
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
    )


def _columns(table: pa.Table, *names: str) -> list[list[Any]]:
    return [table[name].to_pylist() for name in names]


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


def price_milli(text: str) -> int:
    """A price of up to three decimals in thousandths of a yuan, exactly."""
    whole, _, decimals = text.partition(".")
    return int(whole) * 1000 + int((decimals + "000")[:3])


@dataclass(frozen=True)
class Delivery:
    """One delivered batch: who, which day, and under which name it arrived."""

    broker_id: str
    business_date: date
    name: str
    kind: str
    batch_id: str
    digest: str  # sha256 of the manifest: the batch's bytes, files included by their hashes

    @classmethod
    def of(cls, directory: Path, manifest: dict[str, Any]) -> Delivery:
        return cls(
            broker_id=str(manifest["broker_id"]),
            business_date=date.fromisoformat(manifest["business_date"]),
            name=directory.name,
            kind=str(manifest["kind"]),
            batch_id=str(manifest["batch_id"]),
            digest=_sha256(directory / MANIFEST),
        )

    @property
    def prefix(self) -> str:
        return f"{self.broker_id}/{self.business_date.isoformat()}/{self.name}"

    def event(self, files: dict[str, str], adjustments: pa.Table | None) -> WatchEvent:
        """The delivery itself, with the day's totals per adjustment reason of its file."""
        totals: dict[str, int] = {}
        if adjustments is not None:
            for amount, reason in zip(*_columns(adjustments, "amount", "reason"), strict=True):
                totals[reason] = totals.get(reason, 0) + parse_fen(amount)
        extra = [("batch_id", self.batch_id), ("sha256", self.digest), ("delivery", self.name)]
        if "cash_adjustments.csv" in files:
            extra.append(("adjustments_sha256", files["cash_adjustments.csv"]))
        extra += [
            (f"{TOTAL_PREFIX}{reason}", str(total)) for reason, total in sorted(totals.items())
        ]
        return WatchEvent(
            key=self.prefix,
            kind=EventKind.BATCH_RECEIVED,
            business_date=self.business_date,
            broker_id=self.broker_id,
            account="",
            amount_fen=0,
            occurred_at=_at(self.business_date, STATIC_AT if self.kind == "static" else BATCH_AT),
            detail=self.kind,
            extra=tuple(extra),
        )

    def opening_reserves(self, table: pa.Table | None) -> Iterator[WatchEvent]:
        assert table is not None
        at = _at(self.business_date, STATIC_AT)
        for account, asset, quantity in zip(
            *_columns(table, "account", "asset", "quantity"), strict=True
        ):
            if account.startswith("RESERVE.") and asset == "CASH":
                yield self._reserve(account, parse_fen(quantity), at)

    def _reserve(self, account: str, balance_fen: int, at: datetime) -> WatchEvent:
        return WatchEvent(
            key=f"{self.prefix}/{account}",
            kind=EventKind.RESERVE_BALANCE,
            business_date=self.business_date,
            broker_id=self.broker_id,
            account=account,
            amount_fen=balance_fen,
            occurred_at=at,
            detail=account.removeprefix("RESERVE."),
        )

    def adjustments(self, table: pa.Table) -> Iterator[WatchEvent]:
        at = _at(self.business_date, BATCH_AT)
        for adjustment_id, account, amount, reason in zip(
            *_columns(table, "adjustment_id", "fund_account", "amount", "reason"), strict=True
        ):
            yield WatchEvent(
                key=f"{self.prefix}/{adjustment_id}",
                kind=EventKind.CASH_ADJUSTMENT,
                business_date=self.business_date,
                broker_id=self.broker_id,
                account=account,
                amount_fen=parse_fen(amount),
                occurred_at=at,
                detail=reason,
            )

    def executions(self, table: pa.Table | None) -> Iterator[WatchEvent]:
        assert table is not None
        names = ("exec_id", "market", "security", "side", "quantity", "price", "fund_account")
        columns = _columns(table, *names, "executed_at")
        prefix, day, broker = self.prefix, self.business_date, self.broker_id
        for exec_id, market, security, side, quantity, price, account, at in zip(
            *columns, strict=True
        ):
            # Trade amount half-up to the fen (backoffice.md §3), in integers only.
            amount = (int(quantity) * price_milli(price) + MILLI_PER_FEN // 2) // MILLI_PER_FEN
            yield WatchEvent(
                key=f"{prefix}/{market}.{exec_id}",
                kind=EventKind.EXECUTION,
                business_date=day,
                broker_id=broker,
                account=account,
                amount_fen=amount if side == "S" else -amount,
                occurred_at=datetime.fromisoformat(at),
                counterparty=security,
                detail=market,
            )

    def transfers(self, table: pa.Table | None) -> Iterator[WatchEvent]:
        assert table is not None
        names = ("transfer_id", "fund_account", "direction", "amount", "bank_id", "booked_at")
        rows = sorted(zip(*_columns(table, *names), strict=True), key=lambda row: row[5])
        for transfer_id, account, direction, amount, bank_id, booked_at in rows:
            fen = parse_fen(amount)
            yield WatchEvent(
                key=f"{self.prefix}/{transfer_id}",
                kind=EventKind.BANK_TRANSFER,
                business_date=self.business_date,
                broker_id=self.broker_id,
                account=account,
                amount_fen=fen if direction == "in" else -fen,
                occurred_at=datetime.fromisoformat(booked_at),
                counterparty=bank_id,
                detail=direction,
            )


def _owners(path: Path) -> dict[str, str]:
    table = _table(path)
    if table is None:
        return {}
    return dict(zip(*_columns(table, "account_no", "broker_id"), strict=True))


def _movements(path: Path, day: date, bank_id: str, owners: dict[str, str]) -> Iterator[WatchEvent]:
    table = _table(path)
    if table is None:
        return
    names = ("txn_id", "account_no", "booked_at", "direction", "amount")
    columns = _columns(table, *names, "counterparty_account", "counterparty_kind")
    for txn_id, account, booked_at, direction, amount, other, other_kind in sorted(
        zip(*columns, strict=True), key=lambda row: row[2]
    ):
        fen = parse_fen(amount)
        yield WatchEvent(
            key=f"{bank_id}/{day.isoformat()}/{txn_id}",
            kind=EventKind.SPECIAL_ACCOUNT_MOVEMENT,
            business_date=day,
            broker_id=owners.get(account, ""),
            account=account,
            amount_fen=fen if direction == "in" else -fen,
            occurred_at=datetime.fromisoformat(booked_at),
            counterparty=other,
            detail=other_kind,
        )


def _reserves(path: Path, day: date, institution: str) -> Iterator[WatchEvent]:
    table = _table(path)
    if table is None:
        return
    for broker_id, market, balance in zip(
        *_columns(table, "broker_id", "market", "balance"), strict=True
    ):
        yield WatchEvent(
            key=f"{institution}/{day.isoformat()}/{broker_id}/RESERVE.{market}",
            kind=EventKind.RESERVE_BALANCE,
            business_date=day,
            broker_id=broker_id,
            account=f"RESERVE.{market}",
            amount_fen=parse_fen(balance),
            occurred_at=_at(day, CSDC_AT),
            detail=market,
        )


def _node_events(path: Path) -> Iterator[WatchEvent]:
    """A broker's trading nodes' funds per client: each start or takeover, its central figure
    and the special account holding the client's money. A file written before that column
    names none, and its rows feed only the per-client comparison."""
    table = _table(path)
    assert table is not None
    names = ("event_id", "broker_id", "node_id", "event", "fund_account", "available")
    columns = _columns(table, *names, "central_available", "at")
    specials = (
        table["special_account"].to_pylist()
        if "special_account" in table.column_names
        else [None] * table.num_rows
    )
    for (event_id, broker, node, what, account, available, central, at), special in zip(
        zip(*columns, strict=True), specials, strict=True
    ):
        moment = datetime.fromisoformat(at)
        extra = [("central", str(parse_fen(central)))]
        if special:  # an empty cell, as a missing column, is an unknown special account
            extra.append(("special_account", special))
        yield WatchEvent(
            key=f"{broker}/{moment.date().isoformat()}/nodes/{event_id}",
            kind=EventKind.NODE_FUNDS,
            business_date=moment.date(),
            broker_id=broker,
            account=account,
            amount_fen=parse_fen(available),
            occurred_at=moment,
            counterparty=node,
            detail=what,
            extra=tuple(extra),
        )


def _fund_actions(path: Path, day: date, bank_id: str) -> Iterator[WatchEvent]:
    """A bank's freezes and deductions on clients' funds, at the package's nominal time."""
    table = _table(path)
    if table is None:
        return
    names = ("action_id", "broker_id", "fund_account", "action", "amount", "initiator")
    for action_id, broker_id, account, action, amount, initiator in zip(
        *_columns(table, *names), strict=True
    ):
        yield WatchEvent(
            key=f"{bank_id}/{day.isoformat()}/{action_id}",
            kind=EventKind.FUND_ACTION,
            business_date=day,
            broker_id=broker_id,
            account=account,
            amount_fen=-parse_fen(amount),
            occurred_at=_at(day, BATCH_AT),
            counterparty=initiator,
            detail=action,
        )
