"""Benchmark `broker eod`: rows/s per step, peak RSS, and the engine's fee-and-netting step
against a hand-written DuckDB SQL doing the same on the same files in the same run.

Full size is 2 million clients, 4,000 securities and 10 million executions in one day;
`--scale` shrinks all three. Day D-1 loads the static batch (clients, special accounts,
opening balances and the holdings the day's sales need); day D is the timed end of day.

Then the independent reconciliation of every client (spec §6): a `bank_statement` batch for D
whose depository balances are the books' own, one client's off by one fen, is imported and
compared with the books (timed apart: import, and the comparison that raises the breaks); it
must raise exactly one break, naming that client.

A speed change must not change a byte: `--fingerprint FILE` runs under a fixed clock and
writes the sha256 of every output file, every columnar object and every database table (books,
batches, step log, breaks, audit) after the run; `--against FILE` compares a run with such a
reference (taken with the code before the change, same `--scale` and `--data`) and fails
naming what differs. Under the fixed clock the step seconds come from the timing wrappers.

    .venv/bin/python bench/eod.py --scale 0.01     # quick
    .venv/bin/python bench/eod.py                  # full size
    PYTHONPATH=/tmp/old/src .venv/bin/python bench/eod.py --scale 0.01 --fingerprint ref.json
    .venv/bin/python bench/eod.py --scale 0.01 --against ref.json
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import resource
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import text

from clearwatch.adapters.clock import FixedClock, SystemClock
from clearwatch.adapters.db.backoffice import repository as books_repository
from clearwatch.bootstrap import build_application, build_backoffice_tools
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.services.backoffice import run_eod as run_eod_module
from clearwatch.services.backoffice.books_reference import client_cash_balances
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from clearwatch.services.backoffice.reconcile import CLIENT_VS_BANK, compare_day, raise_breaks
from clearwatch.services.backoffice.run_eod import EodRequest, run_eod

ROOT = Path(__file__).resolve().parent.parent
DATA_DEFAULT = ROOT / "bench" / "data" / "eod"
DAY_0, DAY_1 = date(2026, 11, 19), date(2026, 11, 20)
BROKER = "B001"
CLIENTS_FULL, SECURITIES_FULL, EXECUTIONS_FULL = 2_000_000, 4_000, 10_000_000
OPENING_CASH_FEN = 100_000_000  # 1,000,000.00 per client
RESERVE_FEN = 10_000_000_000  # 100,000,000.00 per market
FINGERPRINT_AT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # every timestamp of a fingerprint run

timings: dict[str, float] = defaultdict(float)  # wall seconds per call name
cpu_timings: dict[str, float] = defaultdict(float)  # CPU seconds (every thread of the process)


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            timings[name] += time.perf_counter() - start
            cpu_timings[name] += time.process_time() - cpu_start

    return wrapper


def instrument_steps() -> None:
    """Time each end-of-day step (wall and CPU) around the step runner."""
    run_step = run_eod_module._run_step

    def timed_step(*args: Any, **kwargs: Any) -> Any:
        step = kwargs.get("step", args[4] if len(args) > 4 else None)
        return timed(f"step:{getattr(step, 'value', step)}", run_step)(*args, **kwargs)

    run_eod_module._run_step = timed_step


def _manifest(directory: Path, kind: str, day: date, batch_id: str) -> None:
    files = []
    for path in sorted(directory.glob("*.csv")):
        digest = hashlib.sha256()
        rows = -1
        with path.open("rb") as stream:
            while block := stream.read(16 * 1024 * 1024):
                digest.update(block)
                rows += block.count(b"\n")
        files.append({"name": path.name, "sha256": digest.hexdigest(), "rows": rows})
    manifest = {
        "format": "clearwatch.batch/1",
        "kind": kind,
        "broker_id": BROKER,
        "business_date": day.isoformat(),
        "batch_id": batch_id,
        "encoding": "utf-8",
        "files": files,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2))


def generate(data: Path, clients: int, securities: int, executions: int) -> None:
    """The batches as CSV, written by DuckDB from deterministic hashes."""
    static, trading = data / "inbox0" / "static", data / "inbox1" / "trading"
    static.mkdir(parents=True)
    trading.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE ex AS SELECT
          i,
          'E' || lpad(i::VARCHAR, 9, '0') AS exec_id,
          (hash(i) % {clients})::BIGINT AS client,
          (hash(i * 7 + 1) % {securities})::BIGINT AS sec,
          CASE WHEN i % 2 = 0 THEN 'B' ELSE 'S' END AS side,
          100 * (1 + hash(i * 3 + 2) % 20)::BIGINT AS quantity,
          1000 + (hash(i * 5 + 3) % 50000)::BIGINT AS price_milli
        FROM range({executions}) t(i)
    """)
    con.execute("""
        CREATE TABLE ex2 AS SELECT *,
          'F' || lpad(client::VARCHAR, 8, '0') AS fund_account,
          CASE WHEN sec % 2 = 0 THEN 'SH' ELSE 'SZ' END AS market,
          lpad((CASE WHEN sec % 2 = 0 THEN (CASE WHEN sec % 10 = 0 THEN 510000 ELSE 600000 END)
                     ELSE (CASE WHEN sec % 10 = 1 THEN 159000 ELSE 1 END) END
                + sec // 2)::VARCHAR, 6, '0') AS security
        FROM ex
    """)
    con.execute(f"""
        COPY (SELECT 'F' || lpad(i::VARCHAR, 8, '0') AS fund_account,
                     'C' || lpad(i::VARCHAR, 8, '0') AS client_id,
                     CASE WHEN i % 20 = 0 THEN 'credit' ELSE 'normal' END AS account_kind,
                     CASE WHEN i % 2 = 0 THEN 'K001' ELSE 'K002' END AS bank_id,
                     CASE WHEN i % 3 = 0 THEN '0.0003' ELSE '' END AS commission_rate,
                     'active' AS status
              FROM range({clients}) t(i) ORDER BY i)
        TO '{static}/clients.csv' (HEADER, DELIMITER ',', QUOTE '')
    """)
    (static / "special_accounts.csv").write_text(
        "account_no,bank_id,purpose\nSA001,K001,client_settlement\nSA002,K002,client_settlement\n"
        "SA003,K001,credit_guarantee\nSA004,K002,credit_guarantee\n"
    )
    special = clients * OPENING_CASH_FEN - 2 * RESERVE_FEN
    # Ordered: a parallel GROUP BY returns its groups in any order, and a fingerprint needs
    # the same bytes every run.
    con.execute(f"""
        COPY (SELECT * FROM (
          SELECT 'F' || lpad(i::VARCHAR, 8, '0') AS account, 'CASH' AS asset,
                 '{OPENING_CASH_FEN // 100}.00' AS quantity FROM range({clients}) t(i)
          UNION ALL
          SELECT fund_account, market || '.' || security, sum(quantity)::VARCHAR
          FROM ex2 WHERE side = 'S' GROUP BY ALL
          UNION ALL SELECT 'SA001', 'CASH', '{special // 100}.{special % 100:02d}'
          UNION ALL SELECT 'RESERVE.SH', 'CASH', '{RESERVE_FEN // 100}.00'
          UNION ALL SELECT 'RESERVE.SZ', 'CASH', '{RESERVE_FEN // 100}.00'
        ) ORDER BY account, asset) TO '{static}/opening.csv' (HEADER, DELIMITER ',', QUOTE '')
    """)
    con.execute(f"""
        COPY (SELECT exec_id, market, security, side, quantity,
                     printf('%d.%03d', price_milli // 1000, price_milli % 1000) AS price,
                     fund_account, 'O' || exec_id AS order_id,
                     '2026-11-20T10:00:00+08:00' AS executed_at
              FROM ex2 ORDER BY i)
        TO '{trading}/executions.csv' (HEADER, DELIMITER ',', QUOTE '')
    """)
    con.close()
    _manifest(static, "static", DAY_0, "S-2026-11-19")
    _manifest(trading, "trading", DAY_1, "T-2026-11-20")


def instrument(tools: BackOfficeTools) -> None:
    """Time the row-work calls the end of day makes, by name."""
    for name in ("read",):
        setattr(tools.reader, name, timed(f"read_validate:{name}", getattr(tools.reader, name)))
    for name in ("put_table",):
        setattr(tools.store, name, timed(f"store:{name}", getattr(tools.store, name)))
    for name in (
        "clear_trades",
        "oversold",
        "overdrawn",
        "first_unknown_account",
        "write_statements",
        "settlement_summary",
        "current_clients",
        "sold_shares",
        "sale_proceeds",
        "new_executions",
        "format_money_table",
        "write_csv",
    ):
        setattr(tools.engine, name, timed(f"engine:{name}", getattr(tools.engine, name)))
    books = books_repository.SqlBooks
    for name in ("post_bulk", "balances", "unbalanced_entries", "negative_client_balances"):
        setattr(books, name, timed(f"books:{name}", getattr(books, name)))


def baseline_sql(executions_uri: str, clients_uri: str) -> tuple[float, float, int]:
    """Fees and netting written by hand in DuckDB SQL over the same stored Parquet:
    (wall seconds, CPU seconds, clients netted)."""
    con = duckdb.connect()
    start, cpu_start = time.perf_counter(), time.process_time()
    con.execute(f"""
        CREATE TABLE d AS
        WITH x AS (
          SELECT e.*, c.account_kind,
                 CAST(rpad(coalesce(nullif(regexp_extract(
                     CASE WHEN c.commission_rate = '' THEN '0.00025' ELSE c.commission_rate END,
                     '\\.([0-9]+)', 1), ''), '0'), 8, '0') AS BIGINT) AS num,
                 (e.quantity * e.price_milli + 5) // 10 AS amount,
                 (e.market = 'SH' AND e.security LIKE '5%') OR (e.market = 'SZ' AND
                  (e.security LIKE '15%' OR e.security LIKE '16%' OR e.security LIKE '18%')) AS fund
          FROM read_parquet('{executions_uri}') e JOIN read_parquet('{clients_uri}') c
          USING (fund_account)),
        f AS (
          SELECT *, greatest((amount * num + 50000000) // 100000000, 500) AS commission,
                 CASE WHEN side = 'S' AND NOT fund THEN (amount * 5 + 5000) // 10000 ELSE 0 END
                   AS stamp,
                 CASE WHEN fund THEN 0 ELSE (amount + 50000) // 100000 END AS transfer,
                 (amount * 341 + 5000000) // 10000000 AS handling,
                 (amount * 2 + 50000) // 100000 AS regulatory
          FROM x)
        SELECT *, CASE WHEN side = 'S'
                       THEN amount - commission - stamp - transfer - handling - regulatory
                       ELSE -(amount + commission + stamp + transfer + handling + regulatory)
                  END AS cash
        FROM f
    """)
    cash = con.execute(
        "SELECT count(*) FROM (SELECT fund_account, sum(cash) FROM d GROUP BY 1)"
    ).fetchall()[0][0]
    con.execute("""CREATE TABLE h AS SELECT fund_account, market || '.' || security AS asset,
                   sum(CASE WHEN side = 'B' THEN quantity ELSE -quantity END) AS q
                   FROM d GROUP BY ALL HAVING q <> 0""")
    con.execute("""SELECT market, sum(CASE WHEN side='B' THEN amount ELSE -amount END),
                   sum(stamp + transfer + handling + regulatory) FROM d GROUP BY 1""").fetchall()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    con.close()
    return elapsed, cpu, int(cash)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--data", type=Path, default=DATA_DEFAULT)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--fingerprint", type=Path, help="write the run's fingerprint here")
    parser.add_argument("--against", type=Path, help="fail unless the run has this fingerprint")
    args = parser.parse_args()
    fixed_clock = args.fingerprint is not None or args.against is not None
    clients = max(100, int(CLIENTS_FULL * args.scale))
    securities = max(50, int(SECURITIES_FULL * args.scale))
    executions = max(100, int(EXECUTIONS_FULL * args.scale))
    if args.data.exists():
        shutil.rmtree(args.data)
    started = time.perf_counter()
    generate(args.data, clients, securities, executions)
    generated = time.perf_counter() - started
    home = args.data / "home"
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'bench.sqlite3'}",
        columnar_root=str(home / "columnar"),
        audit_algorithm=HashAlgorithm.SHA256,
        engine_backend=EngineBackend.DUCKDB,
    )
    app = build_application(settings, FixedClock(FINGERPRINT_AT) if fixed_clock else SystemClock())
    app.init_schema()
    tools = build_backoffice_tools(app.columnar, threads=args.threads)
    instrument(tools)
    instrument_steps()
    started = time.perf_counter()
    run_eod(
        uow=app.uow(),
        tools=tools,
        clock=app.clock,
        request=EodRequest(
            business_date=DAY_0, inbox=args.data / "inbox0", out_root=args.data / "out"
        ),
    )
    setup = time.perf_counter() - started
    timings.clear()
    cpu_timings.clear()
    started, cpu_started = time.perf_counter(), time.process_time()
    run_eod(
        uow=app.uow(),
        tools=tools,
        clock=app.clock,
        request=EodRequest(
            business_date=DAY_1, inbox=args.data / "inbox1", out_root=args.data / "out"
        ),
    )
    eod, eod_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    steps = _step_seconds(app, DAY_1)
    if fixed_clock:  # the step log's times are all one instant: time the steps by the wrappers
        steps = {k.removeprefix("step:"): v for k, v in timings.items() if k.startswith("step:")}
    engine_fee = timings["engine:clear_trades"]
    engine_fee_cpu = cpu_timings["engine:clear_trades"]
    with app.uow() as uow:
        files = uow.batches.applied_files(BROKER, "executions.csv", business_date=DAY_1)
        client_files = uow.batches.applied_files(BROKER, "clients.csv")
        # Postings as rows plus those of bulk entries, which live in the columnar store.
        postings = uow.connection.execute(
            text(
                "SELECT (SELECT count(*) FROM bo_postings)"
                " + (SELECT coalesce(sum(postings_rows), 0) FROM bo_entries)"
            )
        ).scalar_one()
    sql_seconds, sql_cpu, sql_clients = baseline_sql(
        app.columnar.uri(files[0].parquet_digest), app.columnar.uri(client_files[0].parquet_digest)
    )
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reconciliation = reconcile_clients(app, tools, args.data)
    result = {
        "clients": clients,
        "securities": securities,
        "executions": executions,
        "postings_total": postings,
        "generate_s": round(generated, 1),
        "setup_day_s": round(setup, 1),
        "eod_s": round(eod, 1),
        "eod_cpu_s": round(eod_cpu, 1),
        "steps_s": {k: round(v, 2) for k, v in steps.items()},
        "rows_per_s": {k: int(executions / v) for k, v in steps.items() if v > 0},
        "calls_s": {k: round(v, 2) for k, v in sorted(timings.items())},
        "calls_cpu_s": {k: round(v, 2) for k, v in sorted(cpu_timings.items())},
        "fee_netting_engine_s": round(engine_fee, 2),
        "fee_netting_engine_cpu_s": round(engine_fee_cpu, 2),
        "fee_netting_sql_s": round(sql_seconds, 2),
        "fee_netting_sql_cpu_s": round(sql_cpu, 2),
        "engine_over_sql": round(engine_fee / sql_seconds, 2) if sql_seconds else None,
        "engine_over_sql_cpu": round(engine_fee_cpu / sql_cpu, 2) if sql_cpu else None,
        "sql_clients_netted": sql_clients,
        "peak_rss_mb": int(peak_rss_mb),
        "reconciliation_vs_bank_statement": reconciliation,
    }
    print(json.dumps(result, indent=2))
    if fixed_clock:
        _fingerprint_check(fingerprint(app, args.data), args.fingerprint, args.against)


def fingerprint(app: Any, data: Path) -> dict[str, dict[str, str]]:
    """sha256 of every output file and columnar object, and of every database table's rows in
    insertion order: books, batches, step log, breaks, halts and the audit chain."""
    files = {}
    for root in (data / "out", data / "home" / "columnar"):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if "tmp" not in path.relative_to(root).parts:
                files[str(path.relative_to(data))] = hashlib.sha256(path.read_bytes()).hexdigest()
    tables = {}
    with app.uow() as uow:
        names = uow.connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ).scalars()
        for name in list(names):
            digest = hashlib.sha256()
            for row in uow.connection.execute(text(f'SELECT * FROM "{name}" ORDER BY rowid')):
                digest.update(repr(tuple(row)).encode("utf-8"))
            tables[name] = digest.hexdigest()
    return {"files": files, "tables": tables}


def _fingerprint_check(
    found: dict[str, dict[str, str]], write_to: Path | None, against: Path | None
) -> None:
    if write_to is not None:
        write_to.write_text(json.dumps(found, indent=1, sort_keys=True))
    if against is None:
        return
    reference = json.loads(against.read_text())
    differ = [
        f"{part}: {name}"
        for part in ("files", "tables")
        for name in sorted(set(found[part]) | set(reference[part]))
        if found[part].get(name) != reference[part].get(name)
    ]
    if differ:
        print(f"FINGERPRINT DIFFERS from {against}:", *differ, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    print(f"fingerprint identical to {against}: {len(found['files'])} files, "
          f"{len(found['tables'])} tables", file=sys.stderr)  # fmt: skip


def reconcile_clients(app: Any, tools: BackOfficeTools, data: Path) -> dict[str, Any]:
    """Every client against a bank statement equal to the books but for one fen on one client:
    seconds to import the statement and to compare it (with the breaks raised)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    with app.uow() as uow:
        books = client_cash_balances(uow, BROKER, DAY_1)
    off = books["fund_account"][len(books) // 2].as_py()
    bumped = pc.if_else(pc.equal(books["fund_account"], off), 1, 0)
    balance = pc.max_element_wise(books["balance"], pa.scalar(0, pa.int64()))
    fen = pc.add(balance, bumped)
    text_amount = pc.binary_join_element_wise(
        pc.cast(pc.divide(fen, 100), pa.string()),
        pc.utf8_lpad(
            pc.cast(pc.subtract(fen, pc.multiply(pc.divide(fen, 100), 100)), pa.string()), 2, "0"
        ),
        ".",
    )
    statement = data / "inbox2" / "bank_statement"
    statement.mkdir(parents=True)
    pv.write_csv(
        pa.table(
            {
                "broker_id": pa.array([BROKER] * len(books), pa.string()),
                "fund_account": books["fund_account"],
                "client_id": pc.binary_join_element_wise(
                    "C", pc.utf8_slice_codeunits(books["fund_account"], 1), ""
                ),
                "balance": text_amount,
            }
        ),
        statement / "client_depository.csv",
        pv.WriteOptions(quoting_style="none"),
    )
    _manifest(statement, "bank_statement", DAY_1, "BS-2026-11-20")
    started = time.perf_counter()
    import_batch(directory=statement, uow=app.uow(), tools=tools, at=app.clock.now())
    imported = time.perf_counter() - started
    started = time.perf_counter()
    with app.uow() as uow:
        compared = compare_day(uow, tools, BROKER, DAY_1)
        raised = raise_breaks(uow, BROKER, DAY_1, compared, app.clock.now())
        uow.commit()
    reconciled = time.perf_counter() - started
    clients = next(c for c in compared if c.check == CLIENT_VS_BANK)
    found = [d.subject for d in clients.differences]
    assert found == [off] and raised == 1, (found, raised)
    return {
        "clients": len(books),
        "import_s": round(imported, 2),
        "compare_and_breaks_s": round(reconciled, 2),
        "clients_per_s": int(len(books) / reconciled),
        "break": off,
    }


def _step_seconds(app: Any, day: date) -> dict[str, float]:
    from datetime import datetime

    with app.uow() as uow:
        rows = uow.connection.execute(
            text(
                "SELECT step, event, at FROM bo_eod_steps WHERE business_date = :d "
                "ORDER BY event_pk"
            ),
            {"d": day.isoformat()},
        ).all()
    started: dict[str, datetime] = {}
    seconds: dict[str, float] = {}
    for step, event, at in rows:
        moment = datetime.fromisoformat(at)
        if event == "started":
            started[step] = moment
        elif step in started:
            seconds[step] = (moment - started[step]).total_seconds()
    return seconds


if __name__ == "__main__":
    main()
