"""Batch manifests (`clearwatch.batch/1`) and the named rejections of bad input.

The manifest's limit and grammar are the package's (`domain/shared/file_format.py`); errors
are collected up to the cap, each with file, line and column, and refused together.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from clearwatch.domain.backoffice.batch_files import BATCH_FORMAT, BATCH_KINDS
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.file_format import (
    ENCODINGS,
    MANIFEST_FILE_NAME,
    ErrorCollector,
    Fault,
    ManifestFault,
    ManifestFile,
    encoding_name,
    file_entries,
    iso_date,
    load_manifest,
    manifest_identifier,
    show,
)
from clearwatch.domain.shared.value_grammar import ValueRule

__all__ = [
    "ENCODINGS",
    "MANIFEST_NAME",
    "BatchError",
    "BatchManifest",
    "BatchRejected",
    "ManifestFile",
    "Rule",
    "parse_manifest",
]

# Broker and batch ids also name batch references and output folders: a plain alphabet.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MANIFEST_NAME = MANIFEST_FILE_NAME


class Rule(StrEnum):
    """Why a batch is refused, in precedence order; each names the rule that was broken."""

    MANIFEST_MUST_EXIST = "manifest_must_exist"
    MANIFEST_MUST_BE_JSON_OBJECT = "manifest_must_be_json_object"
    MANIFEST_FORMAT_MUST_BE_BATCH_1 = "manifest_format_must_be_clearwatch_batch_1"
    MANIFEST_FIELD_MUST_BE_VALID = "manifest_field_must_be_valid"
    KIND_MUST_BE_KNOWN = "kind_must_be_known"
    FILE_MUST_BE_OF_THE_KIND = "file_must_be_of_the_kind"
    FILE_MUST_BE_LISTED_ONCE = "file_must_be_listed_once"
    FILE_MUST_EXIST = "file_must_exist"
    FILE_MUST_BE_REGULAR = "file_must_be_a_regular_file"
    FILE_HASH_MUST_MATCH = "file_hash_must_match"
    FILE_MUST_DECODE = "file_must_decode"
    COLUMN_MUST_BE_PRESENT = "column_must_be_present"
    ROW_COUNT_MUST_MATCH = "row_count_must_match"
    IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS = (
        "identifier_must_not_contain_control_characters"
    )
    IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE = (
        "identifier_must_not_have_surrounding_whitespace"
    )
    VALUE_MUST_MATCH_TYPE = "value_must_match_type"
    KEY_MUST_BE_UNIQUE = "key_must_be_unique"
    OPENING_ONLY_ON_FIRST_DAY = "opening_must_come_before_any_entry"
    OPENING_CASH_MUST_BALANCE = "opening_cash_must_balance"
    ACCOUNT_MUST_BE_KNOWN = "account_must_be_known"
    SPECIAL_ACCOUNT_MUST_EXIST = "special_account_must_exist_for_bank_and_purpose"
    SELL_MUST_NOT_EXCEED_SELLABLE = "sell_must_not_exceed_sellable_shares"
    CLIENT_CASH_MUST_NOT_GO_NEGATIVE = "client_cash_must_not_go_negative"
    CLOSED_ACCOUNT_MUST_NOT_TRANSFER = "closed_account_must_not_transfer"
    FROZEN_ACCOUNT_MUST_NOT_TRANSFER_OUT = "frozen_account_must_not_transfer_out"
    FLOW_MUST_NOT_BE_HALTED = "flow_must_not_be_halted"  # the risk desk halted it (issue 19)
    WITHDRAWAL_MUST_NOT_EXCEED_WITHDRAWABLE = "withdrawal_must_not_exceed_withdrawable_cash"
    COMMISSION_RATE_MUST_BE_ALLOWED = "commission_rate_must_be_at_most_the_ceiling"
    MANUAL_ADJUSTMENT_MUST_BE_APPROVED = "manual_adjustment_must_be_approved"
    LARGE_TRANSFER_MUST_BE_APPROVED = "transfer_above_threshold_must_be_approved"
    APPROVAL_MUST_MATCH_CONTENT = "approval_must_match_content"
    BATCH_ID_MUST_KEEP_ITS_CONTENT = "batch_id_must_keep_its_content"
    ONE_BATCH_PER_KIND_AND_DATE = "one_batch_per_kind_and_date_unless_approved_correction"


_PRECEDENCE = {rule: rank for rank, rule in enumerate(Rule)}


@dataclass(frozen=True)
class BatchError:
    """One broken rule, located: file ("" for the batch), line, column name and number."""

    rule: Rule
    file: str = ""
    line: int | None = None
    column: str = ""
    detail: str = ""
    column_number: int | None = None  # 1-based position in the header, when known

    def sort_key(self) -> tuple[int, str, int, int]:
        return (_PRECEDENCE[self.rule], self.file, self.line or 0, self.column_number or 0)

    def describe(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f" [{self.column}]"
        return f"{self.rule.value} at {where or 'batch'}: {self.detail}".rstrip(": ")

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "column_number": self.column_number,
            "detail": self.detail,
        }


class BatchRejected(Refused):
    """Bad input: the batch is refused whole and nothing of it is applied."""

    def __init__(self, rejections: tuple[BatchError, ...]) -> None:
        # The first rejection names the rule; the message keeps every one, in order.
        first = rejections[0]
        super().__init__(first.rule.value, "; ".join(r.describe() for r in rejections))
        self.args = ("; ".join(r.describe() for r in rejections),)
        self.rejections = rejections


@dataclass(frozen=True)
class BatchManifest:
    kind: str
    broker_id: str
    business_date: date
    batch_id: str
    encoding: str
    files: tuple[ManifestFile, ...]
    corrects_batch_id: str | None = None  # a correction names the batch it replaces

    @property
    def content_sha256(self) -> str:
        """The identity of the content: kind, broker, date and the files' hashes, canonicalised."""
        canonical = json.dumps(
            {
                "kind": self.kind,
                "broker_id": self.broker_id,
                "business_date": self.business_date.isoformat(),
                "files": sorted([f.name, f.sha256, f.rows] for f in self.files),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def batch_ref(self) -> str:
        return f"{self.broker_id}:{self.batch_id}"

    def subject_ref(self) -> str:
        """What a correction's approval is about."""
        return f"batch:{self.broker_id}:{self.kind}:{self.business_date}:{self.batch_id}"


class BatchErrors(ErrorCollector[BatchError]):
    """A batch's errors, up to the cap; `refuse` raises them together, in precedence order."""

    def refuse(self) -> None:
        if self:
            raise BatchRejected(self.sorted())


_FAULT_RULES = {
    ManifestFault.TOO_LARGE: Rule.MANIFEST_MUST_BE_JSON_OBJECT,
    ManifestFault.NOT_JSON_OBJECT: Rule.MANIFEST_MUST_BE_JSON_OBJECT,
    ManifestFault.FILES_NOT_A_LIST: Rule.MANIFEST_FIELD_MUST_BE_VALID,
    ManifestFault.ENTRY_NOT_VALID: Rule.MANIFEST_FIELD_MUST_BE_VALID,
    ManifestFault.NAME_NOT_PLAIN: Rule.MANIFEST_FIELD_MUST_BE_VALID,
    ManifestFault.NAME_REPEATED: Rule.FILE_MUST_BE_LISTED_ONCE,
}


def _error(rule: Rule, detail: str, column: str = "", file: str = MANIFEST_NAME) -> BatchError:
    return BatchError(rule, file, column=column, detail=detail)


def parse_manifest(raw: bytes) -> BatchManifest:
    """A manifest from its bytes, or `BatchRejected` naming every broken rule (up to the cap)."""
    document = load_manifest(raw)
    if isinstance(document, Fault):
        raise BatchRejected((_error(_FAULT_RULES[document.fault], document.message),))
    errors = BatchErrors()
    if document.get("format") != BATCH_FORMAT:
        detail = f"format: {show(document.get('format'))}"
        errors.add(_error(Rule.MANIFEST_FORMAT_MUST_BE_BATCH_1, detail, "format"))
    kind = document.get("kind")
    if not isinstance(kind, str) or kind not in BATCH_KINDS:  # a list or object is no key
        errors.add(_error(Rule.KIND_MUST_BE_KNOWN, f"kind: {show(kind)}", "kind"))
    business_date = iso_date(document.get("business_date"))
    if business_date is None:
        detail = f"business_date: {show(document.get('business_date'))}"
        errors.add(_error(Rule.MANIFEST_FIELD_MUST_BE_VALID, detail, "business_date"))
    # A batch without `encoding` is UTF-8 (the first batches had no such field).
    encoding = encoding_name(document.get("encoding", "utf-8"))
    if encoding is None:
        detail = f"encoding: {show(document.get('encoding'))}"
        errors.add(_error(Rule.MANIFEST_FIELD_MUST_BE_VALID, detail, "encoding"))
    broker_id = _identifier(document, "broker_id", errors)
    batch_id = _identifier(document, "batch_id", errors)
    corrects = None
    if document.get("corrects_batch_id") is not None:
        corrects = _identifier(document, "corrects_batch_id", errors)
    files = _files(document.get("files"), str(kind), errors)
    errors.refuse()
    if business_date is None or encoding is None or broker_id is None or batch_id is None:
        raise AssertionError("a manifest without errors has every field")  # pragma: no cover
    return BatchManifest(
        kind=str(kind),
        broker_id=broker_id,
        business_date=business_date,
        batch_id=batch_id,
        encoding=encoding,
        files=files,
        corrects_batch_id=corrects,
    )


def _identifier(document: Mapping[str, Any], name: str, errors: BatchErrors) -> str | None:
    value = document.get(name)
    found = manifest_identifier(value)
    if isinstance(found, ValueRule) and found is not ValueRule.TEXT_MUST_NOT_BE_EMPTY:
        # The identifier rules are the same for a manifest field and a CSV value.
        errors.add(_error(Rule(found.value), f"{name}: {show(value)}", name))
        return None
    if found is None or isinstance(found, ValueRule) or not _PLAIN_ID.fullmatch(found):
        errors.add(_error(Rule.MANIFEST_FIELD_MUST_BE_VALID, f"{name}: {show(value)}", name))
        return None
    return found


def _files(value: Any, kind: str, errors: BatchErrors) -> tuple[ManifestFile, ...]:
    entries, faults = file_entries(value)
    for fault in faults:
        errors.add(
            _error(_FAULT_RULES[fault.fault], fault.message, "files", fault.name or MANIFEST_NAME)
        )
    for entry in entries:
        # Only a trading batch may carry other files the trading system returns; they are kept.
        if (
            kind in BATCH_KINDS
            and BATCH_KINDS[kind].file(entry.name) is None
            and (kind != "trading" or not entry.name.endswith(".csv"))
        ):
            errors.add(_error(Rule.FILE_MUST_BE_OF_THE_KIND, f"not a {kind} file", file=entry.name))
    return entries
