"""Benchmark `monitor submit`: end-to-end rows/s and peak RSS, against a plain pyarrow read.

Generates a broker package (client_funds.csv) and a bank package (client_depository.csv) of
`--rows` rows each, in UTF-8 and GB18030, submits each into a fresh store in a child process,
and reads the same CSV with `pyarrow.csv.read_csv` in another child as the baseline.

    .venv/bin/python bench/submit.py --rows 200000        # quick
    .venv/bin/python bench/submit.py                      # full: 10 million rows per package
    .venv/bin/python bench/submit.py --encrypted          # into an encrypted columnar store
"""

from __future__ import annotations

import argparse
import base64
import codecs
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
DATA_DEFAULT = ROOT / "bench" / "data"
BUSINESS_DATE = date(2026, 11, 20)
chunk_rows = 1_000_000
transcode_block_bytes = 16 * 1024 * 1024
ENCRYPTED = "BENCH_SUBMIT_ENCRYPTED"


def _numbered(prefix: str, start: int, count: int, width: int) -> pa.Array:
    numbers = pc.cast(pa.array(range(start, start + count), pa.int64()), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def _balances(start: int, count: int) -> pa.Array:
    index = pa.array(range(start, start + count), pa.int64())
    whole = pc.cast(pc.divide(pc.multiply(index, 7919), 1000), pa.string())
    cents = pc.utf8_lpad(
        pc.cast(pc.subtract(index, pc.multiply(pc.divide(index, 100), 100)), pa.string()), 2, "0"
    )
    text = pc.binary_join_element_wise(whole, cents, ".")
    negative = pc.equal(pc.subtract(index, pc.multiply(pc.divide(index, 1000), 1000)), 7)
    return pc.if_else(negative, pc.binary_join_element_wise("-", text, ""), text)


def _chunk(kind: str, start: int, count: int) -> pa.Table:
    fund_account = _numbered("FA", start, count, 10)
    client_id = _numbered("客户", start, count, 10)  # Chinese text, so GB18030 has work to do
    if kind == "broker_daily":
        kinds = pa.array(["normal", "credit", "option", "normal"] * (count // 4 + 1))[:count]
        return pa.table(
            {
                "fund_account": fund_account,
                "client_id": client_id,
                "account_kind": kinds,
                "bank_id": pa.array(["K001"] * count),
                "balance": _balances(start, count),
            }
        )
    return pa.table(
        {
            "broker_id": pa.array(["B001"] * count),
            "fund_account": fund_account,
            "client_id": client_id,
            "balance": _balances(start, count),
        }
    )


BIG_FILE = {"broker_daily": "client_funds.csv", "bank_daily": "client_depository.csv"}
INSTITUTION = {"broker_daily": "B001", "bank_daily": "K001"}


def generate(directory: Path, kind: str, rows: int, encoding: str) -> Path:
    """Write the package (the big file plus header-only others) and its manifest."""
    from clearwatch.domain.shared.file_schema import PACKAGE_SPECS

    directory.mkdir(parents=True, exist_ok=True)
    big = directory / BIG_FILE[kind]
    utf8 = directory / (BIG_FILE[kind] + ".utf8")
    with pacsv.CSVWriter(
        utf8, _chunk(kind, 0, 1).schema, write_options=pacsv.WriteOptions(quoting_style="none")
    ) as writer:
        for start in range(0, rows, chunk_rows):
            writer.write_table(_chunk(kind, start, min(chunk_rows, rows - start)))
    if encoding == "utf-8":
        utf8.replace(big)
    else:
        _transcode(utf8, big, encoding)
        utf8.unlink()
    entries = []
    for file_spec in PACKAGE_SPECS[kind].files:
        path = directory / file_spec.name
        if file_spec.name != big.name:
            path.write_text(",".join(file_spec.column_names) + "\n", encoding=encoding)
        count = rows if file_spec.name == big.name else 0
        entries.append({"name": file_spec.name, "sha256": _sha256(path), "rows": count})
    manifest = {
        "format": "clearwatch.package/1",
        "kind": kind,
        "institution_id": INSTITUTION[kind],
        "business_date": BUSINESS_DATE.isoformat(),
        "sequence": 1,
        "encoding": encoding,
        "files": entries,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return directory


def _transcode(source: Path, target: Path, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with source.open("rb") as reader, target.open("wb") as writer:
        while block := reader.read(transcode_block_bytes):
            writer.write(decoder.decode(block).encode(encoding))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def child_submit(package: Path, home: Path) -> dict[str, object]:
    from clearwatch.adapters.clock import FixedClock
    from clearwatch.bootstrap import build_application
    from clearwatch.config import Settings
    from clearwatch.domain.access.roles import Role
    from clearwatch.domain.shared.calendar import SHANGHAI
    from clearwatch.services.monitor.submit_package import submit_package

    sys.path.insert(0, str(ROOT))
    from tests.integration.monitor.conftest import load
    from tests.support.identities import gate_of
    from tests.support.packages import write_registry

    shutil.rmtree(home, ignore_errors=True)
    environment = {"CLEARWATCH_HOME": str(home)}
    if os.environ.get(ENCRYPTED):  # --encrypted: objects encrypted at rest, a fresh master key
        master = base64.b64encode(os.urandom(32)).decode("ascii")
        environment |= {"CLEARWATCH_ENCRYPT_AT_REST": "1", "CLEARWATCH_MASTER_KEY": master}
    settings = Settings.from_environment(environment)
    app = build_application(settings, FixedClock(datetime(2026, 11, 20, 18, tzinfo=SHANGHAI)))
    app.init_schema()
    load(app, write_registry(home / "registry"))
    rss_before = _peak_rss_bytes()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    gate = gate_of(app, _institution_of(package), Role.SUBMITTER)
    receipt = submit_package(directory=str(package), context=app.submit_context(), gate=gate)
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {
        "status": receipt.status.value,
        "seconds": elapsed,
        "cpu": cpu,
        "peak_rss": _peak_rss_bytes(),
        "rss_before": rss_before,
        "errors": [e.to_json() for e in receipt.errors][:3],
    }


def _institution_of(package: Path) -> str:
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["institution_id"])


def child_baseline(package: Path, kind: str, encoding: str) -> dict[str, object]:
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    table = pacsv.read_csv(
        package / BIG_FILE[kind],
        read_options=pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8" else encoding),
    )
    return {
        "seconds": time.perf_counter() - started,
        "cpu": _cpu_seconds() - cpu_started,
        "rows": table.num_rows,
        "peak_rss": _peak_rss_bytes(),
    }


def _child(*args: str) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=DATA_DEFAULT)
    parser.add_argument("--kinds", default="broker_daily,bank_daily")
    parser.add_argument("--encodings", default="utf-8,gb18030")
    parser.add_argument("--encrypted", action="store_true", help="an encrypted columnar store")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.encrypted:
        os.environ[ENCRYPTED] = "1"  # the children submit into an encrypted store
    if args.child:
        role, package, *rest = args.child
        result = (
            child_submit(Path(package), Path(rest[0]))
            if role == "submit"
            else child_baseline(Path(package), rest[0], rest[1])
        )
        print(json.dumps(result))
        return
    print(
        "| package | encoding | rows | MB | submit s (CPU s) | rows/s | rows per CPU-s "
        "| peak RSS MB | read_csv s (CPU s) | ratio submit/read wall (CPU) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        for encoding in args.encodings.split(","):
            _measure(args.data, kind, encoding, args.rows)


def _measure(data: Path, kind: str, encoding: str, rows: int) -> None:
    package = generate(data / f"{kind}-{encoding}-{rows}", kind, rows, encoding)
    size_mb = (package / BIG_FILE[kind]).stat().st_size / 1e6
    home = data / "submit-home"
    submitted = _child("submit", str(package), str(home))
    baseline = _child("baseline", str(package), kind, encoding)
    if submitted["status"] != "accepted":
        print(f"submit was {submitted['status']}: {submitted['errors']}", file=sys.stderr)
    wall, cpu = float(str(submitted["seconds"])), float(str(submitted["cpu"]))
    base_wall, base_cpu = float(str(baseline["seconds"])), float(str(baseline["cpu"]))
    peak_mb = int(str(submitted["peak_rss"])) / 1e6
    print(
        f"| {kind} | {encoding} | {rows:,} | {size_mb:,.0f} | {wall:.2f} ({cpu:.2f}) | "
        f"{rows / wall:,.0f} | {rows / cpu:,.0f} | {peak_mb:,.0f} | "
        f"{base_wall:.2f} ({base_cpu:.2f}) | {wall / base_wall:.2f} ({cpu / base_cpu:.2f}) |",
        flush=True,
    )
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(package, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
