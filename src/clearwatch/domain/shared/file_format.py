"""What packages and batches share: the manifest's limit and grammar, and the error collector.

A package (`clearwatch.package/1`) and a batch (`clearwatch.batch/1`) are both a directory of
CSV files with a `manifest.json` listing each file's name, sha256 and rows. The manifest of
each is parsed here, field by field, into values or faults; each side names the faults with
its own rules (`domain/monitor/manifest.py`, `domain/backoffice/batch_manifest.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from clearwatch.domain.shared.value_grammar import DATE_PATTERN, ValueRule, identifier_rule

MANIFEST_FILE_NAME = "manifest.json"
manifest_bytes_max = 1024 * 1024  # a manifest lists a handful of files; a megabyte is plenty
files_per_manifest_max = 64  # a kind has at most a handful of files; more is not a manifest
identifier_chars_max = 64  # institution, broker and batch ids in a manifest
errors_per_submission_max = 100  # a receipt or refusal names at most this many errors
ENCODINGS = ("utf-8", "gb18030")
FILE_ENTRY_FIELDS = ("name", "sha256", "rows")
_SHA256 = re.compile("[0-9a-f]{64}")
# Plain names only: no separators, no parent references, nothing hidden, printable.
_PLAIN_NAME = re.compile(r"[^/\\\x00-\x1f]{1,255}")


class ManifestFault(StrEnum):
    """What can be wrong with the shared part of a manifest; each side maps it to its rule."""

    TOO_LARGE = "too_large"
    NOT_JSON_OBJECT = "not_json_object"
    FILES_NOT_A_LIST = "files_not_a_list"
    ENTRY_NOT_VALID = "entry_not_valid"
    NAME_NOT_PLAIN = "name_not_plain"
    NAME_REPEATED = "name_repeated"


@dataclass(frozen=True)
class ManifestFile:
    name: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class Fault:
    fault: ManifestFault
    message: str
    name: str | None = None  # the file entry concerned, when known


def load_manifest(data: bytes) -> Mapping[str, Any] | Fault:
    """The manifest's JSON object (UTF-8, a BOM allowed), or why it is not one."""
    if len(data) > manifest_bytes_max:
        return Fault(
            ManifestFault.TOO_LARGE,
            f"manifest.json is {len(data)} bytes or more; at most {manifest_bytes_max} are read",
        )
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as problem:
        return Fault(ManifestFault.NOT_JSON_OBJECT, f"not a JSON object: {problem}")
    if not isinstance(document, dict):
        return Fault(ManifestFault.NOT_JSON_OBJECT, "not a JSON object")
    return document


def file_entries(value: Any) -> tuple[tuple[ManifestFile, ...], tuple[Fault, ...]]:
    """The `files` list: every well-formed entry, and a fault for each one that is not."""
    if not isinstance(value, list) or len(value) > files_per_manifest_max:
        message = f"files must be a list of at most {files_per_manifest_max} entries"
        return (), (Fault(ManifestFault.FILES_NOT_A_LIST, message),)
    entries: list[ManifestFile] = []
    faults: list[Fault] = []
    for position, item in enumerate(value, start=1):
        entry = _file_entry(position, item)
        if isinstance(entry, Fault):
            faults.append(entry)
        elif any(existing.name == entry.name for existing in entries):
            message = f"files[{position}]: {entry.name!r} is listed twice"
            faults.append(Fault(ManifestFault.NAME_REPEATED, message, entry.name))
        else:
            entries.append(entry)
    return tuple(entries), tuple(faults)


def _file_entry(position: int, item: Any) -> ManifestFile | Fault:
    where = f"files[{position}]"
    if not isinstance(item, dict) or set(item) != set(FILE_ENTRY_FIELDS):
        message = f"{where} must be an object with exactly {list(FILE_ENTRY_FIELDS)}"
        return Fault(ManifestFault.ENTRY_NOT_VALID, message)
    name, sha256, rows = item["name"], item["sha256"], item["rows"]
    if not isinstance(name, str) or not is_plain_file_name(name):
        message = f"{where}: name must be a plain file name (no path, no '..'), not {show(name)}"
        return Fault(ManifestFault.NAME_NOT_PLAIN, message)
    valid_hash = isinstance(sha256, str) and _SHA256.fullmatch(sha256) is not None
    valid_rows = isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0
    if not (valid_hash and valid_rows):
        message = f"{where}: sha256 must be 64 lowercase hex digits and rows an integer ≥ 0"
        return Fault(ManifestFault.ENTRY_NOT_VALID, message, name)
    return ManifestFile(name=name, sha256=sha256, rows=rows)


def is_plain_file_name(name: str) -> bool:
    """A name that stays inside the directory: no separators, not `.`/`..`/hidden."""
    return (
        _PLAIN_NAME.fullmatch(name) is not None
        and not name.startswith(".")
        and name == name.strip()
    )


def manifest_identifier(value: Any) -> str | ValueRule | None:
    """An id field: the id, the identifier rule it breaks (a `ValueRule`, test for it first:
    it is a `str` too), or None when it is not text or longer than `identifier_chars_max`."""
    if not isinstance(value, str) or len(value) > identifier_chars_max:
        return None
    rule = identifier_rule(value)
    return value if rule is None else rule


def iso_date(value: Any) -> date | None:
    """A `YYYY-MM-DD` date that exists, or None."""
    if not isinstance(value, str) or not re.fullmatch(DATE_PATTERN, value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def encoding_name(value: Any) -> str | None:
    """A supported encoding, lower-cased, or None."""
    if isinstance(value, str) and value.lower() in ENCODINGS:
        return value.lower()
    return None


def show(value: Any) -> str:
    """A JSON value quoted for a message, cut to a readable length."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


class Located(Protocol):
    """An error that knows where it is: precedence of its rule, then file, line, column."""

    def sort_key(self) -> tuple[int, str, int, int]: ...


E = TypeVar("E", bound=Located)


@dataclass
class ErrorCollector(Generic[E]):
    """Collects errors up to a cap; remembers that more were found than kept."""

    cap: int = errors_per_submission_max
    _errors: list[E] = field(default_factory=list)
    truncated: bool = False

    def add(self, error: E) -> None:
        if len(self._errors) >= self.cap:
            self.truncated = True
            return
        self._errors.append(error)

    def extend(self, errors: Iterable[E]) -> None:
        for error in errors:
            self.add(error)

    @property
    def room(self) -> int:
        """How many more errors would still be kept."""
        return max(0, self.cap - len(self._errors))

    @property
    def full(self) -> bool:
        return self.room == 0

    def __bool__(self) -> bool:
        return bool(self._errors)

    def __len__(self) -> int:
        return len(self._errors)

    def sorted(self) -> tuple[E, ...]:
        """The errors in precedence order, then by file, line and column."""
        return tuple(sorted(self._errors, key=lambda error: error.sort_key()))
