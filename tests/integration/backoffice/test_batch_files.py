"""Batch files read once, like packages: links refused, errors collected, identifiers by rule."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from clearwatch.adapters.files import once_read
from clearwatch.adapters.files.batch_reader import DuckDBBatchFileReader
from clearwatch.bootstrap import Application
from clearwatch.domain.backoffice.batch_files import BANK_TRANSFERS, CLIENTS
from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule
from clearwatch.domain.shared.file_format import errors_per_submission_max
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from tests.backoffice_batches import static_batch, write_batch

AT = "2026-11-20T10:00:00+08:00"


def _import(app: Application, tools: BackOfficeTools, directory: Path):  # type: ignore[no-untyped-def]
    return import_batch(directory=directory, uow=app.uow(), tools=tools, at=app.clock.now())


def _transfers(tmp_path: Path, rows: list[list[str]], batch_id: str = "K1") -> Path:
    return write_batch(
        tmp_path / batch_id,
        kind="bank",
        business_date="2026-11-20",
        batch_id=batch_id,
        files={"bank_transfers.csv": rows},
    )


def _batches(app: Application) -> list[object]:
    with app.uow() as uow:
        return list(uow.batches.listing())


def test_a_symbolic_link_in_a_batch_is_refused_and_nothing_is_imported(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    batch = static_batch(tmp_path / "s")
    target = tmp_path / "clients-elsewhere.csv"
    (batch / "clients.csv").rename(target)
    (batch / "clients.csv").symlink_to(target)
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, batch)
    assert [(r.rule, r.file) for r in refused.value.rejections] == [
        (Rule.FILE_MUST_BE_REGULAR, "clients.csv")
    ]
    assert _batches(sqlite_app) == []


def test_a_linked_manifest_is_refused(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    batch = static_batch(tmp_path / "s")
    (batch / "manifest.json").rename(tmp_path / "manifest.json")
    (batch / "manifest.json").symlink_to(tmp_path / "manifest.json")
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, batch)
    assert refused.value.rejections[0].rule is Rule.FILE_MUST_BE_REGULAR


def test_errors_are_collected_up_to_the_cap_with_file_line_and_column(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    rows = [[f"X{n}", "F001", "sideways", "1.00", "K001", AT] for n in range(300)]
    with pytest.raises(BatchRejected) as refused:
        _import(sqlite_app, tools, _transfers(tmp_path, rows))
    rejections = refused.value.rejections
    assert len(rejections) == errors_per_submission_max
    assert {(r.rule, r.file, r.column, r.column_number) for r in rejections} == {
        (Rule.VALUE_MUST_MATCH_TYPE, "bank_transfers.csv", "direction", 3)
    }
    assert [r.line for r in rejections] == list(range(2, 2 + errors_per_submission_max))


def test_errors_of_several_columns_and_keys_are_all_named(tmp_path: Path) -> None:
    rows = [
        ["X1", "F001", "in", "1.00", "K001", AT],
        ["X1", " F002", "in", "-1.00", "K001", AT],
        ["X3", "F\x003", "in", "1.00", "K001", "yesterday"],
    ]
    path = _transfers(tmp_path, rows) / "bank_transfers.csv"
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(BatchRejected) as refused:
        DuckDBBatchFileReader().read(path, BANK_TRANSFERS, encoding="utf-8", rows=3, sha256=sha256)
    assert {(r.rule, r.line, r.column) for r in refused.value.rejections} == {
        (Rule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE, 3, "fund_account"),
        (Rule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS, 4, "fund_account"),
        (Rule.VALUE_MUST_MATCH_TYPE, 3, "amount"),
        (Rule.VALUE_MUST_MATCH_TYPE, 4, "booked_at"),
        (Rule.KEY_MUST_BE_UNIQUE, 3, "transfer_id"),
    }


def test_a_file_renamed_into_place_during_an_import_is_not_what_gets_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _transfers(tmp_path, [["X1", "F001", "in", "1.00", "K001", AT]])
    path = batch / "bank_transfers.csv"
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    other = tmp_path / "other.csv"
    other.write_text(path.read_text().replace("1.00", "9.00"))
    opened = once_read.OpenedFile.__init__

    def open_then_swap(self: once_read.OpenedFile, where: Path) -> None:
        opened(self, where)
        os.replace(other, where)

    monkeypatch.setattr(once_read.OpenedFile, "__init__", open_then_swap)
    table = DuckDBBatchFileReader().read(
        path, BANK_TRANSFERS, encoding="utf-8", rows=1, sha256=sha256
    )
    assert table.column("amount").to_pylist() == [100]  # the file hashed, not the new one


def test_a_gb18030_batch_with_its_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    text = "\ufefffund_account,client_id,account_kind,bank_id,commission_rate,status\n"
    path.write_bytes((text + "F001,客户甲,normal,K001,,active\n").encode("gb18030"))
    assert path.read_bytes().startswith(b"\x84\x31\x95\x33")
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    table = DuckDBBatchFileReader().read(path, CLIENTS, encoding="gb18030", rows=1, sha256=sha256)
    assert table.column("client_id").to_pylist() == ["客户甲"]


@pytest.mark.parametrize("amount", ["1.00", "1.0"])
def test_a_time_that_does_not_exist_is_named_among_plain_times(tmp_path: Path, amount: str) -> None:
    """The times' bytes all have the layout, so the file's check leaves their cast to the
    conversion; the one that fails there is still named, with any other error."""
    rows = [[f"X{n}", "F001", "in", "1.00", "K001", AT] for n in range(20)]
    rows[7] = ["X7", "F001", "in", amount, "K001", "2026-02-30T10:00:00+08:00"]
    path = _transfers(tmp_path, rows) / "bank_transfers.csv"
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(BatchRejected) as refused:
        DuckDBBatchFileReader().read(path, BANK_TRANSFERS, encoding="utf-8", rows=20, sha256=sha256)
    bad_amount = {(Rule.VALUE_MUST_MATCH_TYPE, 9, "amount", 4)} if amount == "1.0" else set()
    assert {(r.rule, r.line, r.column, r.column_number) for r in refused.value.rejections} == {
        (Rule.VALUE_MUST_MATCH_TYPE, 9, "booked_at", 6),
        *bad_amount,
    }


def test_plain_columns_read_to_their_types(tmp_path: Path) -> None:
    rows = [[f"X{n}", f"F{n:03d}", "in", f"{n}.05", "K001", AT] for n in range(1, 4)]
    path = _transfers(tmp_path, rows) / "bank_transfers.csv"
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    table = DuckDBBatchFileReader().read(
        path, BANK_TRANSFERS, encoding="utf-8", rows=3, sha256=sha256
    )
    assert table.column_names == [*BANK_TRANSFERS.column_names, "line"]
    assert table.column("fund_account").to_pylist() == ["F001", "F002", "F003"]
    assert table.column("amount").to_pylist() == [105, 205, 305]
    assert {t.isoformat() for t in table.column("booked_at").to_pylist()} == {
        "2026-11-20T02:00:00+00:00"
    }
    assert table.column("line").to_pylist() == [2, 3, 4]


@pytest.mark.parametrize(
    "booked_at",
    ["2026-11-20T24:00:00+08:00", "2026-11-20T10:00:00+24:00", "2026-11-20T10:00:00+99:59"],
)
def test_a_time_out_of_the_clock_is_named_though_the_engine_would_cast_it(
    tmp_path: Path, booked_at: str
) -> None:
    """DuckDB's cast takes an hour 24 or an offset of +99:59 (moving the time by days); the
    grammar does not, among plain times as alone."""
    rows = [[f"X{n}", "F001", "in", "1.00", "K001", AT] for n in range(20)]
    rows[7] = ["X7", "F001", "in", "1.00", "K001", booked_at]
    path = _transfers(tmp_path, rows) / "bank_transfers.csv"
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(BatchRejected) as refused:
        DuckDBBatchFileReader().read(path, BANK_TRANSFERS, encoding="utf-8", rows=20, sha256=sha256)
    assert {(r.rule, r.line, r.column) for r in refused.value.rejections} == {
        (Rule.VALUE_MUST_MATCH_TYPE, 9, "booked_at")
    }
