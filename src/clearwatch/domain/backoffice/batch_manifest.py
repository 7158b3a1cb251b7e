"""Batch manifests (`clearwatch.batch/1`) and the named rejections of bad input."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from clearwatch.domain.backoffice.batch_files import BATCH_FORMAT, BATCH_KINDS

ENCODINGS = ("utf-8", "gb18030")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
manifest_bytes_max = 1_000_000
files_per_batch_max = 64
MANIFEST_NAME = "manifest.json"


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
    FILE_HASH_MUST_MATCH = "file_hash_must_match"
    FILE_MUST_DECODE = "file_must_decode"
    COLUMN_MUST_BE_PRESENT = "column_must_be_present"
    ROW_COUNT_MUST_MATCH = "row_count_must_match"
    VALUE_MUST_MATCH_TYPE = "value_must_match_type"
    KEY_MUST_BE_UNIQUE = "key_must_be_unique"
    OPENING_ONLY_ON_FIRST_DAY = "opening_must_come_before_any_entry"
    OPENING_CASH_MUST_BALANCE = "opening_cash_must_balance"
    ACCOUNT_MUST_BE_KNOWN = "account_must_be_known"
    SPECIAL_ACCOUNT_MUST_EXIST = "special_account_must_exist_for_bank_and_purpose"
    SELL_MUST_NOT_EXCEED_SELLABLE = "sell_must_not_exceed_sellable_shares"
    CLIENT_CASH_MUST_NOT_GO_NEGATIVE = "client_cash_must_not_go_negative"
    WITHDRAWAL_MUST_NOT_EXCEED_WITHDRAWABLE = "withdrawal_must_not_exceed_withdrawable_cash"
    COMMISSION_RATE_MUST_BE_ALLOWED = "commission_rate_must_be_at_most_the_ceiling"
    MANUAL_ADJUSTMENT_MUST_BE_APPROVED = "manual_adjustment_must_be_approved"
    LARGE_TRANSFER_MUST_BE_APPROVED = "transfer_above_threshold_must_be_approved"
    BATCH_ID_MUST_KEEP_ITS_CONTENT = "batch_id_must_keep_its_content"
    ONE_BATCH_PER_KIND_AND_DATE = "one_batch_per_kind_and_date_unless_approved_correction"
    BROKER_MUST_MATCH = "broker_must_match"


@dataclass(frozen=True)
class Rejection:
    rule: Rule
    file: str = ""
    line: int | None = None
    column: str = ""
    detail: str = ""

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
            "detail": self.detail,
        }


class BatchRejected(Exception):
    """Bad input: the batch is refused whole and nothing of it is applied."""

    def __init__(self, rejections: tuple[Rejection, ...]) -> None:
        super().__init__("; ".join(r.describe() for r in rejections))
        self.rejections = rejections


@dataclass(frozen=True)
class ManifestFile:
    name: str
    sha256: str
    rows: int


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


def _reject(detail: str, rule: Rule = Rule.MANIFEST_FIELD_MUST_BE_VALID) -> BatchRejected:
    return BatchRejected((Rejection(rule, "manifest.json", detail=detail),))


def _text(data: dict[str, Any], name: str, pattern: re.Pattern[str] = _IDENTIFIER) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _reject(f"{name}: {value!r}")
    return value


def parse_manifest(raw: bytes) -> BatchManifest:
    """A manifest from its bytes, or `BatchRejected` naming the first broken rule."""
    if len(raw) > manifest_bytes_max:
        raise _reject("manifest too large", Rule.MANIFEST_MUST_BE_JSON_OBJECT)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _reject(str(error), Rule.MANIFEST_MUST_BE_JSON_OBJECT) from error
    if not isinstance(data, dict):
        raise _reject("not an object", Rule.MANIFEST_MUST_BE_JSON_OBJECT)
    if data.get("format") != BATCH_FORMAT:
        raise _reject(f"format: {data.get('format')!r}", Rule.MANIFEST_FORMAT_MUST_BE_BATCH_1)
    kind = data.get("kind")
    if kind not in BATCH_KINDS:
        raise _reject(f"kind: {kind!r}", Rule.KIND_MUST_BE_KNOWN)
    try:
        business_date = date.fromisoformat(_text(data, "business_date"))
    except ValueError as error:
        raise _reject(f"business_date: {data.get('business_date')!r}") from error
    encoding = data.get("encoding", "utf-8")
    if encoding not in ENCODINGS:
        raise _reject(f"encoding: {encoding!r}")
    corrects = data.get("corrects_batch_id")
    if corrects is not None:
        corrects = _text(data, "corrects_batch_id")
    return BatchManifest(
        kind=str(kind),
        broker_id=_text(data, "broker_id"),
        business_date=business_date,
        batch_id=_text(data, "batch_id"),
        encoding=str(encoding),
        files=_files(data.get("files"), str(kind)),
        corrects_batch_id=corrects,
    )


def _files(value: Any, kind: str) -> tuple[ManifestFile, ...]:
    if not isinstance(value, list) or len(value) > files_per_batch_max:
        raise _reject(f"files: a list of at most {files_per_batch_max}")
    files: list[ManifestFile] = []
    for item in value:
        if not isinstance(item, dict):
            raise _reject(f"files: {item!r}")
        name, sha, rows = item.get("name"), item.get("sha256"), item.get("rows")
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise _reject(f"files.name: {name!r}")
        if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
            raise _reject(f"files.sha256 of {name}: {sha!r}")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise _reject(f"files.rows of {name}: {rows!r}")
        # Only a trading batch may carry other files the trading system returns; they are kept.
        if BATCH_KINDS[kind].file(name) is None and (
            kind != "trading" or not name.endswith(".csv")
        ):
            raise BatchRejected(
                (Rejection(Rule.FILE_MUST_BE_OF_THE_KIND, name, detail=f"not a {kind} file"),)
            )
        if any(existing.name == name for existing in files):
            raise BatchRejected((Rejection(Rule.FILE_MUST_BE_LISTED_ONCE, name),))
        files.append(ManifestFile(name, sha, rows))
    return tuple(files)
