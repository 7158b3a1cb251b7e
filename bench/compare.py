"""Benchmark the monitor's comparison stage: stored Parquet → findings, against hand-written SQL.

Builds stored data (content-addressed Parquet, as `monitor submit` leaves it) for 100 brokers and
20 banks with `--rows` client records per side, then times, each in a fresh child process:

- **engine**: `DuckDBFindingsEngine.compute` — the Ibis expressions of F1–F9, evidence and
  affected-client counts, exactly what `run-day` runs;
- **baseline**: one hand-written DuckDB SQL script doing the same client-level join and
  aggregation (F1, F2, the client fund balance, top-5 evidence, distinct accounts) on the same
  files, with the engine's algorithm (both sides stacked and summed per account);
- **join** (optional, `--join`): the same in the shape first written, the bank side aggregated
  and then full-outer-joined to the broker side;
- **passes** (optional, `--passes`): the baseline with the engine's F1 passes (a group of brokers
  at a time, past `accounts_per_pass_default` client rows), by hand;
- **spark** (optional, `--spark`): the engine on Spark `local[2]`, as a reference;
- **datacompy** (optional, `--datacompy`, if installed): its pandas comparison of the two sides;
- **engine-encrypted** (`--encrypted`, instead of the baseline): the engine on the same data in
  an encrypted columnar store, alternately with the engine on the plaintext (issue 18).

    .venv/bin/python bench/compare.py --rows 1000000              # quick
    .venv/bin/python bench/compare.py --rows 10000000 --spark --datacompy
    .venv/bin/python bench/compare.py --rows 4000000 --encrypted --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from clearwatch.adapters.columnar import ENCRYPTED_COMPRESSION, ParquetStore  # noqa: E402
from clearwatch.adapters.columnar_keys import (  # noqa: E402
    DataKey,
    MasterKeySource,
    create_master_key_file,
)
from clearwatch.adapters.engine.monitor.sources import (  # noqa: E402
    SOURCE_FILES,
    file_spec,
    source_key,
    stored_schema,
)
from clearwatch.domain.monitor.findings import (  # noqa: E402
    EngineRequest,
    FilingRow,
    StoredPackageFile,
)

DATA_DEFAULT = ROOT / "bench" / "data" / "compare"
BROKERS, BANKS = 100, 20
mismatch_every = 1024  # one client in 1,024 differs by a fen at the bank
overdraft_every = 2048
missing_every = 4096  # ... and one in 4,096 is missing at the bank
MEMORY_LIMIT = os.environ.get("BENCH_DUCKDB_MEMORY_LIMIT") or None  # e.g. 6GB: spill past it


def _numbered(prefix: str, numbers: pa.Array, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(numbers, pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")


def _without_sender(kind: str, file_name: str, sender: str) -> pa.Schema:
    return pa.schema([f for f in stored_schema(kind, file_name, sender) if f.name != sender])


def _client_sides(broker: int, rows: int) -> tuple[pa.Table, pa.Table]:
    """One broker's client funds and the bank's depository rows for the same clients."""
    index = pa.array(range(rows), pa.int64())
    accounts = _numbered(f"F{broker:03d}", index, 9)
    balance = pc.add(pc.multiply(pc.bit_wise_and(index, 1023), 137), 100_00)
    overdrawn = pc.equal(pc.bit_wise_and(index, overdraft_every - 1), 7)
    broker_balance = pc.if_else(overdrawn, pc.negate(balance), balance)
    bank = f"K{broker % BANKS:03d}"
    funds = pa.table(
        {
            "fund_account": accounts,
            "client_id": _numbered("c", index, 9),
            "account_kind": pa.array(["normal"] * rows, pa.string()),
            "bank_id": pa.array([bank] * rows, pa.string()),
            "balance": broker_balance,
        },
        schema=_without_sender("broker_daily", "client_funds.csv", "broker_id"),
    )
    differs = pc.equal(pc.bit_wise_and(index, mismatch_every - 1), 3)
    bank_balance = pc.if_else(differs, pc.add(balance, 1), balance)
    bank_balance = pc.if_else(overdrawn, pa.scalar(0, pa.int64()), bank_balance)
    kept = pc.not_equal(pc.bit_wise_and(index, missing_every - 1), 11)
    depository = pa.table(
        {
            "broker_id": pa.array([f"B{broker:03d}"] * rows, pa.string()),
            "fund_account": accounts,
            "client_id": _numbered("c", index, 9),
            "balance": bank_balance,
        },
        schema=_without_sender("bank_daily", "client_depository.csv", "bank_id"),
    ).filter(kept)
    return funds, depository


def _small_files(broker_totals: dict[int, int]) -> dict[tuple[str, int], dict[str, pa.Table]]:
    """Special accounts, reserves, fees, transactions, actions: small next to the clients."""
    small: dict[tuple[str, int], dict[str, pa.Table]] = {}
    for b, total in broker_totals.items():
        small[("B", b)] = {
            "broker_special": pa.Table.from_pylist(
                [{"account_no": f"S{b:03d}", "bank_id": f"K{b % BANKS:03d}",
                  "purpose": "client_settlement", "book_balance": total}],
                _without_sender("broker_daily", "special_accounts.csv", "broker_id"),
            ),
            "broker_reserve": pa.Table.from_pylist(
                [{"market": "SH", "balance": 0}],
                _without_sender("broker_daily", "settlement_reserve.csv", "broker_id"),
            ),
            "fee_income": _without_sender(
                "broker_daily", "fee_income.csv", "broker_id"
            ).empty_table(),
        }  # fmt: skip
    for k in range(BANKS):
        mine = [b for b in broker_totals if b % BANKS == k]
        small[("K", k)] = {
            "bank_balances": pa.Table.from_pylist(
                [{"account_no": f"S{b:03d}", "broker_id": f"B{b:03d}",
                  "purpose": "client_settlement", "branch_region": "CN-SH",
                  "balance": broker_totals[b]} for b in mine],
                _without_sender("bank_daily", "special_account_balances.csv", "bank_id"),
            ),
            "bank_txns": _without_sender(
                "bank_daily", "special_account_transactions.csv", "bank_id"
            ).empty_table(),
            "actions": _without_sender("bank_daily", "fund_actions.csv", "bank_id").empty_table(),
        }  # fmt: skip
    small[("C", 0)] = {
        "csdc_reserve": pa.Table.from_pylist(
            [{"broker_id": f"B{b:03d}", "market": "SH", "balance": 0} for b in broker_totals],
            _without_sender("csdc_daily", "settlement_reserve.csv", "csdc_id"),
        )
    }
    return small


def build(data: Path, rows: int, *, encrypted: bool = False) -> Path:
    """Write the stored files once per size; the request is saved next to them as JSON.

    `encrypted`: the same files in an encrypted store (its own folder and master key file)."""
    described = _described(data, rows, encrypted=encrypted)
    if described.exists():
        return described
    store = ParquetStore(str(data / "columnar"))
    extra: dict[str, str] = {}
    if encrypted:
        key_file = data / "master.key"
        if not key_file.exists():
            create_master_key_file(key_file)
        keys = MasterKeySource(encrypt=True, key_file=key_file)
        root = str(data / f"columnar-encrypted-{ENCRYPTED_COMPRESSION}")
        store = ParquetStore(root, keys=keys)
        extra = {"columnar_root": root, "key_file": str(key_file)}
    sources: dict[str, list[dict[str, str]]] = {}
    where = {attr: (kind, name) for attr, kind, name, _ in SOURCE_FILES}

    def put(attribute: str, institution: str, table: pa.Table) -> None:
        kind, name = where[attribute]
        # Encoded as `monitor submit` stores it: few-valued columns as dictionaries.
        few_valued = file_spec(kind, name).few_valued_columns
        uri = store.uri(store.put_table(table, dictionary_columns=few_valued))
        sources.setdefault(source_key(kind, name), []).append(
            {"institution_id": institution, "uri": uri}
        )

    per_broker = rows // BROKERS
    depository: dict[int, list[pa.Table]] = {k: [] for k in range(BANKS)}
    totals: dict[int, int] = {}
    for b in range(BROKERS):
        funds, dep = _client_sides(b, per_broker)
        totals[b] = pc.sum(pc.max_element_wise(funds["balance"], 0)).as_py()
        put("client_funds", f"B{b:03d}", funds)
        depository[b % BANKS].append(dep)
    for k, parts in depository.items():
        put("depository", f"K{k:03d}", pa.concat_tables(parts))
    for (letter, n), files in _small_files(totals).items():
        for attribute, table in files.items():
            put(attribute, f"{letter}{n:03d}", table)
    described.write_text(json.dumps({"rows": rows, "sources": sources, **extra}))
    return described


def _described(data: Path, rows: int, *, encrypted: bool) -> Path:
    """The request of a size; an encrypted one names its layout, so that data built by an
    earlier layout is not timed as if it were the current one."""
    if encrypted:
        return data / f"request-{rows}-encrypted-{ENCRYPTED_COMPRESSION}.json"
    return data / f"request-{rows}.json"


def data_key_of(described: Path) -> DataKey | None:
    """An encrypted request's data key, from its store and master key file."""
    raw = json.loads(described.read_text())
    if "key_file" not in raw:
        return None
    keys = MasterKeySource(key_file=Path(raw["key_file"]))
    return ParquetStore(raw["columnar_root"], keys=keys).data_key


def load_request(described: Path) -> EngineRequest:
    raw = json.loads(described.read_text())
    banks = frozenset(f"K{k:03d}" for k in range(BANKS))
    return EngineRequest(
        business_date=__import__("datetime").date(2026, 11, 20),
        sources={
            key: tuple(StoredPackageFile(s["institution_id"], s["uri"]) for s in value)
            for key, value in raw["sources"].items()
        },
        filings=tuple(
            FilingRow(f"S{b:03d}", f"K{b % BANKS:03d}", f"B{b:03d}", "client_settlement", "CN-SH")
            for b in range(BROKERS)
        ),
        submitted_broker_ids=frozenset(f"B{b:03d}" for b in range(BROKERS)),
        submitted_bank_ids=banks,
        csdc_submitted=True,
        tolerance_fen=0,
        evidence_rows_max=5,
    )


# The baseline: what one would write by hand for the same work, with the same algorithm as the
# engine (both sides stacked and summed per account, one hash table over the accounts). The
# broker side is a view: DuckDB reads the Parquet where it needs it rather than copying it.
BROKER_SIDE_SQL = """
  SELECT o.institution_id AS broker_id, p.* EXCLUDE (filename)
  FROM read_parquet({cf_files}, filename = true) p JOIN cf_owners o ON p.filename = o.uri
  WHERE p.bank_id IN ({banks});
"""
BASELINE_SQL = (
    "CREATE TEMP VIEW cf AS"
    + BROKER_SIDE_SQL
    + """
CREATE TEMP TABLE items AS
  WITH both_sides AS (
    SELECT broker_id, fund_account, GREATEST(balance, 0) AS l, 0::BIGINT AS r FROM cf
    UNION ALL
    SELECT broker_id, fund_account, 0::BIGINT, balance FROM read_parquet({dep_files})),
  f1 AS (
    SELECT broker_id, fund_account, SUM(l) - SUM(r) AS diff
    FROM both_sides GROUP BY broker_id, fund_account)
  SELECT broker_id, 'F1' AS code, fund_account AS ref, ABS(diff) AS amount FROM f1
  WHERE ABS(diff) > 0
  UNION ALL
  SELECT broker_id, 'F2', fund_account, -balance FROM cf WHERE balance < 0;
"""
)
# The first baseline (kept as a reference, `--join`): aggregate the bank side, then a full
# outer join to the broker side, as the comparison is usually described.
JOIN_SQL = (
    "CREATE TEMP TABLE cf AS"
    + BROKER_SIDE_SQL
    + """
CREATE TEMP TABLE items AS
  WITH dep AS (
    SELECT p.broker_id, p.fund_account, SUM(p.balance) AS balance
    FROM read_parquet({dep_files}) p GROUP BY ALL),
  f1 AS (
    SELECT COALESCE(c.broker_id, d.broker_id) AS broker_id,
           COALESCE(c.fund_account, d.fund_account) AS fund_account,
           GREATEST(COALESCE(c.balance, 0), 0) - COALESCE(d.balance, 0) AS diff
    FROM cf c FULL OUTER JOIN dep d
      ON c.broker_id = d.broker_id AND c.fund_account = d.fund_account)
  SELECT broker_id, 'F1' AS code, fund_account AS ref, ABS(diff) AS amount FROM f1
  WHERE ABS(diff) > 0
  UNION ALL
  SELECT broker_id, 'F2', fund_account, -balance FROM cf WHERE balance < 0;
"""
)
BASELINE_RESULTS = (
    "SELECT broker_id, code, SUM(amount), COUNT(*) FROM items GROUP BY ALL",
    "SELECT * FROM items QUALIFY row_number() OVER "
    "(PARTITION BY broker_id, code ORDER BY amount DESC, ref) <= 5",
    "SELECT broker_id, COUNT(DISTINCT ref) FROM items GROUP BY ALL",
    "SELECT broker_id, SUM(GREATEST(balance, 0)) FROM cf GROUP BY ALL",
)


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def run_baseline(request: EngineRequest, sql: str = BASELINE_SQL) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT} if MEMORY_LIMIT else {})
    cf = request.sources[source_key("broker_daily", "client_funds.csv")]
    dep = request.sources[source_key("bank_daily", "client_depository.csv")]
    con.execute("CREATE TEMP TABLE cf_owners (uri VARCHAR, institution_id VARCHAR)")
    con.executemany("INSERT INTO cf_owners VALUES (?, ?)", [(s.uri, s.institution_id) for s in cf])
    script = sql.format(
        cf_files=_sql_list([s.uri for s in cf]),
        dep_files=_sql_list(sorted({s.uri for s in dep})),
        banks=", ".join(f"'{b}'" for b in sorted(request.submitted_bank_ids)),
    )
    con.execute(script)
    sizes = [len(con.execute(query).fetchall()) for query in BASELINE_RESULTS]
    return {"result_rows": sizes}


# The baseline by hand with the engine's passes: F1 per group of brokers (the engine's groups),
# each pass reading its brokers' client funds and the bank rows in their range of broker ids.
PASS_SQL = """
INSERT INTO items
  WITH cfp AS (
    SELECT o.institution_id AS broker_id, p.fund_account, p.balance
    FROM read_parquet({cf_files}, filename = true) p JOIN cf_owners o ON p.filename = o.uri
    WHERE p.bank_id IN ({banks})),
  both_sides AS (
    SELECT broker_id, fund_account, GREATEST(balance, 0) AS l, 0::BIGINT AS r FROM cfp
    UNION ALL
    SELECT broker_id, fund_account, 0::BIGINT, balance FROM read_parquet({dep_files})
    WHERE broker_id BETWEEN '{low}' AND '{high}'),
  f1 AS (
    SELECT broker_id, fund_account, SUM(l) - SUM(r) AS diff
    FROM both_sides GROUP BY broker_id, fund_account)
  SELECT broker_id, 'F1', fund_account, ABS(diff) FROM f1 WHERE ABS(diff) > 0;
"""


def run_baseline_in_passes(request: EngineRequest) -> dict[str, Any]:
    import duckdb

    from clearwatch.adapters.engine.monitor.backends import accounts_per_pass_default, broker_passes

    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT} if MEMORY_LIMIT else {})
    cf = request.sources[source_key("broker_daily", "client_funds.csv")]
    dep = request.sources[source_key("bank_daily", "client_depository.csv")]
    con.execute("CREATE TEMP TABLE cf_owners (uri VARCHAR, institution_id VARCHAR)")
    con.executemany("INSERT INTO cf_owners VALUES (?, ?)", [(s.uri, s.institution_id) for s in cf])
    banks = ", ".join(f"'{b}'" for b in sorted(request.submitted_bank_ids))
    counted = con.execute(
        "SELECT file_name, num_rows FROM parquet_file_metadata(?)", [[s.uri for s in cf]]
    ).fetchall()
    rows_of_file = dict(counted)
    rows_of_broker = {s.institution_id: rows_of_file[s.uri] for s in cf}
    groups = broker_passes(rows_of_broker, accounts_per_pass_default) or [sorted(rows_of_broker)]
    con.execute(
        "CREATE TEMP TABLE items (broker_id VARCHAR, code VARCHAR, ref VARCHAR, amount BIGINT)"
    )
    for group in groups:
        con.execute(
            PASS_SQL.format(
                cf_files=_sql_list([s.uri for s in cf if s.institution_id in group]),
                dep_files=_sql_list(sorted({s.uri for s in dep})),
                banks=banks,
                low=group[0],
                high=group[-1],
            )
        )
    con.execute(
        "CREATE TEMP VIEW cf AS"
        + BROKER_SIDE_SQL.format(cf_files=_sql_list([s.uri for s in cf]), banks=banks)
    )
    con.execute(
        "INSERT INTO items SELECT broker_id, 'F2', fund_account, -balance FROM cf WHERE balance < 0"
    )
    sizes = [len(con.execute(query).fetchall()) for query in BASELINE_RESULTS]
    return {"result_rows": sizes, "passes": len(groups)}


def run_child(stage: str, described: Path) -> dict[str, Any]:
    request = load_request(described)
    # Loaded before the clock starts, as in a running monitor: the stage, not Python's imports
    # (Ibis loads its DuckDB compiler on the first connection, about 0.7 s, once per process).
    import duckdb  # noqa: F401
    import ibis

    from clearwatch.adapters.engine.monitor.backends import make_findings_engine

    ibis.duckdb.connect().disconnect()

    data_key = data_key_of(described)  # opened before the clock starts, as `run-day` has it
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    detail: dict[str, Any] = {}
    if stage in ("engine", "engine-encrypted"):
        # CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS applies here as it does to `run-day`.
        from clearwatch.config import Settings

        passes = Settings.from_environment().engine_accounts_per_pass
        engine = make_findings_engine(
            "duckdb", memory_limit=MEMORY_LIMIT, accounts_per_pass=passes, data_key=data_key
        )
        result = engine.compute(request)
        f1 = sum(b.findings[k].amount_fen for b in result.brokers.values() for k in b.findings
                 if k.value == "F1")  # fmt: skip
        detail = {"brokers": len(result.brokers), "f1_fen": f1}
    elif stage == "baseline":
        detail = run_baseline(request)
    elif stage == "join":
        detail = run_baseline(request, JOIN_SQL)
    elif stage == "passes":
        detail = run_baseline_in_passes(request)
    elif stage == "spark":
        from clearwatch.adapters.engine.monitor.backends import SparkFindingsEngine, spark_session

        spark_session()  # the JVM's start is not the comparison's time
        started = time.perf_counter()
        result = SparkFindingsEngine().compute(request)
        detail = {"brokers": len(result.brokers)}
    elif stage == "datacompy":
        detail = run_datacompy(request)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kib = usage.ru_maxrss
    return {
        "stage": stage,
        "seconds": round(seconds, 2),
        # CPU of the whole child, start-up included: steadier than wall time on a shared machine.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "stage_cpu_seconds": round(_cpu_seconds() - cpu_started, 2),  # the stage's own
        "peak_rss_mib": peak_kib // 1024,
        **detail,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the child
    return usage.ru_utime + usage.ru_stime


def run_datacompy(request: EngineRequest) -> dict[str, Any]:
    import datacompy
    import pyarrow.parquet as pq

    cf = request.sources[source_key("broker_daily", "client_funds.csv")]
    dep = request.sources[source_key("bank_daily", "client_depository.csv")]
    left = pa.concat_tables(
        pq.read_table(s.uri, columns=["fund_account", "balance"]).append_column(
            "broker_id", pa.array([s.institution_id] * pq.read_metadata(s.uri).num_rows)
        )
        for s in cf
    ).to_pandas()
    right = pa.concat_tables(
        pq.read_table(s.uri, columns=["broker_id", "fund_account", "balance"]) for s in dep
    ).to_pandas()
    # datacompy 1.x names it PandasCompare; 0.x named it Compare.
    compare_class = getattr(datacompy, "PandasCompare", None) or datacompy.Compare
    compare = compare_class(left, right, join_columns=["broker_id", "fund_account"])
    return {
        "matching_rows": int(compare.count_matching_rows()),
        "only_left": len(compare.df1_unq_rows),
        "only_right": len(compare.df2_unq_rows),
    }


def _print_encryption_cost(runs: dict[str, list[dict[str, Any]]]) -> None:
    """The encrypted engine against the plaintext one: medians of the runs (the machine is
    shared, so the stage's own CPU seconds are the figure to read), the largest peak RSS."""
    if "engine" not in runs or "engine-encrypted" not in runs:
        return
    plain, encrypted = runs["engine"], runs["engine-encrypted"]

    def cost(figure: str) -> float:
        return float(
            statistics.median(r[figure] for r in encrypted)
            / statistics.median(r[figure] for r in plain)
            - 1
        )

    rss = max(r["peak_rss_mib"] for r in encrypted), max(r["peak_rss_mib"] for r in plain)
    same = {r["f1_fen"] for r in encrypted} == {r["f1_fen"] for r in plain}
    fen = "identical" if same else "DIFFERS"
    print(f"encrypted / plaintext engine (medians of {len(encrypted)}): "
          f"{cost('seconds'):+.1%} wall, {cost('stage_cpu_seconds'):+.1%} CPU (goal: ≤ +15 %); "
          f"peak RSS {rss[0]} / {rss[1]} MiB; f1_fen {fen}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="client records per side")
    parser.add_argument("--data", type=Path, default=DATA_DEFAULT)
    parser.add_argument("--spark", action="store_true")
    parser.add_argument("--join", action="store_true", help="also the join-shaped SQL, once")
    parser.add_argument("--passes", action="store_true", help="also the SQL in F1 passes, once")
    parser.add_argument("--datacompy", action="store_true")
    parser.add_argument(
        "--encrypted",
        action="store_true",
        help="the engine on an encrypted copy of the data against the plaintext, alternately",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of engine and baseline")
    parser.add_argument(
        "--only", choices=["spark", "datacompy", "join", "passes"], help="just this stage"
    )
    parser.add_argument("--child", nargs=2, metavar=("STAGE", "REQUEST"))
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], Path(args.child[1]))))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.build_only:
        build(args.data, args.rows, encrypted=args.encrypted)
        return
    # Built in a child: Arrow's allocator keeps its memory, which would sit beside every stage.
    generate = [sys.executable, __file__, "--build-only", "--rows", str(args.rows), "--data"]
    subprocess.run([*generate, str(args.data)], check=True)
    if args.encrypted:
        subprocess.run([*generate, str(args.data), "--encrypted"], check=True)
    print(f"data for {args.rows:,} rows per side ready in {time.perf_counter() - started:.1f} s")
    stages = ["engine", "baseline"] * args.repeat if args.only is None else [args.only]
    if args.encrypted:
        stages = ["engine", "engine-encrypted"] * args.repeat
    stages += ["join"] if args.join and args.only is None else []
    stages += ["passes"] if args.passes and args.only is None else []
    stages += ["spark"] if args.spark and args.only is None else []
    stages += ["datacompy"] if args.datacompy and args.only is None else []
    best: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[dict[str, Any]]] = {}
    for stage in stages:
        request = _described(args.data, args.rows, encrypted=stage == "engine-encrypted")
        child = [sys.executable, __file__, "--child", stage, str(request)]
        out = subprocess.run(child, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{stage}: failed\n{out.stderr[-2000:]}")
            continue
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(figures))
        runs.setdefault(stage, []).append(figures)
        if stage not in best or figures["seconds"] < best[stage]["seconds"]:
            best[stage] = figures
    if args.encrypted:
        _print_encryption_cost(runs)
    if "engine" in best and "baseline" in best:
        ratio = best["engine"]["seconds"] / best["baseline"]["seconds"]
        rate = args.rows / best["engine"]["seconds"]
        print(f"engine / hand-written DuckDB SQL = {ratio:.2f} (target ≤ 1.3); "
              f"{rate:,.0f} client rows per side per second")  # fmt: skip


if __name__ == "__main__":
    main()
