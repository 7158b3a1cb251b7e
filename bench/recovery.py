"""Backup and restore times of a store holding N client fund rows (issue 18, PFMI principle 17).

The columnar store gets N synthetic client fund rows as Parquet objects of `--rows-per-file`
rows (what a day's packages leave there), the relational store a few hundred audit records;
then a first backup, an incremental one (nothing new to copy), and a restore into a new home
with every hash, the audit chain and its rows verified. Wall times on this machine, with the
copy's throughput; nothing is asserted. Run: `.venv/bin/python bench/recovery.py --rows 10_000_000`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.recovery.backup import back_up
from clearwatch.services.recovery.restore import restore

AUDIT_RECORDS = 300


def _app(home: Path, key: Path) -> Application:
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'clearwatch.sqlite3'}",
        columnar_root=str(home / "columnar"),
        audit_algorithm=HashAlgorithm.SHA256,
        engine_backend=EngineBackend.DUCKDB,
        audit_key=key,
    )
    return build_application(settings, FixedClock(datetime(2026, 11, 20, 16, tzinfo=SHANGHAI)))


def _fill(app: Application, rows: int, per_file: int) -> int:
    rng = np.random.default_rng(18)
    written = 0
    while written < rows:
        n = min(per_file, rows - written)
        ids = np.arange(written, written + n)
        app.columnar.put_table(
            pa.table(
                {
                    "fund_account": pa.array([f"F{i:012d}" for i in ids]),
                    "client_id": pa.array([f"C{i:012d}" for i in ids]),
                    "balance_fen": pa.array(rng.integers(0, 10**10, n), pa.int64()),
                }
            )
        )
        written += n
    for n in range(AUDIT_RECORDS):
        with app.uow() as uow:
            record_audit(
                uow,
                actor="bench",
                action="bench.recorded",
                object_ref=f"thing:{n}",
                payload={"n": n},
                recorded_at=app.clock.now(),
            )
            uow.commit()
    return sum(p.stat().st_size for p in (app.settings.home / "columnar").rglob("*.parquet"))


def _timed(label: str, action: Callable[[], object], size: int) -> None:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:8.1f} s  {size / 2**20 / seconds:8.0f} MiB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=2_000_000)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cw-bench-recovery-") as scratch:
        root = Path(scratch)
        live = _app(root / "live", root / "keys" / "audit.pem")
        live.init_schema()
        size = _fill(live, args.rows, args.rows_per_file)
        print(f"{args.rows:,} client rows, {size / 2**20:,.0f} MiB of Parquet")
        folder = live.backup_folder(root / "vault")
        _timed("backup (first)", lambda: back_up(site=live.recovery_site(), folder=folder), size)
        _timed(
            "backup (incremental)", lambda: back_up(site=live.recovery_site(), folder=folder), size
        )
        target = _app(root / "restored", root / "keys" / "audit.pem")
        _timed(
            "restore (verified)",
            lambda: restore(
                site=target.recovery_site(), folder=target.backup_folder(root / "vault")
            ),
            size,
        )
        live.dispose()
        target.dispose()


if __name__ == "__main__":
    main()
