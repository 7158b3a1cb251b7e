"""Registry files (institutions, special-account filings, holidays): strict parsing into values."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from clearwatch.domain.monitor.registry import (
    Institution,
    InstitutionKind,
    SpecialAccountFiling,
)
from clearwatch.domain.shared.file_schema import PURPOSES
from clearwatch.domain.shared.regions import REGIONS

INSTITUTIONS_FILE = "institutions.csv"
SPECIAL_ACCOUNTS_FILE = "special_accounts.csv"
HOLIDAYS_FILE = "holidays.csv"
REGISTRY_FILES = (INSTITUTIONS_FILE, SPECIAL_ACCOUNTS_FILE, HOLIDAYS_FILE)
REQUIRED_REGISTRY_FILES = (INSTITUTIONS_FILE, SPECIAL_ACCOUNTS_FILE)
registry_file_bytes_max = 64 * 1024 * 1024
registry_errors_max = 100
_COLUMNS = {
    INSTITUTIONS_FILE: ("institution_id", "kind", "name", "region"),
    SPECIAL_ACCOUNTS_FILE: (
        "account_no",
        "bank_id",
        "broker_id",
        "purpose",
        "branch_region",
        "filed_on",
    ),
    HOLIDAYS_FILE: ("date",),
}


class RegistryRejection(StrEnum):
    """Each a rule the registry files broke, in precedence order."""

    REGISTRY_FILE_MUST_EXIST = "registry_file_must_exist"
    REGISTRY_FILE_MUST_NOT_EXCEED_SIZE = "registry_file_must_not_exceed_size"
    REGISTRY_FILE_MUST_DECODE = "registry_file_must_decode"
    HEADER_MUST_HAVE_COLUMNS = "header_must_have_columns"
    ROW_MUST_HAVE_HEADER_WIDTH = "row_must_have_header_width"
    TEXT_MUST_NOT_BE_EMPTY = "text_must_not_be_empty"
    VALUE_MUST_BE_ONE_OF_CHOICES = "value_must_be_one_of_choices"
    REGION_MUST_BE_A_BUREAU = "region_must_be_a_bureau"
    DATE_MUST_BE_ISO_DATE = "date_must_be_iso_date"
    KEY_MUST_BE_UNIQUE = "key_must_be_unique"
    INSTITUTION_MUST_BE_REGISTERED = "institution_must_be_registered"
    INSTITUTION_KIND_MUST_MATCH = "institution_kind_must_match"


@dataclass(frozen=True)
class RegistryError:
    code: RegistryRejection
    message: str
    file: str
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file + ("" if self.line is None else f":{self.line}")
        where += "" if self.column is None else f" [{self.column}]"
        return f"{where}: {self.code.value}: {self.message}"


@dataclass(frozen=True)
class RegistryContent:
    """A registry as read from files, before it is stored as a version."""

    institutions: tuple[Institution, ...]
    special_accounts: tuple[SpecialAccountFiling, ...]
    holidays: tuple[date, ...]

    @property
    def content_sha256(self) -> str:
        """Order-independent identity: loading the same registry again is no change."""
        document = {
            "institutions": sorted(
                [i.institution_id, i.kind.value, i.name, i.region] for i in self.institutions
            ),
            "special_accounts": sorted(
                [a.account_no, a.bank_id, a.broker_id, a.purpose, a.branch_region, str(a.filed_on)]
                for a in self.special_accounts
            ),
            "holidays": sorted(str(day) for day in self.holidays),
        }
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RegistryParse:
    content: RegistryContent | None
    errors: tuple[RegistryError, ...]


@dataclass
class _Errors:
    items: list[RegistryError] = field(default_factory=list)

    def add(
        self,
        code: RegistryRejection,
        message: str,
        file: str,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        if len(self.items) < registry_errors_max:
            self.items.append(RegistryError(code, message, file, line, column))


def parse_registry(files: Mapping[str, bytes | None]) -> RegistryParse:
    """Parse every registry file; any error means no content (nothing is half-loaded)."""
    errors = _Errors()
    rows = {name: _rows(name, files.get(name), errors) for name in REGISTRY_FILES}
    institutions = _institutions(rows[INSTITUTIONS_FILE], errors)
    accounts = _special_accounts(rows[SPECIAL_ACCOUNTS_FILE], institutions, errors)
    holidays = _holidays(rows[HOLIDAYS_FILE], errors)
    if errors.items:
        return RegistryParse(None, tuple(errors.items))
    content = RegistryContent(tuple(institutions.values()), accounts, holidays)
    return RegistryParse(content, ())


_Row = tuple[int, dict[str, str]]


def _rows(name: str, data: bytes | None, errors: _Errors) -> list[_Row]:
    if data is None:
        if name in REQUIRED_REGISTRY_FILES:
            errors.add(RegistryRejection.REGISTRY_FILE_MUST_EXIST, "the file is missing", name)
        return []
    if len(data) > registry_file_bytes_max:
        errors.add(
            RegistryRejection.REGISTRY_FILE_MUST_NOT_EXCEED_SIZE,
            f"{len(data)} bytes; at most {registry_file_bytes_max}",
            name,
        )
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        errors.add(RegistryRejection.REGISTRY_FILE_MUST_DECODE, "not UTF-8", name, line)
        return []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        expected = _COLUMNS[name]
        if header is None or tuple(header) != expected:
            errors.add(
                RegistryRejection.HEADER_MUST_HAVE_COLUMNS,
                f"header must be {','.join(expected)}, not {','.join(header or [])}",
                name,
                1,
            )
            return []
        return _records(name, reader, expected, errors)
    except csv.Error as problem:
        errors.add(
            RegistryRejection.ROW_MUST_HAVE_HEADER_WIDTH, str(problem), name, reader.line_num
        )
        return []


def _records(name: str, reader: Any, expected: tuple[str, ...], errors: _Errors) -> list[_Row]:
    rows: list[_Row] = []
    for record in reader:
        if len(record) != len(expected):
            errors.add(
                RegistryRejection.ROW_MUST_HAVE_HEADER_WIDTH,
                f"{len(record)} fields where the header has {len(expected)}",
                name,
                reader.line_num,
            )
            continue
        rows.append((reader.line_num, dict(zip(expected, record, strict=True))))
    return rows


def _text(name: str, line: int, row: dict[str, str], column: str, errors: _Errors) -> str:
    value = row[column]
    if not value.strip():
        errors.add(RegistryRejection.TEXT_MUST_NOT_BE_EMPTY, "empty", name, line, column)
    return value


def _choice(
    name: str, line: int, value: str, column: str, choices: tuple[str, ...], errors: _Errors
) -> None:
    if value not in choices:
        code = (
            RegistryRejection.REGION_MUST_BE_A_BUREAU
            if choices is REGIONS
            else RegistryRejection.VALUE_MUST_BE_ONE_OF_CHOICES
        )
        errors.add(code, f"{value!r} is not one of {', '.join(choices)}", name, line, column)


def _institutions(rows: list[_Row], errors: _Errors) -> dict[str, Institution]:
    institutions: dict[str, Institution] = {}
    kinds = tuple(kind.value for kind in InstitutionKind)
    for line, row in rows:
        ident = _text(INSTITUTIONS_FILE, line, row, "institution_id", errors)
        _text(INSTITUTIONS_FILE, line, row, "name", errors)
        _choice(INSTITUTIONS_FILE, line, row["kind"], "kind", kinds, errors)
        _choice(INSTITUTIONS_FILE, line, row["region"], "region", REGIONS, errors)
        if ident in institutions:
            errors.add(
                RegistryRejection.KEY_MUST_BE_UNIQUE,
                f"{ident!r} appears twice",
                INSTITUTIONS_FILE,
                line,
                "institution_id",
            )
        elif row["kind"] in kinds:
            institutions[ident] = Institution(
                ident, InstitutionKind(row["kind"]), row["name"], row["region"]
            )
    return institutions


def _special_accounts(
    rows: list[_Row], institutions: Mapping[str, Institution], errors: _Errors
) -> tuple[SpecialAccountFiling, ...]:
    filings: dict[str, SpecialAccountFiling] = {}
    name = SPECIAL_ACCOUNTS_FILE
    for line, row in rows:
        account_no = _text(name, line, row, "account_no", errors)
        for column, kind in (
            ("bank_id", InstitutionKind.BANK),
            ("broker_id", InstitutionKind.BROKER),
        ):
            _registered(line, row[column], column, kind, institutions, errors)
        _choice(name, line, row["purpose"], "purpose", PURPOSES, errors)
        _choice(name, line, row["branch_region"], "branch_region", REGIONS, errors)
        filed_on = _date(name, line, row["filed_on"], "filed_on", errors)
        if account_no in filings:
            errors.add(
                RegistryRejection.KEY_MUST_BE_UNIQUE,
                f"{account_no!r} appears twice",
                name,
                line,
                "account_no",
            )
        elif filed_on is not None:
            filings[account_no] = SpecialAccountFiling(
                account_no,
                row["bank_id"],
                row["broker_id"],
                row["purpose"],
                row["branch_region"],
                filed_on,
            )
    return tuple(filings.values())


def _registered(
    line: int,
    ident: str,
    column: str,
    kind: InstitutionKind,
    institutions: Mapping[str, Institution],
    errors: _Errors,
) -> None:
    institution = institutions.get(ident)
    if institution is None:
        errors.add(
            RegistryRejection.INSTITUTION_MUST_BE_REGISTERED,
            f"{ident!r} is not in {INSTITUTIONS_FILE}",
            SPECIAL_ACCOUNTS_FILE,
            line,
            column,
        )
    elif institution.kind is not kind:
        errors.add(
            RegistryRejection.INSTITUTION_KIND_MUST_MATCH,
            f"{ident!r} is a {institution.kind.value}, not a {kind.value}",
            SPECIAL_ACCOUNTS_FILE,
            line,
            column,
        )


def _date(name: str, line: int, value: str, column: str, errors: _Errors) -> date | None:
    parse: Callable[[str], date] = date.fromisoformat
    try:
        if len(value) == 10:
            return parse(value)
    except ValueError:
        pass
    errors.add(
        RegistryRejection.DATE_MUST_BE_ISO_DATE, f"{value!r} is not YYYY-MM-DD", name, line, column
    )
    return None


def _holidays(rows: list[_Row], errors: _Errors) -> tuple[date, ...]:
    days: list[date] = []
    for line, row in rows:
        day = _date(HOLIDAYS_FILE, line, row["date"], "date", errors)
        if day is None:
            continue
        if day in days:
            errors.add(
                RegistryRejection.KEY_MUST_BE_UNIQUE,
                f"{day} appears twice",
                HOLIDAYS_FILE,
                line,
                "date",
            )
            continue
        days.append(day)
    return tuple(sorted(days))
