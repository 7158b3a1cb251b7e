"""Package files read once: a swap during a submit, links, identifiers and a GB18030 BOM."""

from __future__ import annotations

import hashlib
import os
from datetime import date
from pathlib import Path

import pytest

from clearwatch.adapters.files import csv_package_reader, once_read
from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.monitor.rejections import PackageRule
from tests.integration.monitor.conftest import Submit
from tests.support.packages import write_package

DAY = date(2026, 11, 20)
FUNDS = "client_funds.csv"
HEADER = "fund_account,client_id,account_kind,bank_id,balance"
OLD = f"{HEADER}\nFA1,C1,normal,K001,100.00\nFA2,C2,credit,K001,-3.10\n"
NEW = f"{HEADER}\nFA1,C1,normal,K001,900.00\nFA2,C2,credit,K001,-9.10\n"  # same length


def broker(tmp_path: Path, funds: str = OLD, **kwargs: object) -> Path:
    return write_package(tmp_path / "pkg", "broker_daily", "B001", DAY, {FUNDS: funds}, **kwargs)  # type: ignore[arg-type]


def stored_balances(app: Application) -> list[int]:
    with app.read_uow() as uow:
        [stored] = uow.packages.latest_accepted(DAY)
    return list(
        app.columnar.read_table(stored.parquet_digests[FUNDS]).column("balance").to_pylist()
    )


def test_a_file_renamed_into_place_during_the_submit_is_not_what_gets_stored(
    submit: Submit,
    registered_sqlite: Application,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = broker(tmp_path)
    swapped = tmp_path / "new.csv"
    swapped.write_text(NEW)
    opened = once_read.OpenedFile.__init__

    def open_then_swap(self: once_read.OpenedFile, path: Path) -> None:
        opened(self, path)
        if path.name == FUNDS:  # the moment after the file was opened for hashing and parsing
            os.replace(swapped, path)

    monkeypatch.setattr(once_read.OpenedFile, "__init__", open_then_swap)
    receipt = submit(directory)
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors
    # The old file was hashed, parsed and stored: what is stored matches the recorded sha256.
    assert stored_balances(registered_sqlite) == [10000, -310]
    assert (directory / FUNDS).read_text() == NEW


def test_a_file_rewritten_in_place_while_it_is_read_is_rejected(
    submit: Submit,
    registered_sqlite: Application,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    directory = broker(tmp_path)
    read_prefix = once_read.HashedStream.prefix

    def prefix_then_rewrite(self: once_read.HashedStream, size: int) -> bytes:
        if size != csv_package_reader.header_bytes_max:
            return read_prefix(self, size)  # the manifest
        # Only the header's first bytes are read; the rest of the file changes under us.
        data = read_prefix(self, len(HEADER))
        with (directory / FUNDS).open("r+b") as handle:
            handle.write(NEW.encode())
        return data

    monkeypatch.setattr(once_read.HashedStream, "prefix", prefix_then_rewrite)
    receipt = submit(directory)
    assert receipt.status is ReceiptStatus.REJECTED
    assert PackageRule.MANIFEST_HASH_MUST_MATCH in {error.code for error in receipt.errors}
    with registered_sqlite.read_uow() as uow:
        assert uow.packages.latest_accepted(DAY) == []


def test_a_symbolic_link_in_a_package_is_refused_by_name(submit: Submit, tmp_path: Path) -> None:
    directory = broker(tmp_path)
    target = tmp_path / "elsewhere.csv"
    (directory / FUNDS).rename(target)
    (directory / FUNDS).symlink_to(target)
    receipt = submit(directory)
    assert receipt.status is ReceiptStatus.REJECTED
    assert [(e.code, e.file) for e in receipt.errors] == [(PackageRule.FILE_MUST_BE_REGULAR, FUNDS)]


@pytest.mark.parametrize(
    ("client_id", "rule"),
    [
        (" C1", PackageRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE),
        ("C1\u3000", PackageRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE),
        ("C\x011", PackageRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS),
        ("C\x001", PackageRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS),
        ('"C\n1"', PackageRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS),
    ],
)
def test_an_identifier_with_edge_space_or_a_control_character_is_refused_by_name(
    submit: Submit, tmp_path: Path, client_id: str, rule: PackageRule
) -> None:
    funds = f"{HEADER}\nFA1,C0,normal,K001,1.00\nFA2,{client_id},normal,K001,2.00\n"
    receipt = submit(broker(tmp_path, funds))
    assert receipt.status is ReceiptStatus.REJECTED
    assert [(e.code, e.file, e.line, e.column, e.column_number) for e in receipt.errors] == [
        (rule, FUNDS, 3, "client_id", 2)
    ]


def test_a_gb18030_file_with_its_byte_order_mark_is_accepted(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    text = f"{HEADER}\nFA1,客户甲,normal,K001,1.00\n"
    directory = write_package(
        tmp_path / "pkg", "broker_daily", "B001", DAY, {FUNDS: "\ufeff" + text}, encoding="gb18030"
    )
    data = (directory / FUNDS).read_bytes()
    assert data.startswith(b"\x84\x31\x95\x33")  # the GB18030 byte order mark
    receipt = submit(directory)
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors
    assert stored_balances(registered_sqlite) == [100]
    assert hashlib.sha256(data).hexdigest() in (directory / "manifest.json").read_text()
