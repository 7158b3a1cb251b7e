"""One conformance suite: the same findings expressions on DuckDB, PostgreSQL and Spark.

Identical stored-Parquet fixtures go to each backend; the engine's results must be equal to the
last fen, evidence included. PostgreSQL needs CLEARWATCH_TEST_POSTGRES_URL (skipped only when
unset); Spark runs `local[2]` in one session for the module, since starting it takes seconds.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.columnar_keys import DataKey, MasterKeySource
from clearwatch.adapters.engine.monitor.backends import (
    DuckDBFindingsEngine,
    EngineConfigurationError,
    PostgresFindingsEngine,
    SparkFindingsEngine,
    accounts_per_pass_default,
    broker_passes,
    make_findings_engine,
)
from clearwatch.adapters.engine.monitor.sources import file_spec
from clearwatch.config import Settings
from clearwatch.domain.monitor.findings import (
    EngineRequest,
    EngineResult,
    FindingCode,
    StoredPackageFile,
)
from tests.conftest import postgres_url_or_skip
from tests.integration.engine.fixtures import (
    FEN_MAX,
    LARGEST_COUNT,
    cf,
    dep,
    eventful_day,
    largest_values_day,
    write_day,
)

BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres), "spark"]


def partial_day(directory: Path) -> EngineRequest:
    """The eventful day as if K002 and CSDC had not submitted."""
    full = eventful_day(directory)
    return dataclasses.replace(
        full,
        sources={
            key: tuple(s for s in sources if s.institution_id not in {"K002", "C001"})
            for key, sources in full.sources.items()
        },
        submitted_bank_ids=frozenset({"K001"}),
        csdc_submitted=False,
    )


@pytest.fixture(scope="module")
def requests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EngineRequest]:
    root = tmp_path_factory.mktemp("engine-days")
    return {
        "eventful": eventful_day(root / "eventful"),
        "partial": partial_day(root / "partial"),
        "largest": largest_values_day(root / "largest"),
    }


def _engine(backend: str) -> DuckDBFindingsEngine | PostgresFindingsEngine | SparkFindingsEngine:
    if backend == "duckdb":
        return DuckDBFindingsEngine()
    if backend == "spark":
        return SparkFindingsEngine()
    return PostgresFindingsEngine(url=postgres_url_or_skip())


@pytest.fixture(scope="module")
def results(requests: dict[str, EngineRequest]) -> dict[tuple[str, str], EngineResult]:
    """Computed lazily per backend, once for the module."""
    return {}


def _result(
    backend: str,
    day: str,
    requests: dict[str, EngineRequest],
    results: dict[tuple[str, str], EngineResult],
) -> EngineResult:
    if (backend, day) not in results:
        results[(backend, day)] = _engine(backend).compute(requests[day])
    return results[(backend, day)]


def test_duckdb_finds_every_finding_of_the_eventful_day_to_the_fen(
    requests: dict[str, EngineRequest], results: dict[tuple[str, str], EngineResult]
) -> None:
    result = _result("duckdb", "eventful", requests, results)
    b001 = result.brokers["B001"]
    assert {code: f.amount_fen for code, f in b001.findings.items()} == {
        FindingCode.F1: 1500, FindingCode.F2: 4000, FindingCode.F3: 13300,
        FindingCode.F4: 3500, FindingCode.F5: 1200, FindingCode.F6: 12200,
        FindingCode.F7: 300, FindingCode.F8: 2000, FindingCode.F9: 0,
    }  # fmt: skip
    assert b001.findings[FindingCode.F9].items_count == 1  # F9 counts accounts, never fen
    # F7 is Σ|diff| of the reserve (SZ 1.00) and of D's net settlement (SZ 2.00).
    assert sorted(
        (e.ref, dict(e.detail).get("kind", "reserve"), e.amount_fen)
        for e in b001.findings[FindingCode.F7].evidence
    ) == [("SZ", "net_settlement", 200), ("SZ", "reserve", 100)]
    assert b001.client_fund_balance_fen == 92000 and b001.affected_accounts == 4
    assert [e.ref for e in b001.findings[FindingCode.F1].evidence] == ["A2", "A9"]
    assert result.brokers["B002"].findings == {}
    assert [(r.bank_id, r.branch_region, r.finding.amount_fen) for r in result.bank_regions] == [
        ("K001", "CITY-SZ", 3000), ("K001", "CN-SH", 4000),
    ]  # fmt: skip


def test_missing_banks_and_csdc_are_not_differences(
    requests: dict[str, EngineRequest], results: dict[tuple[str, str], EngineResult]
) -> None:
    result = _result("duckdb", "partial", requests, results)
    b001 = result.brokers["B001"].findings
    assert b001[FindingCode.F1].amount_fen == 1500  # A5 at K002 is not compared
    assert FindingCode.F7 not in b001  # no CSDC reserve to compare with
    b002 = result.brokers["B002"].findings
    assert FindingCode.F1 not in b002 and FindingCode.F6 not in b002


@pytest.mark.parametrize("day", ["eventful", "partial", "largest"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_gives_exactly_duckdbs_result(
    backend: str,
    day: str,
    requests: dict[str, EngineRequest],
    results: dict[tuple[str, str], EngineResult],
) -> None:
    expected = _result("duckdb", day, requests, results)
    assert _result(backend, day, requests, results) == expected


@pytest.mark.parametrize("backend", BACKENDS)
def test_sums_beyond_int64_are_exact_on_every_backend(
    backend: str, requests: dict[str, EngineRequest], results: dict[tuple[str, str], EngineResult]
) -> None:
    """13 values at the grammar's largest amount: each valid, their sums past int64."""
    result = _result(backend, "largest", requests, results)
    b001 = result.brokers["B001"]
    n = LARGEST_COUNT
    assert b001.client_fund_balance_fen == n * FEN_MAX
    amounts = {code: finding.amount_fen for code, finding in b001.findings.items()}
    assert amounts == {
        FindingCode.F1: n * FEN_MAX,  # no bank depository row: each account differs whole
        FindingCode.F3: 2 * n * FEN_MAX - FEN_MAX,  # the banks hold −n·max, CSDC +max
        FindingCode.F4: n * FEN_MAX,
        FindingCode.F6: 2 * n * FEN_MAX,
        FindingCode.F7: 2 * FEN_MAX,
    }
    [k001] = result.bank_regions
    assert k001.finding.amount_fen == n * FEN_MAX


def test_duckdb_under_a_memory_ceiling_gives_the_same_result(
    requests: dict[str, EngineRequest], results: dict[tuple[str, str], EngineResult]
) -> None:
    """CLEARWATCH_ENGINE_MEMORY_LIMIT reaches DuckDB; under it the comparison may spill, and
    its answer does not change."""
    settings = Settings.from_environment({"CLEARWATCH_ENGINE_MEMORY_LIMIT": "512MB"})
    assert settings.engine_memory_limit == "512MB"
    engine = make_findings_engine("duckdb", memory_limit=settings.engine_memory_limit)
    assert engine.compute(requests["eventful"]) == _result("duckdb", "eventful", requests, results)
    assert Settings.from_environment({}).engine_memory_limit is None


def three_brokers_one_silent(directory: Path) -> EngineRequest:
    """B001 and B003 submit, B002 does not; the bank reports accounts of all three.

    B002's depository rows lie between the two others' ids, where a pass over a range of
    brokers could pick them up; they must not become findings in any pass."""
    day = {
        "B001": {"client_funds": [cf("A1", 100_00), cf("A2", 50_00)]},
        "B003": {"client_funds": [cf("A1", 300_00), cf("C3", 20_00)]},
        "K001": {
            "depository": [
                dep("B001", "A1", 90_00),  # F1 10.00 at B001, + A2's 50.00 (not at the bank)
                dep("B002", "A1", 999_00),  # B002 did not submit: not compared
                dep("B002", "Q7", 1_00),
                dep("B003", "A1", 300_00),
                dep("B003", "D4", 7_00),  # only at the bank: F1 7.00 + C3's 20.00 at B003
            ]
        },
    }
    empty: dict[str, list[dict[str, object]]] = {
        "broker_special": [],
        "broker_reserve": [],
        "fee_income": [],
    }
    for broker in ("B001", "B003"):
        day[broker] = {**empty, **day[broker]}
    return write_day(directory, day, filings=[])


@pytest.mark.parametrize("day", ["eventful", "partial", "three_brokers", "mixed_case"])
def test_duckdb_comparing_a_broker_per_pass_gives_the_same_result(
    day: str, tmp_path: Path, requests: dict[str, EngineRequest]
) -> None:
    """Past `accounts_per_pass` client rows the market is compared a group of brokers at a
    time; with a budget of one row every broker is its own pass, and nothing changes."""
    own_days = {"three_brokers": three_brokers_one_silent, "mixed_case": mixed_case_day}
    request = own_days[day](tmp_path) if day in own_days else requests[day]
    at_once = DuckDBFindingsEngine().compute(request)
    broker_by_broker = DuckDBFindingsEngine(accounts_per_pass=1).compute(request)
    assert broker_by_broker == at_once
    if day == "three_brokers":
        f1 = {b: a.findings[FindingCode.F1].amount_fen for b, a in at_once.brokers.items()}
        assert f1 == {"B001": 60_00, "B003": 27_00}
        assert at_once.brokers["B003"].affected_accounts == 2


def test_brokers_are_cut_into_even_passes_in_id_order() -> None:
    rows = {"B03": 4, "B01": 3, "B02": 3, "B04": 2}  # 12 rows
    assert broker_passes(rows, 12) == []  # fits in one pass: compared at once
    assert broker_passes(rows, 6) == [["B01", "B02"], ["B03", "B04"]]
    assert broker_passes(rows, 5) == [["B01"], ["B02"], ["B03"], ["B04"]]  # 3 passes of 4 fail
    even = broker_passes({f"B{n:03d}": 100 for n in range(100)}, 4_000)  # 10,000 rows
    assert [len(brokers) for brokers in even] == [33, 34, 33]
    # One broker above the budget has a pass of its own; small ones share theirs.
    assert broker_passes({"B01": 1, "BIG": 50, "B99": 1}, 10) == [["B01", "B99"], ["BIG"]]
    with pytest.raises(EngineConfigurationError):
        DuckDBFindingsEngine(accounts_per_pass=0)


def test_the_pass_size_comes_from_the_environment_and_bad_values_are_named() -> None:
    environment = {"CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS": "2_000_000"}
    settings = Settings.from_environment(environment)
    engine = make_findings_engine("duckdb", accounts_per_pass=settings.engine_accounts_per_pass)
    assert isinstance(engine, DuckDBFindingsEngine) and engine.accounts_per_pass == 2_000_000
    default = make_findings_engine("duckdb", accounts_per_pass=None)
    assert isinstance(default, DuckDBFindingsEngine)
    assert default.accounts_per_pass == accounts_per_pass_default
    for bad in ("many", "0", "-5"):
        with pytest.raises(EngineConfigurationError, match="CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS"):
            make_findings_engine("duckdb", accounts_per_pass=bad)


def mixed_case_day(directory: Path) -> EngineRequest:
    """Broker ids that a language collation orders unlike bytes: 'BZ01' < 'Ba02' in Python and
    DuckDB, 'Ba02' < 'BZ01' in en-US. Each broker has one account differing at the bank."""
    empty: dict[str, list[dict[str, object]]] = {
        "broker_special": [],
        "broker_reserve": [],
        "fee_income": [],
    }
    day = {
        "BZ01": {**empty, "client_funds": [cf("A1", 100_00), cf("A2", 5_00)]},
        "Ba02": {
            **empty,
            # Six overdrawn accounts of the same amount: the five kept as F2's evidence are
            # the first by reference, whose order must not depend on the collation either.
            "client_funds": [cf("A1", 200_00)]
            + [cf(ref, -1_00) for ref in ("a1", "B1", "c1", "D1", "e1", "F1")],
        },
        "K001": {
            "depository": [
                dep("BZ01", "A1", 100_00),
                dep("BZ01", "A2", 4_00),
                dep("Ba02", "A1", 150_00),
            ]
        },
    }
    return write_day(directory, day, filings=[])


@contextmanager
def language_collated_database(url: str) -> Iterator[str]:
    """A scratch database whose text sorts by ICU's en-US rules, as many production servers do."""
    server = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"cw_icu_{uuid.uuid4().hex[:10]}"
    with server.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()


@pytest.mark.postgres
def test_postgres_under_a_language_collation_gives_duckdbs_result(tmp_path: Path) -> None:
    """Nothing in the comparison may depend on how the database orders text."""
    url = postgres_url_or_skip()
    request = mixed_case_day(tmp_path)
    expected = DuckDBFindingsEngine().compute(request)
    f1 = {b: a.findings[FindingCode.F1].amount_fen for b, a in expected.brokers.items()}
    assert f1 == {"BZ01": 1_00, "Ba02": 50_00}
    with language_collated_database(url) as collated:
        assert PostgresFindingsEngine(url=collated).compute(request) == expected


# -- an encrypted columnar store (issue 18) ---------------------------------------------------


@pytest.fixture(scope="module")
def encrypted(
    requests: dict[str, EngineRequest], tmp_path_factory: pytest.TempPathFactory
) -> tuple[DataKey, dict[str, EngineRequest]]:
    """The same days, each file stored as `monitor submit` stores it, in an encrypted store."""
    key_text = base64.b64encode(os.urandom(32)).decode("ascii")
    keys = MasterKeySource(encrypt=True, key_text=key_text)
    store = ParquetStore(str(tmp_path_factory.mktemp("encrypted") / "columnar"), keys=keys)

    def stored(source_key: str, source: StoredPackageFile) -> StoredPackageFile:
        kind, name = source_key.split("/", 1)
        few_valued = file_spec(kind, name).few_valued_columns
        digest = store.put_table(pq.read_table(source.uri), dictionary_columns=few_valued)
        return dataclasses.replace(source, uri=store.uri(digest))

    days = {
        day: dataclasses.replace(
            request,
            sources={k: tuple(stored(k, s) for s in v) for k, v in request.sources.items()},
        )
        for day, request in requests.items()
    }
    assert store.data_key is not None
    return store.data_key, days


@pytest.mark.parametrize("day", ["eventful", "partial", "largest"])
@pytest.mark.parametrize("backend", BACKENDS[:2])  # not Spark: see the last test
def test_an_encrypted_store_gives_exactly_the_plaintext_result(
    backend: str,
    day: str,
    requests: dict[str, EngineRequest],
    results: dict[tuple[str, str], EngineResult],
    encrypted: tuple[DataKey, dict[str, EngineRequest]],
) -> None:
    key, days = encrypted
    url = postgres_url_or_skip() if backend == "postgres" else None
    engine = make_findings_engine(backend, postgres_url=url, data_key=key)
    assert engine.compute(days[day]) == _result("duckdb", day, requests, results)


def test_duckdb_in_passes_on_an_encrypted_store_gives_the_same_result(
    requests: dict[str, EngineRequest],
    results: dict[tuple[str, str], EngineResult],
    encrypted: tuple[DataKey, dict[str, EngineRequest]],
) -> None:
    """Each pass counts and scans its brokers' encrypted files (no `parquet_file_metadata`)."""
    key, days = encrypted
    engine = DuckDBFindingsEngine(accounts_per_pass=1, data_key=key)
    assert engine.compute(days["eventful"]) == _result("duckdb", "eventful", requests, results)


def test_spark_refuses_an_encrypted_store_by_name() -> None:
    with pytest.raises(EngineConfigurationError, match="CLEARWATCH_ENGINE=spark cannot read"):
        make_findings_engine("spark", data_key=DataKey(os.urandom(32)))
