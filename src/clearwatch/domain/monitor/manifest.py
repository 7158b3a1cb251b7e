"""The package manifest: parsed strictly, every broken field a named rejection."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from clearwatch.domain.audit.witness import HeadUnreadable, PublishedHead, read_published_head
from clearwatch.domain.monitor.rejections import PackageError, PackageRule
from clearwatch.domain.shared.file_format import (
    ENCODINGS,
    MANIFEST_FILE_NAME,
    Fault,
    ManifestFault,
    ManifestFile,
    encoding_name,
    file_entries,
    identifier_chars_max,
    iso_date,
    load_manifest,
    manifest_identifier,
    show,
)
from clearwatch.domain.shared.file_schema import AUDIT_HEAD_FIELD, PACKAGE_SPECS, PackageSpec
from clearwatch.domain.shared.value_grammar import ValueRule

__all__ = ["MANIFEST_FILE_NAME", "Manifest", "ManifestFile", "ManifestHead", "parse_manifest"]

MANIFEST_FORMAT = "clearwatch.package/1"
_FIELDS = ("format", "kind", "institution_id", "business_date", "sequence", "encoding", "files")
_FAULT_RULES = {
    ManifestFault.TOO_LARGE: PackageRule.MANIFEST_MUST_NOT_EXCEED_SIZE,
    ManifestFault.NOT_JSON_OBJECT: PackageRule.MANIFEST_MUST_BE_JSON_OBJECT,
    ManifestFault.FILES_NOT_A_LIST: PackageRule.MANIFEST_FILES_MUST_BE_A_LIST,
    ManifestFault.ENTRY_NOT_VALID: PackageRule.MANIFEST_FILE_ENTRY_MUST_BE_VALID,
    ManifestFault.NAME_NOT_PLAIN: PackageRule.MANIFEST_FILE_NAME_MUST_BE_PLAIN,
    ManifestFault.NAME_REPEATED: PackageRule.MANIFEST_FILE_NAME_MUST_BE_UNIQUE,
}


@dataclass(frozen=True)
class Manifest:
    kind: str
    institution_id: str
    business_date: date
    sequence: int
    encoding: str
    files: tuple[ManifestFile, ...]
    # The sender's signed audit head, when its kind carries one. Not content: a re-run end of
    # day signs a newer head over the same figures, and that package is still a duplicate.
    audit_head: PublishedHead | None = None

    @property
    def spec(self) -> PackageSpec:
        return PACKAGE_SPECS[self.kind]

    def file(self, name: str) -> ManifestFile | None:
        return next((entry for entry in self.files if entry.name == name), None)

    @property
    def content_sha256(self) -> str:
        """The identity of the content: encoding and every file's hash, canonicalised."""
        canonical = json.dumps(
            {
                "encoding": self.encoding,
                "files": sorted([entry.name, entry.sha256] for entry in self.files),
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ManifestHead:
    """What could be read of a manifest even when it is rejected, for the rejection record."""

    kind: str | None = None
    institution_id: str | None = None
    business_date: date | None = None
    sequence: int | None = None


@dataclass(frozen=True)
class ManifestOutcome:
    manifest: Manifest | None
    head: ManifestHead
    errors: tuple[PackageError, ...]


def _error(code: PackageRule, message: str, field_name: str | None = None) -> PackageError:
    return PackageError(code=code, message=message, file=MANIFEST_FILE_NAME, column=field_name)


def _fault_error(fault: Fault, field_name: str | None = None) -> PackageError:
    return _error(_FAULT_RULES[fault.fault], fault.message, field_name)


def parse_manifest(data: bytes | None) -> ManifestOutcome:
    """Read manifest bytes (None when the file is absent) into a manifest or named errors."""
    if data is None:
        return _rejected(
            _error(PackageRule.MANIFEST_MUST_EXIST, "the package has no manifest.json")
        )
    document = load_manifest(data)
    if isinstance(document, Fault):
        return _rejected(_fault_error(document))
    return _parse_document(document)


def _rejected(error: PackageError) -> ManifestOutcome:
    return ManifestOutcome(manifest=None, head=ManifestHead(), errors=(error,))


def _parse_document(document: Mapping[str, Any]) -> ManifestOutcome:
    errors: list[PackageError] = []
    for name in _FIELDS:
        if name not in document:
            errors.append(
                _error(
                    PackageRule.MANIFEST_FIELD_MUST_BE_PRESENT, f"field {name!r} is missing", name
                )
            )
    for name in document:
        if name not in _FIELDS and not _optional_field(name, document):
            errors.append(
                _error(PackageRule.MANIFEST_FIELD_MUST_BE_KNOWN, f"field {name!r} is unknown", name)
            )
    if "format" in document and document["format"] != MANIFEST_FORMAT:
        errors.append(
            _error(
                PackageRule.MANIFEST_FORMAT_MUST_BE_KNOWN,
                f"format must be {MANIFEST_FORMAT!r}, not {show(document['format'])}",
                "format",
            )
        )
    kind = _kind(document, errors)
    institution_id = _institution_id(document, errors)
    business_date = _business_date(document, errors)
    sequence = _sequence(document, errors)
    encoding = _encoding(document, errors)
    files = _files(document, errors)
    audit_head = _audit_head(document, kind, errors)
    head = ManifestHead(kind, institution_id, business_date, sequence)
    if (
        errors
        or kind is None
        or institution_id is None
        or business_date is None
        or sequence is None
        or encoding is None
        or files is None
    ):
        return ManifestOutcome(manifest=None, head=head, errors=tuple(errors))
    manifest = Manifest(kind, institution_id, business_date, sequence, encoding, files, audit_head)
    return ManifestOutcome(manifest=manifest, head=head, errors=())


def _kind(document: Mapping[str, Any], errors: list[PackageError]) -> str | None:
    if "kind" not in document:
        return None
    value = document["kind"]
    if isinstance(value, str) and value in PACKAGE_SPECS:
        return value
    errors.append(
        _error(
            PackageRule.MANIFEST_KIND_MUST_BE_KNOWN,
            f"kind must be one of {sorted(PACKAGE_SPECS)}, not {show(value)}",
            "kind",
        )
    )
    return None


def _institution_id(document: Mapping[str, Any], errors: list[PackageError]) -> str | None:
    if "institution_id" not in document:
        return None
    value = document["institution_id"]
    found = manifest_identifier(value)
    if found is not None and not isinstance(found, ValueRule):
        return found
    if found is not None and found is not ValueRule.TEXT_MUST_NOT_BE_EMPTY:
        # The identifier rules are the same for a manifest field and a CSV value.
        errors.append(
            _error(PackageRule(found.value), f"institution_id {show(value)}", "institution_id")
        )
        return None
    errors.append(
        _error(
            PackageRule.MANIFEST_INSTITUTION_MUST_BE_TEXT,
            f"institution_id must be 1 to {identifier_chars_max} characters, not {show(value)}",
            "institution_id",
        )
    )
    return None


def _business_date(document: Mapping[str, Any], errors: list[PackageError]) -> date | None:
    if "business_date" not in document:
        return None
    value = document["business_date"]
    found = iso_date(value)
    if found is None:
        errors.append(
            _error(
                PackageRule.MANIFEST_BUSINESS_DATE_MUST_BE_ISO_DATE,
                f"business_date must be YYYY-MM-DD, not {show(value)}",
                "business_date",
            )
        )
    return found


def _sequence(document: Mapping[str, Any], errors: list[PackageError]) -> int | None:
    if "sequence" not in document:
        return None
    value = document["sequence"]
    # bool is an int in Python; `true` is not a sequence number.
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    errors.append(
        _error(
            PackageRule.MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER,
            f"sequence must be a positive integer, not {show(value)}",
            "sequence",
        )
    )
    return None


def _encoding(document: Mapping[str, Any], errors: list[PackageError]) -> str | None:
    if "encoding" not in document:
        return None
    value = document["encoding"]
    found = encoding_name(value)
    if found is None:
        errors.append(
            _error(
                PackageRule.MANIFEST_ENCODING_MUST_BE_SUPPORTED,
                f"encoding must be one of {list(ENCODINGS)}, not {show(value)}",
                "encoding",
            )
        )
    return found


def _files(
    document: Mapping[str, Any], errors: list[PackageError]
) -> tuple[ManifestFile, ...] | None:
    if "files" not in document:
        return None
    entries, faults = file_entries(document["files"])
    errors.extend(_fault_error(fault, "files") for fault in faults)
    return None if faults else entries


def _optional_field(name: str, document: Mapping[str, Any]) -> bool:
    """`audit_head` is known where the package's kind carries one."""
    kind = document.get("kind")
    spec = PACKAGE_SPECS.get(kind) if isinstance(kind, str) else None
    return name == AUDIT_HEAD_FIELD and spec is not None and spec.carries_audit_head


def _audit_head(
    document: Mapping[str, Any], kind: str | None, errors: list[PackageError]
) -> PublishedHead | None:
    if AUDIT_HEAD_FIELD not in document or kind is None:
        return None
    if not PACKAGE_SPECS[kind].carries_audit_head:
        return None  # named already: an unknown field for this kind
    try:
        return read_published_head(document[AUDIT_HEAD_FIELD])
    except HeadUnreadable as problem:
        errors.append(
            _error(
                PackageRule.MANIFEST_AUDIT_HEAD_MUST_BE_VALID,
                f"audit_head is not a signed head: {problem}",
                AUDIT_HEAD_FIELD,
            )
        )
        return None
