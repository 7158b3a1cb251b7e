"""Submitting packages end to end on SQLite: every rejection, duplicates, supersedes, encodings."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.files import csv_package_reader
from clearwatch.bootstrap import Application
from clearwatch.domain.monitor import intake as decisions
from clearwatch.domain.monitor.receipt import Receipt, ReceiptStatus
from clearwatch.domain.monitor.rejections import PackageRule
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from tests.integration.monitor.conftest import Submit
from tests.support.identities import submit_as_owner
from tests.support.packages import write_package

DAY = date(2026, 11, 20)
FUNDS = "client_funds.csv"
FUNDS_HEADER = "fund_account,client_id,account_kind,bank_id,balance"
GOOD_FUNDS = f"{FUNDS_HEADER}\nFA1,C1,normal,K001,100.00\nFA2,C2,credit,K001,-3.10\n"


def broker(tmp_path: Path, funds: str = GOOD_FUNDS, name: str = "pkg", **kwargs: object) -> Path:
    files = kwargs.pop("files", {FUNDS: funds})
    return write_package(tmp_path / name, "broker_daily", "B001", DAY, files, **kwargs)  # type: ignore[arg-type]


def codes(receipt: Receipt) -> set[PackageRule]:
    return {error.code for error in receipt.errors}


def only_error(receipt: Receipt) -> tuple[PackageRule, str | None, int | None, str | None]:
    assert receipt.status is ReceiptStatus.REJECTED
    assert len(receipt.errors) == 1, receipt.errors
    error = receipt.errors[0]
    return error.code, error.file, error.line, error.column


def test_a_good_package_is_accepted_with_rows_stored_as_parquet_in_fen(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    receipt = submit(broker(tmp_path))
    assert receipt.status is ReceiptStatus.ACCEPTED
    assert receipt.row_counts[FUNDS] == 2
    assert receipt.late is False
    with registered_sqlite.read_uow() as uow:
        [stored] = uow.packages.latest_accepted(DAY)
    table = registered_sqlite.columnar.read_table(stored.parquet_digests[FUNDS])
    assert table.schema.field("balance").type == pa.int64()
    assert table.column("balance").to_pylist() == [10000, -310]
    stored_file = pq.ParquetFile(registered_sqlite.columnar.uri(stored.parquet_digests[FUNDS]))
    chunks = stored_file.metadata.row_group(0)
    dictionary_encoded = {
        chunks.column(i).path_in_schema
        for i in range(chunks.num_columns)
        if "RLE_DICTIONARY" in chunks.column(i).encodings
    }
    assert dictionary_encoded == {"account_kind", "bank_id"}  # the few-valued columns only
    assert set(stored.parquet_digests) == {
        "client_funds.csv",
        "special_accounts.csv",
        "settlement_reserve.csv",
        "fee_income.csv",
    }


def test_the_same_package_again_is_a_duplicate_and_changes_nothing(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    first = submit(broker(tmp_path))
    again = submit(broker(tmp_path))
    resent_with_higher_sequence = submit(broker(tmp_path, name="p2", sequence=4))
    assert again.status is ReceiptStatus.DUPLICATE
    assert again.package_id == first.package_id
    assert resent_with_higher_sequence.status is ReceiptStatus.DUPLICATE
    with registered_sqlite.read_uow() as uow:
        assert len(uow.packages.receipts()) == 1
        # (registering the officer who resent it is recorded too: look at the monitor's)
        monitor = [r for r in uow.audit.latest(limit=5) if r.action.startswith("monitor.")]
        assert max(monitor, key=lambda r: r.seq).action == "monitor.package.accept"


def test_a_higher_sequence_with_new_content_supersedes_and_keeps_the_earlier(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    first = submit(broker(tmp_path))
    changed = GOOD_FUNDS + "FA3,C3,option,K001,0.00\n"
    second = submit(broker(tmp_path, changed, name="p2", sequence=2))
    assert second.status is ReceiptStatus.ACCEPTED
    assert second.supersedes_package_id == first.package_id
    assert second.to_json()["supersedes"] == {"package_id": first.package_id, "sequence": 1}
    with registered_sqlite.read_uow() as uow:
        statuses = [row.status for row in uow.packages.receipts(business_date=DAY)]
        [latest] = uow.packages.latest_accepted(DAY)
        assert uow.packages.get(int(first.package_id or 0)) is not None
    assert statuses == ["superseded", "accepted"]
    assert latest.sequence == 2


@pytest.mark.parametrize("sequence", [1, 2])
def test_new_content_with_the_same_or_a_lower_sequence_is_rejected(
    submit: Submit, tmp_path: Path, sequence: int
) -> None:
    submit(broker(tmp_path, sequence=2))
    changed = GOOD_FUNDS + "FA3,C3,option,K001,0.00\n"
    receipt = submit(broker(tmp_path, changed, name="p2", sequence=sequence))
    assert only_error(receipt)[0] is PackageRule.SEQUENCE_MUST_INCREASE_FOR_NEW_CONTENT


def test_a_rejection_stores_only_the_rejection_and_a_batch_error_with_its_reminder(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    bad = f"{FUNDS_HEADER}\nFA1,C1,normal,K001,100\n"
    first = submit(broker(tmp_path, bad))
    second = submit(broker(tmp_path, bad))
    assert first.status is second.status is ReceiptStatus.REJECTED
    with registered_sqlite.read_uow() as uow:
        assert uow.packages.latest_accepted(DAY) == []
        assert [row.status for row in uow.packages.receipts()] == ["rejected", "rejected"]
        occurrences = uow.reporting.occurrences(DAY)
        reminders = uow.reporting.reminders(DAY)
        counted = uow.reporting.count_occurrences(
            institution_id="B001", category=ReportingCategory.BATCH_ERROR, year=2026
        )
    # Once per (institution, date, kind): the second rejection adds no occurrence.
    assert [(o.category, o.package_kind) for o in occurrences] == [
        (ReportingCategory.BATCH_ERROR, "broker_daily")
    ]
    assert len(reminders) == 1 and "口头提醒" in reminders[0].text
    assert counted == 1
    assert not list((registered_sqlite.settings.home / "columnar").glob("??/*.parquet"))


def test_a_package_after_nine_next_business_day_is_accepted_and_late(
    registered_sqlite: Application, tmp_path: Path
) -> None:
    from tests.integration.monitor.conftest import context

    assert isinstance(registered_sqlite.clock, FixedClock)
    # Friday's package is due Monday 09:00; Monday 09:00:01 is late.
    registered_sqlite.clock.at = datetime(2026, 11, 23, 9, 0, 1, tzinfo=SHANGHAI)
    receipt = submit_as_owner(registered_sqlite, broker(tmp_path), context(registered_sqlite))
    assert receipt.status is ReceiptStatus.ACCEPTED and receipt.late is True
    with registered_sqlite.read_uow() as uow:
        [occurrence] = uow.reporting.occurrences(DAY)
        assert occurrence.category is ReportingCategory.LATE
        assert len(uow.reporting.reminders()) == 1


def test_a_package_at_nine_exactly_is_on_time(
    registered_sqlite: Application, tmp_path: Path
) -> None:
    from tests.integration.monitor.conftest import context

    assert isinstance(registered_sqlite.clock, FixedClock)
    registered_sqlite.clock.at = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    receipt = submit_as_owner(registered_sqlite, broker(tmp_path), context(registered_sqlite))
    assert receipt.late is False


# --- every rejection code a package can earn -------------------------------------------------


def test_a_directory_without_manifest_is_rejected(submit: Submit, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert only_error(submit(tmp_path / "empty"))[0] is PackageRule.MANIFEST_MUST_EXIST


def test_a_manifest_with_bad_fields_is_rejected_with_each_named(
    submit: Submit, tmp_path: Path
) -> None:
    directory = broker(tmp_path)
    document = json.loads((directory / "manifest.json").read_text())
    document.update(sequence=0, encoding="big5", format="v0")
    (directory / "manifest.json").write_text(json.dumps(document))
    assert codes(submit(directory)) == {
        PackageRule.MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER,
        PackageRule.MANIFEST_ENCODING_MUST_BE_SUPPORTED,
        PackageRule.MANIFEST_FORMAT_MUST_BE_KNOWN,
    }


def test_an_unregistered_institution_is_rejected(submit: Submit, tmp_path: Path) -> None:
    directory = write_package(tmp_path / "p", "broker_daily", "B999", DAY, {FUNDS: GOOD_FUNDS})
    assert only_error(submit(directory))[0] is PackageRule.INSTITUTION_MUST_BE_REGISTERED


def test_a_bank_sending_a_broker_package_is_rejected(submit: Submit, tmp_path: Path) -> None:
    directory = write_package(tmp_path / "p", "broker_daily", "K001", DAY, {FUNDS: GOOD_FUNDS})
    assert only_error(submit(directory))[0] is PackageRule.INSTITUTION_KIND_MUST_MATCH


def test_a_saturday_package_is_rejected(submit: Submit, tmp_path: Path) -> None:
    directory = write_package(
        tmp_path / "p", "broker_daily", "B001", date(2026, 11, 21), {FUNDS: GOOD_FUNDS}
    )
    assert only_error(submit(directory))[0] is PackageRule.BUSINESS_DATE_MUST_BE_BUSINESS_DAY


def test_missing_unknown_unlisted_and_stray_files_are_each_named(
    submit: Submit, tmp_path: Path
) -> None:
    directory = broker(tmp_path, files={FUNDS: GOOD_FUNDS, "notes.csv": "a\n"})
    (directory / "special_accounts.csv").unlink()
    (directory / "stray.csv").write_text("x\n")
    document = json.loads((directory / "manifest.json").read_text())
    document["files"] = [f for f in document["files"] if f["name"] != "fee_income.csv"]
    (directory / "manifest.json").write_text(json.dumps(document))
    found = {(error.code, error.file) for error in submit(directory).errors}
    assert found == {
        (PackageRule.FILE_MUST_BE_KNOWN, "notes.csv"),
        (PackageRule.FILE_MUST_EXIST, "special_accounts.csv"),
        (PackageRule.FILE_MUST_BE_LISTED, "fee_income.csv"),
        (PackageRule.FILE_MUST_BE_IN_MANIFEST, "fee_income.csv"),
        (PackageRule.FILE_MUST_BE_IN_MANIFEST, "stray.csv"),
    }


def test_a_file_over_the_size_limit_is_rejected_by_name(
    submit: Submit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decisions, "file_bytes_max", 40)
    receipt = submit(broker(tmp_path))
    assert (PackageRule.FILE_MUST_NOT_EXCEED_SIZE, FUNDS) in {
        (e.code, e.file) for e in receipt.errors
    }


def test_a_file_over_the_row_limit_is_rejected(
    submit: Submit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_package_reader, "file_rows_max", 1)
    assert PackageRule.FILE_ROWS_MUST_NOT_EXCEED_MAX in codes(submit(broker(tmp_path)))


def test_a_hash_that_does_not_match_is_rejected(submit: Submit, tmp_path: Path) -> None:
    directory = broker(tmp_path)
    (directory / FUNDS).write_text(GOOD_FUNDS.replace("100.00", "900.00"))
    assert only_error(submit(directory))[:2] == (PackageRule.MANIFEST_HASH_MUST_MATCH, FUNDS)


def test_a_row_count_that_does_not_match_is_rejected(submit: Submit, tmp_path: Path) -> None:
    directory = broker(tmp_path)
    document = json.loads((directory / "manifest.json").read_text())
    document["files"][0]["rows"] = 3
    (directory / "manifest.json").write_text(json.dumps(document))
    assert only_error(submit(directory))[:2] == (PackageRule.MANIFEST_ROWS_MUST_MATCH, FUNDS)


def test_invalid_utf8_is_located_by_line_and_column(submit: Submit, tmp_path: Path) -> None:
    directory = broker(tmp_path)
    data = (GOOD_FUNDS + "FA3,C3,normal,K001,1.00\n").encode().replace(b"C3", b"C\xff")
    rewrite(directory, FUNDS, data)
    assert only_error(submit(directory)) == (PackageRule.FILE_MUST_DECODE, FUNDS, 4, "client_id")


def test_bytes_that_are_not_gb18030_are_located(submit: Submit, tmp_path: Path) -> None:
    directory = broker(tmp_path, encoding="gb18030")
    data = (GOOD_FUNDS + "FA3,客户,normal,K001,1.00\n").encode("gb18030") + b"FA4,\x80\xff,x\n"
    rewrite(directory, FUNDS, data)
    code, file, line, _ = only_error(submit(directory))
    assert (code, file, line) == (PackageRule.FILE_MUST_DECODE, FUNDS, 5)


def rewrite(directory: Path, name: str, data: bytes) -> None:
    """Replace a file and fix the manifest's hash and row count, so only the content is bad."""
    import hashlib

    (directory / name).write_bytes(data)
    document = json.loads((directory / "manifest.json").read_text())
    for entry in document["files"]:
        if entry["name"] == name:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            entry["rows"] = data.count(b"\n") - 1
    (directory / "manifest.json").write_text(json.dumps(document))


def test_an_empty_file_has_no_header(submit: Submit, tmp_path: Path) -> None:
    directory = broker(tmp_path, files={FUNDS: GOOD_FUNDS, "fee_income.csv": ""})
    assert only_error(submit(directory))[:3] == (PackageRule.HEADER_MUST_EXIST, "fee_income.csv", 1)


def test_missing_unknown_and_repeated_header_columns_are_named(
    submit: Submit, tmp_path: Path
) -> None:
    header = "fund_account,client_id,account_kind,bank_id,bank_id,colour"
    receipt = submit(broker(tmp_path, f"{header}\nFA1,C1,normal,K001,K001,red\n"))
    found = {(error.code, error.column) for error in receipt.errors}
    assert found == {
        (PackageRule.HEADER_COLUMN_MUST_BE_PRESENT, "balance"),
        (PackageRule.HEADER_COLUMN_MUST_BE_UNIQUE, "bank_id"),
        (PackageRule.HEADER_COLUMN_MUST_BE_KNOWN, "colour"),
    }


def test_rows_of_the_wrong_width_are_named_by_line(submit: Submit, tmp_path: Path) -> None:
    text = (
        f"{FUNDS_HEADER}\nFA1,C1,normal,K001,1.00\n"
        'FA2,"C\n2",normal,K001\nFA3,C3,normal,K001,1.00,9\n'
    )
    receipt = submit(broker(tmp_path, text))
    assert [(e.code, e.line) for e in receipt.errors] == [
        (PackageRule.ROW_MUST_HAVE_HEADER_WIDTH, 3),
        (PackageRule.ROW_MUST_HAVE_HEADER_WIDTH, 5),
    ]


def test_an_unterminated_quote_is_not_well_formed(submit: Submit, tmp_path: Path) -> None:
    receipt = submit(broker(tmp_path, f'{FUNDS_HEADER}\nFA1,"C1,normal,K001,1.00\n'))
    assert receipt.status is ReceiptStatus.REJECTED
    assert codes(receipt) & {
        PackageRule.CSV_MUST_BE_WELL_FORMED,
        PackageRule.ROW_MUST_HAVE_HEADER_WIDTH,
    }


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        ("FA9,,normal,K001,1.00", PackageRule.TEXT_MUST_NOT_BE_EMPTY, "client_id"),
        ("FA9,C9,savings,K001,1.00", PackageRule.VALUE_MUST_BE_ONE_OF_CHOICES, "account_kind"),
        ("FA9,C9,normal,K001,1.5", PackageRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS, "balance"),
        ("FA9,C9,normal,K001,1e3", PackageRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS, "balance"),
        ("FA9,C9,normal,K001,12345678901234567.00", PackageRule.AMOUNT_MUST_NOT_BE_TOO_LONG,
         "balance"),
        ("FA1,C9,normal,K001,1.00", PackageRule.KEY_MUST_BE_UNIQUE, "fund_account"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named_with_line_and_column(
    submit: Submit, tmp_path: Path, row: str, code: PackageRule, column: str
) -> None:
    receipt = submit(broker(tmp_path, GOOD_FUNDS + row + "\n"))
    assert only_error(receipt) == (code, FUNDS, 4, column)


def test_bank_amounts_must_be_positive_and_times_need_an_offset(
    submit: Submit, tmp_path: Path
) -> None:
    header = "txn_id,account_no,booked_at,direction,amount,counterparty_account,counterparty_kind"
    text = (
        f"{header}\n"
        "T1,SA-001,2026-11-20T10:00:00+08:00,in,5.00,,csdc\n"
        "T2,SA-001,2026-11-20T10:00:00,out,5.00,X,other\n"
        "T3,SA-001,2026-11-20T10:00:00Z,out,0.00,X,other\n"
        "T4,SA-001,2026-13-20T10:00:00+08:00,out,1.00,X,broker_own\n"
    )
    directory = write_package(
        tmp_path / "bank", "bank_daily", "K001", DAY, {"special_account_transactions.csv": text}
    )
    receipt = submit(directory)
    assert [(e.code, e.line, e.column) for e in receipt.errors] == [
        (PackageRule.AMOUNT_MUST_BE_POSITIVE, 4, "amount"),
        (PackageRule.TIMESTAMP_MUST_BE_ISO_WITH_OFFSET, 3, "booked_at"),
        (PackageRule.TIMESTAMP_MUST_BE_ISO_WITH_OFFSET, 5, "booked_at"),
    ]


def test_a_composite_key_repeated_is_named_with_both_lines(submit: Submit, tmp_path: Path) -> None:
    text = (
        "broker_id,fund_account,client_id,balance\n"
        "B001,FA1,C1,1.00\nB002,FA1,C1,1.00\nB001,FA1,C2,2.00\n"
    )
    directory = write_package(
        tmp_path / "bank", "bank_daily", "K001", DAY, {"client_depository.csv": text}
    )
    code, _, line, _ = only_error(submit(directory))
    assert (code, line) == (PackageRule.KEY_MUST_BE_UNIQUE, 4)
    assert "line 2" in submit(directory).errors[0].message


def test_quoted_newlines_shift_the_reported_line(submit: Submit, tmp_path: Path) -> None:
    text = f'{FUNDS_HEADER}\r\nFA1,"C1\r\nsecond line",normal,K001,1.00\r\nFA2,C2,normal,K001,x\r\n'
    receipt = submit(broker(tmp_path, text))
    # A line break inside an identifier is refused too (item 3 of issue 12), on its first line.
    assert {(error.code, error.line, error.column) for error in receipt.errors} == {
        (PackageRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS, 2, "client_id"),
        (PackageRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS, 4, "balance"),
    }


def test_errors_are_collected_up_to_the_cap_and_marked_truncated(
    submit: Submit, tmp_path: Path
) -> None:
    rows = "".join(f"FA{n},,normal,K001,bad\n" for n in range(300))
    receipt = submit(broker(tmp_path, FUNDS_HEADER + "\n" + rows))
    assert len(receipt.errors) == 100
    assert receipt.errors_truncated
    assert receipt.to_json()["errors_truncated"] is True


# --- encodings ---------------------------------------------------------------------------------


def test_gb18030_with_chinese_text_is_accepted_and_stored_as_text(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    text = f'{FUNDS_HEADER}\nFA1,客户甲,normal,K001,1.00\nFA2,"张三,李四",credit,K001,2.00\n'
    receipt = submit(broker(tmp_path, text, encoding="gb18030"))
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors
    with registered_sqlite.read_uow() as uow:
        [stored] = uow.packages.latest_accepted(DAY)
    table = registered_sqlite.columnar.read_table(stored.parquet_digests[FUNDS])
    assert table.column("client_id").to_pylist() == ["客户甲", "张三,李四"]


def test_gb18030_errors_name_the_line(submit: Submit, tmp_path: Path) -> None:
    text = f"{FUNDS_HEADER}\nFA1,客户甲,normal,K001,1.00\nFA2,客户乙,普通,K001,2.00\n"
    receipt = submit(broker(tmp_path, text, encoding="gb18030"))
    assert only_error(receipt) == (
        PackageRule.VALUE_MUST_BE_ONE_OF_CHOICES,
        FUNDS,
        3,
        "account_kind",
    )
    assert "普通" in receipt.errors[0].message


def test_a_utf8_bom_crlf_and_quoted_fields_are_accepted(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    text = (
        f'{FUNDS_HEADER}\r\n"FA1","C ""one""",normal,K001,"1.00"\r\nFA2,"x, y",option,K001,0.01\r\n'
    )
    receipt = submit(broker(tmp_path, text, bom=True))
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors
    with registered_sqlite.read_uow() as uow:
        [stored] = uow.packages.latest_accepted(DAY)
    table = registered_sqlite.columnar.read_table(stored.parquet_digests[FUNDS])
    assert table.column("client_id").to_pylist() == ['C "one"', "x, y"]
    assert table.column("balance").to_pylist() == [100, 1]
