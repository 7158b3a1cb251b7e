"""Writes back-office batch directories (`clearwatch.batch/1`) for tests and drills."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from clearwatch.domain.backoffice.batch_files import BATCH_KINDS

BROKER = "B001"
BANK = "K001"


def write_batch(
    directory: Path,
    *,
    kind: str,
    business_date: str,
    batch_id: str,
    files: Mapping[str, Sequence[Sequence[str]]],
    broker_id: str = BROKER,
    encoding: str = "utf-8",
    corrects_batch_id: str | None = None,
    headers: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """A batch directory with the given rows (header taken from the spec) and its manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, rows in files.items():
        spec = BATCH_KINDS[kind].file(name)
        header = (headers or {}).get(name) or (spec.column_names if spec else ("value",))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        data = buffer.getvalue().encode(encoding)
        (directory / name).write_bytes(data)
        entries.append(
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": len(rows)}
        )
    manifest: dict[str, object] = {
        "format": "clearwatch.batch/1",
        "kind": kind,
        "broker_id": broker_id,
        "business_date": business_date,
        "batch_id": batch_id,
        "encoding": encoding,
        "files": entries,
    }
    if corrects_batch_id:
        manifest["corrects_batch_id"] = corrects_batch_id
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    return directory


def static_batch(
    directory: Path,
    *,
    business_date: str = "2026-11-20",
    clients: Sequence[tuple[str, str]] = (("F001", "100000.00"), ("F002", "50000.00")),
    holdings: Sequence[tuple[str, str, str]] = (),
    reserve_sh: str = "0.00",
    batch_id: str = "S1",
) -> Path:
    """Clients with opening cash (all at bank K001) and one special account holding it."""
    total = sum(int(cash.replace(".", "")) for _, cash in clients)
    special_fen = total - int(reserve_sh.replace(".", ""))
    opening = [[fa, "CASH", cash] for fa, cash in clients]
    opening += [[fa, asset, qty] for fa, asset, qty in holdings]
    opening += [["SA001", "CASH", f"{special_fen // 100}.{special_fen % 100:02d}"]]
    if reserve_sh != "0.00":
        opening.append(["RESERVE.SH", "CASH", reserve_sh])
    return write_batch(
        directory,
        kind="static",
        business_date=business_date,
        batch_id=batch_id,
        files={
            "special_accounts.csv": [["SA001", BANK, "client_settlement"]],
            "clients.csv": [[fa, f"C{fa}", "normal", BANK, "", "active"] for fa, _ in clients],
            "opening.csv": opening,
        },
    )


def execution(
    exec_id: str,
    fund_account: str,
    side: str,
    quantity: int,
    price: str,
    security: str = "600000",
    market: str = "SH",
) -> list[str]:
    return [
        exec_id,
        market,
        security,
        side,
        str(quantity),
        price,
        fund_account,
        f"O{exec_id}",
        "2026-11-20T10:00:00+08:00",
    ]
