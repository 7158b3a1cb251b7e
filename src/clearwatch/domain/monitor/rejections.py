"""Named rules a submitted package can break, in precedence order, and its located errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clearwatch.domain.shared.file_format import ErrorCollector as _Collector
from clearwatch.domain.shared.file_format import errors_per_submission_max

__all__ = ["PRECEDENCE", "ErrorCollector", "PackageError", "PackageRule"]


class PackageRule(StrEnum):
    """Each a rule the package broke; declaration order is precedence order."""

    MANIFEST_MUST_EXIST = "manifest_must_exist"
    MANIFEST_MUST_NOT_EXCEED_SIZE = "manifest_must_not_exceed_size"
    MANIFEST_MUST_BE_JSON_OBJECT = "manifest_must_be_json_object"
    MANIFEST_FORMAT_MUST_BE_KNOWN = "manifest_format_must_be_known"
    MANIFEST_FIELD_MUST_BE_PRESENT = "manifest_field_must_be_present"
    MANIFEST_FIELD_MUST_BE_KNOWN = "manifest_field_must_be_known"
    MANIFEST_KIND_MUST_BE_KNOWN = "manifest_kind_must_be_known"
    MANIFEST_INSTITUTION_MUST_BE_TEXT = "manifest_institution_must_be_text"
    MANIFEST_BUSINESS_DATE_MUST_BE_ISO_DATE = "manifest_business_date_must_be_iso_date"
    MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER = "manifest_sequence_must_be_positive_integer"
    MANIFEST_ENCODING_MUST_BE_SUPPORTED = "manifest_encoding_must_be_supported"
    MANIFEST_FILES_MUST_BE_A_LIST = "manifest_files_must_be_a_list"
    MANIFEST_FILE_ENTRY_MUST_BE_VALID = "manifest_file_entry_must_be_valid"
    MANIFEST_FILE_NAME_MUST_BE_PLAIN = "manifest_file_name_must_be_plain"
    MANIFEST_FILE_NAME_MUST_BE_UNIQUE = "manifest_file_name_must_be_unique"
    MANIFEST_AUDIT_HEAD_MUST_BE_VALID = "manifest_audit_head_must_be_valid"
    INSTITUTION_MUST_BE_REGISTERED = "institution_must_be_registered"
    INSTITUTION_KIND_MUST_MATCH = "institution_kind_must_match"
    BUSINESS_DATE_MUST_BE_BUSINESS_DAY = "business_date_must_be_business_day"
    AUDIT_HEAD_SIGNATURE_MUST_VERIFY = "audit_head_signature_must_verify"
    AUDIT_HEAD_KEY_MUST_BE_PINNED_KEY = "audit_head_key_must_be_pinned_key"
    FILE_MUST_BE_KNOWN = "file_must_be_known"
    FILE_MUST_BE_LISTED = "file_must_be_listed"
    FILE_MUST_EXIST = "file_must_exist"
    FILE_MUST_BE_REGULAR = "file_must_be_a_regular_file"
    FILE_MUST_BE_IN_MANIFEST = "file_must_be_in_manifest"
    FILE_MUST_NOT_EXCEED_SIZE = "file_must_not_exceed_size"
    MANIFEST_HASH_MUST_MATCH = "manifest_hash_must_match"
    FILE_MUST_NOT_CHANGE_WHILE_READ = "file_must_not_change_while_read"
    FILE_MUST_DECODE = "file_must_decode"
    HEADER_MUST_EXIST = "header_must_exist"
    HEADER_COLUMN_MUST_BE_PRESENT = "header_column_must_be_present"
    HEADER_COLUMN_MUST_BE_KNOWN = "header_column_must_be_known"
    HEADER_COLUMN_MUST_BE_UNIQUE = "header_column_must_be_unique"
    CSV_MUST_BE_WELL_FORMED = "csv_must_be_well_formed"
    ROW_MUST_HAVE_HEADER_WIDTH = "row_must_have_header_width"
    FILE_ROWS_MUST_NOT_EXCEED_MAX = "file_rows_must_not_exceed_max"
    MANIFEST_ROWS_MUST_MATCH = "manifest_rows_must_match"
    TEXT_MUST_NOT_BE_EMPTY = "text_must_not_be_empty"
    IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS = (
        "identifier_must_not_contain_control_characters"
    )
    IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE = (
        "identifier_must_not_have_surrounding_whitespace"
    )
    AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS = "amount_must_have_digits_dot_two_decimals"
    AMOUNT_MUST_NOT_BE_TOO_LONG = "amount_must_not_be_too_long"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    DATE_MUST_BE_ISO_DATE = "date_must_be_iso_date"
    TIMESTAMP_MUST_BE_ISO_WITH_OFFSET = "timestamp_must_be_iso_with_offset"
    QUANTITY_MUST_BE_INTEGER = "quantity_must_be_integer"
    PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS = "price_must_have_at_most_three_decimals"
    RATE_MUST_BE_DECIMAL = "rate_must_be_decimal"
    VALUE_MUST_BE_ONE_OF_CHOICES = "value_must_be_one_of_choices"
    KEY_MUST_BE_UNIQUE = "key_must_be_unique"
    SEQUENCE_MUST_INCREASE_FOR_NEW_CONTENT = "sequence_must_increase_for_new_content"


PRECEDENCE = {rule: rank for rank, rule in enumerate(PackageRule)}


@dataclass(frozen=True)
class PackageError:
    """One broken rule, located: file (None for the manifest as a whole), line, column."""

    code: PackageRule
    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None  # the column's header name
    column_number: int | None = None  # 1-based position in the header

    def sort_key(self) -> tuple[int, str, int, int]:
        return (PRECEDENCE[self.code], self.file or "", self.line or 0, self.column_number or 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "column_number": self.column_number,
            "message": self.message,
        }


class ErrorCollector(_Collector[PackageError]):
    """A package's errors, up to `errors_per_submission_max` (the shared collector)."""

    def __init__(self, cap: int = errors_per_submission_max) -> None:
        super().__init__(cap=cap)
