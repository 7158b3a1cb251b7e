"""The findings engine on a chosen backend: DuckDB (default), PostgreSQL or Spark `local[2]`.

The expressions in `findings.py` are the same for all three; only how the stored Parquet
becomes tables differs (see `sources.py`).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy.engine import make_url

from clearwatch.adapters.columnar_keys import DataKey
from clearwatch.adapters.engine.encrypted_scan import read_encrypted_parquet, rows_of_objects
from clearwatch.adapters.engine.monitor.findings import (
    AccountGroup,
    Materialize,
    assemble_result,
    run_queries,
)
from clearwatch.adapters.engine.monitor.sources import (
    SourceTables,
    build_sources,
    filings_table,
    source_key,
    stored_schema,
    tagged_arrow,
)
from clearwatch.config import EngineBackend
from clearwatch.domain.monitor.findings import EngineRequest, EngineResult, StoredPackageFile
from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.services.monitor.run_ports import ComparisonFailed

spark_master_default = "local[2]"
spark_shuffle_partitions = 2  # small local runs; the default 200 is for clusters
# Client fund rows compared (F1) in one DuckDB pass. A pass's hash table stays in memory at any
# size up to tens of millions (10 M: about 3 GiB); a few million per pass also keeps it closer
# to the CPU's caches: at 10 M per side, passes of 3–4 M ran 10–30 % faster than one pass.
accounts_per_pass_default = 4_000_000


class EngineConfigurationError(ConfigurationError):
    """The configured engine cannot be used."""


class DuckDBFindingsEngine:
    """Embedded default: reads the Parquet in place, in memory, no server."""

    backend = EngineBackend.DUCKDB

    def __init__(
        self,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        accounts_per_pass: int = accounts_per_pass_default,
        data_key: DataKey | None = None,
    ) -> None:
        self._data_key = data_key  # an encrypted store's: every object is read with it
        # Past `memory_limit` (e.g. "8GB") DuckDB spills joins and aggregations to disk.
        self._config = {
            key: value
            for key, value in (("threads", threads), ("memory_limit", memory_limit))
            if value is not None
        }
        if accounts_per_pass < 1:
            raise EngineConfigurationError(
                f"CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS must be at least 1, not {accounts_per_pass}"
            )
        self.accounts_per_pass = accounts_per_pass

    def compute(self, request: EngineRequest) -> EngineResult:
        import duckdb

        con = ibis.duckdb.connect(**self._config)
        key = self._data_key
        try:
            if key is not None:
                key.register_in_duckdb(con.con)
            with _data_failures(duckdb.Error):
                tables = build_sources(
                    request,
                    lambda _attribute, sender, schema, sources: _duckdb_scan(
                        con, sender, schema, sources, key
                    ),
                    ibis.memtable(filings_table(request.filings)),
                )
                groups = _account_groups(con, request, self.accounts_per_pass, key)
                rows = run_queries(
                    tables,
                    request,
                    materialize=_temporary_table(con),
                    account_groups=groups,
                    backend_sums_int64_exactly=True,  # into HUGEINT
                )
            return assemble_result(rows)
        finally:
            con.disconnect()


class SparkFindingsEngine:
    """Spark through Ibis: `local[2]` here, a cluster or Spark Connect with another master."""

    backend = EngineBackend.SPARK

    def __init__(self, *, master: str = spark_master_default) -> None:
        self._master = master

    def compute(self, request: EngineRequest) -> EngineResult:
        session = spark_session(self._master)
        con = ibis.pyspark.connect(session)
        small_table = _spark_small_table(con, session)

        def read(
            attribute: str, sender: str, schema: pa.Schema, sources: tuple[StoredPackageFile, ...]
        ) -> ir.Table:
            if not sources:
                return small_table(schema.empty_table())
            return _spark_scan(con, session, sender, schema, sources)

        with _data_failures(*_spark_errors()):
            tables = build_sources(request, read, small_table(filings_table(request.filings)))
            rows = run_queries(tables, request, materialize=_spark_cache)
        return assemble_result(rows)


class PostgresFindingsEngine:
    """PostgreSQL: the day's files are loaded into a scratch schema, compared, then dropped."""

    backend = EngineBackend.POSTGRES

    def __init__(self, *, url: str, data_key: DataKey | None = None) -> None:
        self._url = url
        self._data_key = data_key  # an encrypted store's: every object is read with it

    def compute(self, request: EngineRequest) -> EngineResult:
        import psycopg

        con = ibis.postgres.connect(**_postgres_arguments(self._url))
        try:
            with _scratch_schema(con) as schema, _data_failures(psycopg.DataError):
                tables = _loaded_sources(con, schema, request, self._data_key)
                materialize = _temporary_table(con, bytewise_text=True)
                rows = run_queries(
                    tables, request, materialize=materialize, backend_sums_int64_exactly=True
                )  # into numeric
            return assemble_result(rows)
        finally:
            con.disconnect()


failure_reason_chars_max = 300  # of the engine's message, kept as a could_not_compare reason


@contextmanager
def _data_failures(*errors: type[BaseException]) -> Iterator[None]:
    """The backend's data errors, and unreadable files, become `ComparisonFailed`.

    Bad data in one sender's file must not look like a broken engine: the run compares each
    package alone to find whose it was. Errors of the engine's set-up (a refused connection)
    are not caught here and stop the run.
    """
    try:
        yield
    except (*errors, pa.ArrowException, OSError) as error:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        raise ComparisonFailed(lines[0][:failure_reason_chars_max]) from error


def _spark_errors() -> tuple[type[BaseException], ...]:
    """Spark's errors about a query: analysis, arithmetic, unreadable files (Java's, converted)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)


FindingsEngineImpl = DuckDBFindingsEngine | SparkFindingsEngine | PostgresFindingsEngine


def make_findings_engine(
    backend: str,
    *,
    postgres_url: str | None = None,
    memory_limit: str | None = None,
    accounts_per_pass: int | str | None = None,
    spark_master: str = spark_master_default,
    data_key: DataKey | None = None,
) -> FindingsEngineImpl:
    """The engine named by configuration (`CLEARWATCH_ENGINE`; for DuckDB
    `CLEARWATCH_ENGINE_MEMORY_LIMIT` and `CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS`, for Spark
    `CLEARWATCH_SPARK_MASTER`); `data_key` is an encrypted columnar store's."""
    try:
        chosen = EngineBackend(backend)
    except ValueError as error:
        choices = ", ".join(b.value for b in EngineBackend)
        raise EngineConfigurationError(f"CLEARWATCH_ENGINE must be one of {choices}") from error
    if chosen is EngineBackend.DUCKDB:
        return DuckDBFindingsEngine(
            memory_limit=memory_limit,
            accounts_per_pass=_accounts_per_pass(accounts_per_pass),
            data_key=data_key,
        )
    if chosen is EngineBackend.SPARK:
        if data_key is not None:
            # Spark's Parquet encryption unwraps a key per file through a KMS client, from
            # key material each file carries; it takes no plain store-wide key (issue 18).
            raise EngineConfigurationError(
                "CLEARWATCH_ENGINE=spark cannot read an encrypted columnar store: use the "
                "duckdb or postgres engine"
            )
        return SparkFindingsEngine(master=spark_master)
    if not postgres_url or not postgres_url.startswith("postgresql"):
        raise EngineConfigurationError(
            "the postgres engine needs CLEARWATCH_ENGINE_URL or a PostgreSQL database URL"
        )
    return PostgresFindingsEngine(url=postgres_url, data_key=data_key)


def _accounts_per_pass(text: int | str | None) -> int:
    if text is None:
        return accounts_per_pass_default
    if isinstance(text, int):
        return text
    try:
        return int(text.replace("_", "").replace(",", ""))
    except ValueError as error:
        raise EngineConfigurationError(
            f"CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS must be a whole number of rows, not {text!r}"
        ) from error


def _duckdb_scan(
    con: Any,
    sender: str,
    schema: pa.Schema,
    sources: tuple[StoredPackageFile, ...],
    key: DataKey | None = None,
) -> ir.Table:
    """All files of one kind in one DuckDB scan, tagged by a join on the file's path.

    One scan of many files parallelises far better than a union of one view per file, and
    creating hundreds of views costs seconds by itself. Identical content sent by two
    institutions is one content-addressed file, so its path maps to every sender.
    """
    if not sources:
        # On this connection, not as a bare memtable: a query whose inputs were all memtables
        # would run on Ibis's default backend, one DuckDB connection shared by every thread
        # of the process ("connection is busy with another call" when two run-days meet).
        empty = ibis.memtable(schema.empty_table())
        return con.create_view(f"cw_empty_{uuid.uuid4().hex[:12]}", empty)
    owners = ibis.memtable(
        pa.table(
            {
                "cw_file": [source.uri for source in sources],
                sender: [source.institution_id for source in sources],
            }
        )
    )
    uris = sorted({source.uri for source in sources})
    scanned = (
        con.read_parquet(uris, filename=True)
        if key is None
        else read_encrypted_parquet(con, uris, key, filename=True)
    )
    tagged = scanned.join(owners, scanned.filename == owners.cw_file)
    selected = tagged.select(
        tagged[sender].cast("string"),
        *[tagged[name] for name in schema.names if name != sender],
    )
    # A view, not an expression: Ibis would put a table used by several findings into a CTE,
    # and DuckDB materialises a CTE referenced more than once: at 100 million client rows
    # that is a copy of the whole file set in memory, spilled to disk. A view is re-read.
    return con.create_view(f"cw_scan_{uuid.uuid4().hex[:12]}", selected)


def _account_groups(
    con: Any, request: EngineRequest, accounts_per_pass: int, data_key: DataKey | None = None
) -> list[AccountGroup]:
    """The submitted brokers in id order, cut into groups of about `accounts_per_pass` client
    fund rows, each with a scan of its own brokers' files; none when one pass holds them all.

    Past a few tens of millions of accounts F1's aggregation outgrows memory and DuckDB spills
    it to disk. Compared a group at a time, each pass stays in memory: at 100 million accounts
    per side, ten passes took 43–51 s and 3.1 GiB where one took 57–64 s and 7.5 GiB; smaller
    passes also keep the hash table nearer the CPU's caches. Every pass reads the bank side
    again, but only its group's range of broker ids leaves the scan (cheaply: `broker_id` is
    stored as a dictionary, see `FileSpec.few_valued_columns`).
    """
    key = source_key(PackageKind.BROKER_DAILY, "client_funds.csv")
    sources = [
        s for s in request.sources.get(key, ()) if s.institution_id in request.submitted_broker_ids
    ]
    if not sources:
        return []
    rows_of_file = _rows_of_files(con, sorted({source.uri for source in sources}), data_key)
    rows_of_broker: dict[str, int] = defaultdict(int)
    sources_of_broker: dict[str, list[StoredPackageFile]] = defaultdict(list)
    for source in sources:
        rows_of_broker[source.institution_id] += rows_of_file.get(source.uri, 0)
        sources_of_broker[source.institution_id].append(source)
    schema = stored_schema(PackageKind.BROKER_DAILY, "client_funds.csv", "broker_id")
    return [
        AccountGroup(
            broker_ids=frozenset(brokers),
            client_funds=_duckdb_scan(
                con,
                "broker_id",
                schema,
                tuple(s for b in brokers for s in sources_of_broker[b]),
                data_key,
            ),
        )
        for brokers in broker_passes(rows_of_broker, accounts_per_pass)
    ]


def _rows_of_files(con: Any, uris: list[str], key: DataKey | None) -> dict[str, int]:
    """Each file's rows, from its footer. `parquet_file_metadata` takes no key: an encrypted
    file's footer is decrypted and read by pyarrow, rather than its rows counted by a scan."""
    if key is not None:
        return rows_of_objects(uris, key)
    query = "SELECT file_name, num_rows FROM parquet_file_metadata(?)"
    return {name: int(rows) for name, rows in con.con.execute(query, [uris]).fetchall()}


def broker_passes(rows_of_broker: Mapping[str, int], accounts_per_pass: int) -> list[list[str]]:
    """Brokers in id order cut into passes of about equal rows, none above `accounts_per_pass`
    unless one broker alone is; no passes (compare at once) when the whole market fits in one.

    A pass ends where the running total's next even share is reached (judged at a broker's
    middle row), so 100 equal brokers in three passes are 33, 34 and 33, not 33, 33, 33 and 1.
    """
    total = sum(rows_of_broker.values())
    if total <= accounts_per_pass:
        return []
    share = total / math.ceil(total / accounts_per_pass)
    passes: list[list[str]] = [[]]
    filled = before = 0
    for broker_id in sorted(rows_of_broker):
        rows = rows_of_broker[broker_id]
        past_share = before + rows / 2 > len(passes) * share
        if passes[-1] and (filled + rows > accounts_per_pass or past_share):
            passes.append([])
            filled = 0
        passes[-1].append(broker_id)
        filled += rows
        before += rows
    return passes


def _spark_scan(
    con: Any, session: Any, sender: str, schema: pa.Schema, sources: tuple[StoredPackageFile, ...]
) -> ir.Table:
    """All files of one kind in one Spark scan, tagged by a join on the file name.

    One scan lets Spark pack many small files into few partitions; reading file by file would
    schedule a task per file per stage. Identical content sent by two institutions is one
    content-addressed file, so the name maps to every sender that sent it.
    """
    from pyspark.sql import functions as F

    owners = session.createDataFrame(
        [(_file_name(source.uri), source.institution_id) for source in sources],
        f"cw_file string, {sender} string",
    )
    columns = [name for name in schema.names if name != sender]
    scanned = (
        session.read.parquet(*sorted({source.uri for source in sources}))
        .withColumn("cw_file", F.element_at(F.split(F.input_file_name(), "/"), -1))
        .join(F.broadcast(owners), "cw_file")
        .select(sender, *columns)
    )
    name = f"cw_scan_{uuid.uuid4().hex[:12]}"
    scanned.createOrReplaceTempView(name)
    return con.table(name)


def _file_name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def _spark_small_table(con: Any, session: Any) -> Callable[[pa.Table], ir.Table]:
    """Small Arrow tables as Spark temporary views (Ibis memtables do not survive caching)."""

    def register(table: pa.Table) -> ir.Table:
        name = f"cw_small_{uuid.uuid4().hex[:12]}"
        session.createDataFrame(table).createOrReplaceTempView(name)
        return con.table(name)

    return register


def _loaded_sources(
    con: Any, schema: str, request: EngineRequest, key: DataKey | None
) -> SourceTables:
    def load(name: str, table: pa.Table) -> ir.Table:
        con.create_table(name, table, database=schema)
        return con.table(name, database=schema)

    def read(
        attribute: str, sender: str, arrow_schema: pa.Schema, sources: tuple[StoredPackageFile, ...]
    ) -> ir.Table:
        decryption = None if key is None else key.decryption()
        return load(attribute, tagged_arrow(sender, arrow_schema, sources, decryption))

    return build_sources(request, read, load("filings", filings_table(request.filings)))


def _temporary_table(con: Any, *, bytewise_text: bool = False) -> Materialize:
    """A temporary table of the session, dropped by plain SQL when the results are read.

    `bytewise_text` (PostgreSQL): its text columns compare and sort by their bytes, as on DuckDB
    and Spark, whatever the database's collation. Under ICU's en-US 'Ba02' sorts before 'BZ01',
    and the evidence kept among equal amounts (ordered by reference) would differ.
    """

    @contextmanager
    def materialize(parts: Sequence[ir.Table]) -> Iterator[ir.Table]:
        name = f"cw_items_{uuid.uuid4().hex[:12]}"
        table = con.create_table(name, parts[0], temp=True)
        try:
            for part in parts[1:]:
                con.insert(name, part)  # INSERT … SELECT: the rows never leave the engine
            texts = [column for column, kind in table.schema().items() if kind.is_string()]
            if bytewise_text and texts:
                changes = ", ".join(f'ALTER COLUMN "{c}" TYPE text COLLATE "C"' for c in texts)
                con.raw_sql(f'ALTER TABLE "{name}" {changes}').close()  # same types, same name
            yield table
        finally:
            con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')

    return materialize


@contextmanager
def _spark_cache(parts: Sequence[ir.Table]) -> Iterator[ir.Table]:
    """Spark keeps the items as a cached DataFrame for the three reads."""
    cached = (parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)).cache()
    try:
        yield cached
    finally:
        cached.release()


@contextmanager
def _scratch_schema(con: Any) -> Iterator[str]:
    schema = f"cw_engine_{uuid.uuid4().hex[:12]}"
    con.raw_sql(f'CREATE SCHEMA "{schema}"').close()
    try:
        yield schema
    finally:
        con.raw_sql(f'DROP SCHEMA "{schema}" CASCADE').close()


def _postgres_arguments(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    arguments: dict[str, Any] = {
        "host": parsed.host or "localhost",
        "port": parsed.port or 5432,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }
    return {key: value for key, value in arguments.items() if value is not None}


_spark_lock = threading.Lock()
_spark_sessions: dict[str, Any] = {}


def spark_session(master: str = spark_master_default) -> Any:
    """One Spark session per process and master: starting the JVM takes seconds."""
    from pyspark.sql import SparkSession

    with _spark_lock:
        if master not in _spark_sessions:
            _spark_sessions[master] = (
                SparkSession.builder.master(master)
                .appName("clearwatch-findings")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", str(spark_shuffle_partitions))
                .config("spark.ui.enabled", "false")
                .config("spark.sql.ansi.enabled", "true")
                # Adaptive re-planning costs more than it saves on small local runs.
                .config("spark.sql.adaptive.enabled", str(not master.startswith("local")).lower())
                .getOrCreate()
            )
            _spark_sessions[master].sparkContext.setLogLevel("ERROR")
        return _spark_sessions[master]
