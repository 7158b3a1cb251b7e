"""Defects the reliability harnesses found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import ibis
import pytest
from reliability.stores import same_store

from clearwatch.adapters.reports.monitor_day_html import render_day_report
from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.domain.access.roles import Role
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.domain.monitor.receipt import Receipt, ReceiptStatus
from clearwatch.domain.monitor.rejections import PackageRule
from clearwatch.domain.monitor.report import DayResult
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.submit_package import submit_package
from tests.integration.monitor.conftest import load
from tests.support.identities import gate_of, submit_as_owner
from tests.support.packages import write_package, write_registry

DAY = date(2026, 11, 20)
RESERVE_HEADER = "market,balance"
SECONDS_MAX = 20  # a refusal takes milliseconds; this long means the call is stuck
RUN_DAYS_AT_ONCE = 3
DATES_RACED = 4
T = TypeVar("T")


@pytest.fixture
def registered(sqlite_app: Application, tmp_path: Path) -> Application:
    assert load(sqlite_app, write_registry(tmp_path / "registry")).loaded
    return sqlite_app


def _broker_package(root: Path, reserve: bytes) -> Path:
    """A broker_daily package whose settlement_reserve.csv is `reserve`, hashed as it is."""
    directory = write_package(root, "broker_daily", "B001", DAY, {})
    (directory / "settlement_reserve.csv").write_bytes(reserve)
    return _rehashed(directory)


def _rehashed(directory: Path) -> Path:
    import hashlib
    import json

    manifest = json.loads((directory / "manifest.json").read_text())
    for entry in manifest["files"]:
        entry["sha256"] = hashlib.sha256((directory / entry["name"]).read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def _within(seconds: float, call: Callable[[], T]) -> T:
    """`call`'s result, or a failure if it has not returned in `seconds` (left hanging)."""
    outcome: list[T | BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed back to the test below
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still running after {seconds} s"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def test_the_day_report_of_one_result_is_the_same_bytes_every_time_it_is_written() -> None:
    # Crash harness: a run-day killed after its commit and re-run rewrote the day's report with
    # other bytes than the clean run's (plotly drew random element ids for the charts).
    result = DayResult(
        business_date=date(2026, 11, 16),
        rules_version="rules-test",
        institutions=(),
        missing_packages=(),
        reminders=(),
        evidence_rows_max=10,
    )
    first = render_day_report(result)
    # The charts (once plotly's, with random element ids; now SVG with fixed ids) are in it.
    assert 'id="ratio-chart"' in first and 'id="amount-chart"' in first
    assert render_day_report(result) == first


@pytest.mark.parametrize(
    "reserve",
    [
        b"\xef\xbb\xbf\xef\xbb\xbfmarket,balance\nSH,1.00\n",  # a second byte-order mark
        b"market,\xef\xbb\xbfbalance\nSH,1.00\n",  # one before a later column's name
    ],
)
def test_a_byte_order_mark_inside_a_header_name_gets_a_receipt_naming_the_column(
    registered: Application, tmp_path: Path, reserve: bytes
) -> None:
    # Fuzz harness: the header check stripped every U+FEFF from every name, the parser only
    # the file's first one: the parser was then asked for a column it did not have and the
    # submit ended in pyarrow's ArrowKeyError instead of a receipt.
    receipt = submit_as_owner(registered, _broker_package(tmp_path / "p", reserve))
    assert receipt.status is ReceiptStatus.REJECTED
    missing = {(e.code, e.file, e.line, e.column) for e in receipt.errors}
    assert (
        PackageRule.HEADER_COLUMN_MUST_BE_PRESENT,
        "settlement_reserve.csv",
        1,
        "market" if reserve.startswith(b"\xef") else "balance",
    ) in missing


def test_one_byte_order_mark_is_still_no_part_of_the_first_name(
    registered: Application, tmp_path: Path
) -> None:
    reserve = {"settlement_reserve.csv": f"{RESERVE_HEADER}\nSH,1.00\n"}
    package = write_package(
        tmp_path / "p", "broker_daily", "B001", DAY, reserve, encoding="gb18030"
    )
    path = package / "settlement_reserve.csv"
    path.write_bytes(b"\x84\x31\x95\x33" + path.read_bytes())  # GB18030's byte-order mark
    receipt: Receipt = submit_as_owner(registered, _rehashed(package))
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors


def test_a_header_without_a_line_break_after_it_is_a_file_of_no_rows(
    registered: Application, tmp_path: Path
) -> None:
    # Fuzz harness: valid RFC 4180 (the last line break is optional), but pyarrow cannot parse
    # a lone header without one, and the package was rejected as csv_must_be_well_formed.
    receipt = submit_as_owner(registered, _broker_package(tmp_path / "p", b"market,balance"))
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors
    assert receipt.row_counts["settlement_reserve.csv"] == 0


def test_an_unterminated_quote_is_named_with_the_line_its_record_starts_on(
    registered: Application, tmp_path: Path
) -> None:
    # Fuzz harness: the rejection named the file but no line ("malformed rows").
    reserve = b'market,balance\nSH,1.00\n"SZ,2.00\n'
    receipt = submit_as_owner(registered, _broker_package(tmp_path / "p", reserve))
    assert receipt.status is ReceiptStatus.REJECTED
    located = [(e.code, e.file, e.line) for e in receipt.errors]
    assert (PackageRule.CSV_MUST_BE_WELL_FORMED, "settlement_reserve.csv", 3) in located


def test_a_quote_left_open_in_a_last_column_is_named_with_its_line_as_is_the_value(
    registered: Application, tmp_path: Path
) -> None:
    # Fuzz harness: the parser took the open quote to the end of the file as one value of a
    # row of the right width; the value's error then had no line (the line scan stopped at the
    # quote) and the quote itself was not named.
    reserve = b'market,balance\nSH,"1.00\nSZ,2.00\n'
    receipt = submit_as_owner(registered, _broker_package(tmp_path / "p", reserve))
    assert receipt.status is ReceiptStatus.REJECTED
    located = {
        (e.code, e.line, e.column) for e in receipt.errors if e.file == "settlement_reserve.csv"
    }
    assert (PackageRule.CSV_MUST_BE_WELL_FORMED, 2, None) in located
    assert (PackageRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS, 2, "balance") in located


def test_values_past_a_record_that_cannot_be_read_are_not_reported_without_a_line(
    registered: Application, tmp_path: Path
) -> None:
    # Fuzz harness: after `"0"0"` (a quote closed mid-field) the line scan stops, so an empty
    # value found further on (the blank last line) was reported with no line at all.
    reserve = b'market,balance\n"S"H",1.00\nSZ,2.00\n\n'
    receipt = submit_as_owner(registered, _broker_package(tmp_path / "p", reserve))
    assert receipt.status is ReceiptStatus.REJECTED
    mine = [e for e in receipt.errors if e.file == "settlement_reserve.csv"]
    assert (PackageRule.CSV_MUST_BE_WELL_FORMED, 2) in {(e.code, e.line) for e in mine}
    assert all(
        e.line is not None for e in mine if e.code is not PackageRule.MANIFEST_ROWS_MUST_MATCH
    )


@pytest.mark.parametrize("kind", [[], {}, ["trading"]])
def test_a_batch_manifest_whose_kind_is_no_text_is_refused_by_name(kind: object) -> None:
    # Fuzz harness: `"kind": []` ended the import in a TypeError (a list is no dict key).
    import json

    from clearwatch.domain.backoffice.batch_manifest import parse_manifest

    manifest = {
        "format": "clearwatch.batch/1",
        "kind": kind,
        "broker_id": "B001",
        "business_date": "2026-11-20",
        "batch_id": "T1",
        "files": [],
    }
    with pytest.raises(BatchRejected) as refused:
        parse_manifest(json.dumps(manifest).encode())
    assert [(r.rule, r.column) for r in refused.value.rejections] == [
        (Rule.KIND_MUST_BE_KNOWN, "kind")
    ]


def test_a_fifo_in_place_of_a_batch_file_is_refused_at_once_not_waited_on(
    sqlite_app: Application, tmp_path: Path
) -> None:
    # Fuzz harness: opening a FIFO blocks until a writer comes, so the import hung for ever
    # before the regular-file check could refuse it (one stuck importer per planted FIFO).
    from tests.backoffice_batches import write_batch

    batch = write_batch(
        tmp_path / "b",
        kind="bank",
        business_date=DAY.isoformat(),
        batch_id="K1",
        files={"bank_transfers.csv": []},
    )
    (batch / "bank_transfers.csv").unlink()
    os.mkfifo(batch / "bank_transfers.csv")
    tools = build_backoffice_tools(sqlite_app.columnar, threads=1)
    with pytest.raises(BatchRejected) as refused:
        _within(
            SECONDS_MAX,
            lambda: import_batch(
                directory=batch, uow=sqlite_app.uow(), tools=tools, at=sqlite_app.clock.now()
            ),
        )
    assert refused.value.rejections[0].rule is Rule.FILE_MUST_BE_REGULAR


def test_a_fifo_in_place_of_a_package_manifest_is_rejected_at_once(
    registered: Application, tmp_path: Path
) -> None:
    package = write_package(tmp_path / "p", "broker_daily", "B001", DAY, {})
    (package / "manifest.json").unlink()
    os.mkfifo(package / "manifest.json")
    gate = gate_of(registered, "B001", Role.SUBMITTER)  # the manifest cannot say whose it is
    receipt = _within(
        SECONDS_MAX,
        lambda: submit_package(
            directory=str(package), context=registered.submit_context(), gate=gate
        ),
    )
    assert [e.code for e in receipt.errors] == [PackageRule.MANIFEST_MUST_EXIST]


def _partial_day(app: Application, tmp_path: Path, day: date) -> None:
    """The day's CSDC package only: every bank's and broker's source is empty."""
    reserve = {"settlement_reserve.csv": "broker_id,market,balance\nB001,SH,1.00\n"}
    package = write_package(tmp_path / f"csdc-{day}", "csdc_daily", "C001", day, reserve)
    assert submit_as_owner(app, package).status is ReceiptStatus.ACCEPTED


def test_a_day_with_empty_sources_is_compared_on_its_own_connection_only(
    registered: Application, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Concurrency matrix: with a kind of file absent, queries over empty memtables ran on
    # Ibis's default DuckDB connection, one per process, and two run-days at once failed
    # ("connection is busy with another call"). A closed default proves it is never used.
    closed = ibis.duckdb.connect()
    closed.disconnect()
    monkeypatch.setattr(ibis.options, "default_backend", closed)
    _partial_day(registered, tmp_path, DAY)
    outcome = run_day(business_date=DAY, actor="tester", context=registered.run_day_context())
    assert outcome.recorded


@pytest.mark.postgres
def test_run_days_of_one_date_at_once_on_postgres_number_their_versions_in_turn(
    postgres_app: Application, tmp_path: Path
) -> None:
    # Concurrency matrix: two run-days read the same latest version and both inserted the
    # next one; the loser ended in an IntegrityError (unique business date and version).
    assert load(postgres_app, write_registry(tmp_path / "registry")).loaded
    apps = [same_store(postgres_app) for _ in range(RUN_DAYS_AT_ONCE)]
    try:
        for offset in range(DATES_RACED):
            day = DAY + timedelta(days=7 * offset)  # Fridays: business days
            _partial_day(postgres_app, tmp_path, day)
            barrier = threading.Barrier(len(apps))

            def run(
                app: Application, day: date = day, barrier: threading.Barrier = barrier
            ) -> bool:
                barrier.wait()
                return run_day(business_date=day, actor="t", context=app.run_day_context()).recorded

            recorded = _all_at_once([partial(run, app) for app in apps])
            assert sorted(recorded) == [False] * (len(apps) - 1) + [True]
            with postgres_app.read_uow() as uow:
                latest = uow.monitor_runs.latest(day)
            assert latest is not None and latest.result_version == 1
    finally:
        for app in apps:
            app.dispose()


def _all_at_once(calls: list[Callable[[], bool]]) -> list[bool]:
    """Each call in its own thread; their results, or the first error any of them raised."""
    results: list[bool | BaseException] = [False] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as error:  # shown by the test below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS_MAX * 6)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [bool(result) for result in results]


KILLED_BETWEEN_BYTES_AND_NAME = """
import os, signal, sys
from pathlib import Path
from clearwatch.adapters import private_files

def power_cut(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

os.link = power_cut  # the checkpoint's bytes are on disk, its name is not yet
private_files.write_new_owner_only(Path(sys.argv[1]) / "000000000007.json", b"{}")
"""


def test_a_checkpoint_write_killed_before_its_name_leaves_nothing_after_the_next_start(
    tmp_path: Path,
) -> None:
    # Crash harness: kills at the end of a command, while it signed the audit log's head, left
    # `.000000000066.json.<pid>.tmp` in audit-checkpoints/ for ever.
    import subprocess
    import sys

    from clearwatch.adapters.audit_checkpoints import FileCheckpointStore

    checkpoints = tmp_path / "audit-checkpoints"
    checkpoints.mkdir()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BETWEEN_BYTES_AND_NAME, str(checkpoints)], check=False
    )
    assert killed.returncode == -9
    assert [p.name.endswith(".tmp") for p in checkpoints.iterdir()] == [True]  # the orphan
    live = checkpoints / f".000000000008.json.{_this_host()}_{os.getpid()}.tmp"
    live.write_bytes(b"{}")  # a writer still at work (this process) keeps its file
    FileCheckpointStore(checkpoints, tmp_path / "audit-key" / "ed25519.pem")
    assert sorted(p.name for p in checkpoints.iterdir()) == [live.name]


def _this_host() -> str:
    import socket

    return socket.gethostname().replace("_", "-").replace(".", "-")
