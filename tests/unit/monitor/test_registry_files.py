"""Registry files parse strictly: any error means nothing is loaded."""

from __future__ import annotations

from datetime import date

import pytest

from clearwatch.domain.monitor.registry_files import (
    HOLIDAYS_FILE,
    INSTITUTIONS_FILE,
    SPECIAL_ACCOUNTS_FILE,
    RegistryRejection,
    parse_registry,
)

INSTITUTIONS = (
    "institution_id,kind,name,region\n"
    "B001,broker,示例证券,CN-SH\n"
    "K001,bank,示例银行,CN-BJ\n"
    "B002,broker,深圳证券,CITY-SZ\n"
)
ACCOUNTS = (
    "account_no,bank_id,broker_id,purpose,branch_region,filed_on\n"
    "SA-1,K001,B001,client_settlement,CN-SH,2026-01-05\n"
)


def files(
    institutions: str = INSTITUTIONS, accounts: str = ACCOUNTS, holidays: str | None = None
) -> dict[str, bytes | None]:
    return {
        INSTITUTIONS_FILE: institutions.encode(),
        SPECIAL_ACCOUNTS_FILE: accounts.encode(),
        HOLIDAYS_FILE: None if holidays is None else holidays.encode(),
    }


def test_valid_files_give_content_with_a_shenzhen_broker_in_its_city_bureau() -> None:
    parsed = parse_registry(files(holidays="date\n2026-10-01\n"))
    assert parsed.errors == ()
    assert parsed.content is not None
    assert {i.institution_id: i.region for i in parsed.content.institutions}["B002"] == "CITY-SZ"
    assert parsed.content.holidays == (date(2026, 10, 1),)


def test_the_content_hash_does_not_depend_on_row_order() -> None:
    lines = INSTITUTIONS.splitlines()
    reordered = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    first, second = parse_registry(files()), parse_registry(files(institutions=reordered))
    assert first.content is not None and second.content is not None
    assert first.content.content_sha256 == second.content.content_sha256


@pytest.mark.parametrize(
    ("changes", "code", "line"),
    [
        ({"institutions": INSTITUTIONS + "X1,insurer,某公司,CN-SH\n"},
         RegistryRejection.VALUE_MUST_BE_ONE_OF_CHOICES, 5),
        ({"institutions": INSTITUTIONS + "X1,bank,某银行,CN-GUANGDONG\n"},
         RegistryRejection.REGION_MUST_BE_A_BUREAU, 5),
        ({"institutions": INSTITUTIONS + "B001,broker,重复,CN-SH\n"},
         RegistryRejection.KEY_MUST_BE_UNIQUE, 5),
        ({"institutions": INSTITUTIONS + "X1,bank,,CN-SH\n"},
         RegistryRejection.TEXT_MUST_NOT_BE_EMPTY, 5),
        ({"institutions": INSTITUTIONS + "X1,bank\n"},
         RegistryRejection.ROW_MUST_HAVE_HEADER_WIDTH, 5),
        ({"institutions": "id,kind,name,region\n"}, RegistryRejection.HEADER_MUST_HAVE_COLUMNS, 1),
        ({"accounts": ACCOUNTS + "SA-2,K404,B001,client_settlement,CN-SH,2026-01-05\n"},
         RegistryRejection.INSTITUTION_MUST_BE_REGISTERED, 3),
        ({"accounts": ACCOUNTS + "SA-2,B001,B001,client_settlement,CN-SH,2026-01-05\n"},
         RegistryRejection.INSTITUTION_KIND_MUST_MATCH, 3),
        ({"accounts": ACCOUNTS + "SA-2,K001,B001,client_settlement,CN-SH,2026-13-05\n"},
         RegistryRejection.DATE_MUST_BE_ISO_DATE, 3),
        ({"accounts": ACCOUNTS + "SA-2,K001,B001,pocket_money,CN-SH,2026-01-05\n"},
         RegistryRejection.VALUE_MUST_BE_ONE_OF_CHOICES, 3),
        ({"holidays": "date\n2026-10-01\n2026-10-01\n"}, RegistryRejection.KEY_MUST_BE_UNIQUE, 3),
    ],
)  # fmt: skip
def test_each_bad_registry_value_is_named_with_its_line(
    changes: dict[str, str], code: RegistryRejection, line: int
) -> None:
    parsed = parse_registry(files(**changes))
    assert parsed.content is None
    assert (code, line) in {(error.code, error.line) for error in parsed.errors}


def test_the_required_files_must_exist_and_be_utf8() -> None:
    parsed = parse_registry(
        {INSTITUTIONS_FILE: "名".encode("gb18030") + b"\xff", HOLIDAYS_FILE: None}
    )
    found = {(error.code, error.file) for error in parsed.errors}
    assert (RegistryRejection.REGISTRY_FILE_MUST_EXIST, SPECIAL_ACCOUNTS_FILE) in found
    assert (RegistryRejection.REGISTRY_FILE_MUST_DECODE, INSTITUTIONS_FILE) in found


def test_an_oversized_registry_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from clearwatch.domain.monitor import registry_files

    monkeypatch.setattr(registry_files, "registry_file_bytes_max", 10)
    parsed = parse_registry(files())
    assert RegistryRejection.REGISTRY_FILE_MUST_NOT_EXCEED_SIZE in {e.code for e in parsed.errors}
