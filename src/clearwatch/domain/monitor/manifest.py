"""The package manifest: parsed strictly, every broken field a named rejection."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from clearwatch.domain.monitor.rejections import PackageError, Rejection
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS, PackageSpec

MANIFEST_FILE_NAME = "manifest.json"
MANIFEST_FORMAT = "clearwatch.package/1"
manifest_bytes_max = 1024 * 1024  # a manifest lists a handful of files; a megabyte is plenty
SUPPORTED_ENCODINGS = ("utf-8", "gb18030")
_FIELDS = ("format", "kind", "institution_id", "business_date", "sequence", "encoding", "files")
_FILE_FIELDS = ("name", "sha256", "rows")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Plain names only: no separators, no parent references, nothing hidden, printable.
_PLAIN_NAME = re.compile(r"[^/\\\x00-\x1f]{1,255}")
institution_id_chars_max = 64


@dataclass(frozen=True)
class ManifestFile:
    name: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    kind: str
    institution_id: str
    business_date: date
    sequence: int
    encoding: str
    files: tuple[ManifestFile, ...]

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


def _error(code: Rejection, message: str, field_name: str | None = None) -> PackageError:
    return PackageError(code=code, message=message, file=MANIFEST_FILE_NAME, column=field_name)


def parse_manifest(data: bytes | None) -> ManifestOutcome:
    """Read manifest bytes (None when the file is absent) into a manifest or named errors."""
    if data is None:
        return _rejected(_error(Rejection.MANIFEST_MUST_EXIST, "the package has no manifest.json"))
    if len(data) > manifest_bytes_max:
        return _rejected(
            _error(
                Rejection.MANIFEST_MUST_NOT_EXCEED_SIZE,
                f"manifest.json is {len(data)} bytes; at most {manifest_bytes_max} are read",
            )
        )
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as problem:
        return _rejected(
            _error(Rejection.MANIFEST_MUST_BE_JSON_OBJECT, f"not a JSON object: {problem}")
        )
    if not isinstance(document, dict):
        return _rejected(_error(Rejection.MANIFEST_MUST_BE_JSON_OBJECT, "not a JSON object"))
    return _parse_document(document)


def _rejected(error: PackageError) -> ManifestOutcome:
    return ManifestOutcome(manifest=None, head=ManifestHead(), errors=(error,))


def _parse_document(document: Mapping[str, Any]) -> ManifestOutcome:
    errors: list[PackageError] = []
    for name in _FIELDS:
        if name not in document:
            errors.append(
                _error(Rejection.MANIFEST_FIELD_MUST_BE_PRESENT, f"field {name!r} is missing", name)
            )
    for name in document:
        if name not in _FIELDS:
            errors.append(
                _error(Rejection.MANIFEST_FIELD_MUST_BE_KNOWN, f"field {name!r} is unknown", name)
            )
    if "format" in document and document["format"] != MANIFEST_FORMAT:
        errors.append(
            _error(
                Rejection.MANIFEST_FORMAT_MUST_BE_KNOWN,
                f"format must be {MANIFEST_FORMAT!r}, not {_show(document['format'])}",
                "format",
            )
        )
    kind = _kind(document, errors)
    institution_id = _institution_id(document, errors)
    business_date = _business_date(document, errors)
    sequence = _sequence(document, errors)
    encoding = _encoding(document, errors)
    files = _files(document, errors)
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
    manifest = Manifest(kind, institution_id, business_date, sequence, encoding, files)
    return ManifestOutcome(manifest=manifest, head=head, errors=())


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(document: Mapping[str, Any], errors: list[PackageError]) -> str | None:
    if "kind" not in document:
        return None
    value = document["kind"]
    if isinstance(value, str) and value in PACKAGE_SPECS:
        return value
    errors.append(
        _error(
            Rejection.MANIFEST_KIND_MUST_BE_KNOWN,
            f"kind must be one of {sorted(PACKAGE_SPECS)}, not {_show(value)}",
            "kind",
        )
    )
    return None


def _institution_id(document: Mapping[str, Any], errors: list[PackageError]) -> str | None:
    if "institution_id" not in document:
        return None
    value = document["institution_id"]
    if isinstance(value, str) and 0 < len(value) <= institution_id_chars_max and value.strip():
        return value
    errors.append(
        _error(
            Rejection.MANIFEST_INSTITUTION_MUST_BE_TEXT,
            f"institution_id must be 1 to {institution_id_chars_max} characters, "
            f"not {_show(value)}",
            "institution_id",
        )
    )
    return None


def _business_date(document: Mapping[str, Any], errors: list[PackageError]) -> date | None:
    if "business_date" not in document:
        return None
    value = document["business_date"]
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(
        _error(
            Rejection.MANIFEST_BUSINESS_DATE_MUST_BE_ISO_DATE,
            f"business_date must be YYYY-MM-DD, not {_show(value)}",
            "business_date",
        )
    )
    return None


def _sequence(document: Mapping[str, Any], errors: list[PackageError]) -> int | None:
    if "sequence" not in document:
        return None
    value = document["sequence"]
    # bool is an int in Python; `true` is not a sequence number.
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    errors.append(
        _error(
            Rejection.MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER,
            f"sequence must be a positive integer, not {_show(value)}",
            "sequence",
        )
    )
    return None


def _encoding(document: Mapping[str, Any], errors: list[PackageError]) -> str | None:
    if "encoding" not in document:
        return None
    value = document["encoding"]
    if isinstance(value, str) and value.lower() in SUPPORTED_ENCODINGS:
        return value.lower()
    errors.append(
        _error(
            Rejection.MANIFEST_ENCODING_MUST_BE_SUPPORTED,
            f"encoding must be one of {list(SUPPORTED_ENCODINGS)}, not {_show(value)}",
            "encoding",
        )
    )
    return None


def _files(
    document: Mapping[str, Any], errors: list[PackageError]
) -> tuple[ManifestFile, ...] | None:
    if "files" not in document:
        return None
    value = document["files"]
    if not isinstance(value, list):
        errors.append(
            _error(Rejection.MANIFEST_FILES_MUST_BE_A_LIST, "files must be a list", "files")
        )
        return None
    entries: list[ManifestFile] = []
    count_before = len(errors)
    for position, item in enumerate(value, start=1):
        entry = _file_entry(position, item, errors)
        if entry is None:
            continue
        if any(existing.name == entry.name for existing in entries):
            errors.append(
                _error(
                    Rejection.MANIFEST_FILE_NAME_MUST_BE_UNIQUE,
                    f"files[{position}]: {entry.name!r} is listed twice",
                    "files",
                )
            )
            continue
        entries.append(entry)
    return tuple(entries) if len(errors) == count_before else None


def _file_entry(position: int, item: Any, errors: list[PackageError]) -> ManifestFile | None:
    where = f"files[{position}]"
    if not isinstance(item, dict) or set(item) != set(_FILE_FIELDS):
        errors.append(
            _error(
                Rejection.MANIFEST_FILE_ENTRY_MUST_BE_VALID,
                f"{where} must be an object with exactly {list(_FILE_FIELDS)}",
                "files",
            )
        )
        return None
    name, sha256, rows = item["name"], item["sha256"], item["rows"]
    if not isinstance(name, str) or not is_plain_file_name(name):
        errors.append(
            _error(
                Rejection.MANIFEST_FILE_NAME_MUST_BE_PLAIN,
                f"{where}: name must be a plain file name (no path, no '..'), not {_show(name)}",
                "files",
            )
        )
        return None
    valid_hash = isinstance(sha256, str) and _SHA256.fullmatch(sha256) is not None
    valid_rows = isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0
    if not (valid_hash and valid_rows):
        errors.append(
            _error(
                Rejection.MANIFEST_FILE_ENTRY_MUST_BE_VALID,
                f"{where}: sha256 must be 64 lowercase hex digits and rows an integer ≥ 0",
                "files",
            )
        )
        return None
    return ManifestFile(name=name, sha256=sha256, rows=rows)


def is_plain_file_name(name: str) -> bool:
    """A name that stays inside the package directory: no separators, not `.`/`..`/hidden."""
    return (
        _PLAIN_NAME.fullmatch(name) is not None
        and not name.startswith(".")
        and name == name.strip()
    )
