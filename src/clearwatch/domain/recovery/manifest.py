"""A backup's manifest: every file and columnar object it holds, by sha256, and the audit anchor.

A restore trusts nothing in the backup folder but the manifest, and the manifest only once its
signature verifies with the audit key the restoring site already holds. Every file is then
re-hashed against it; a file that is missing or hashes otherwise is named by its rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clearwatch.domain.shared.errors import Refused

BACKUP_FORMAT = "clearwatch.backup/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
LATEST_NAME = "LATEST"  # at the backup root: the folder name of the newest backup
OBJECTS_DIR = "objects"  # at the backup root: columnar objects, shared by every backup
BACKUPS_DIR = "backups"  # at the backup root: one folder per backup

# The rules a restore refuses by, in precedence order.
MANIFEST_MUST_BE_READABLE = "backup_manifest_must_be_readable"
MANIFEST_SIGNATURE_MUST_VERIFY = "backup_manifest_signature_must_verify"
AUDIT_KEY_MUST_BE_PRESENT = "backup_audit_key_must_be_present"
OBJECT_MUST_EXIST = "backup_object_must_exist"
OBJECT_MUST_MATCH_HASH = "backup_object_must_match_hash"
TARGET_MUST_BE_EMPTY = "restore_target_must_be_empty"
AUDIT_MUST_VERIFY = "restore_audit_must_verify"

STORE_KINDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class BackupManifest:
    """What one backup holds.

    `files` are paths inside the backup's own folder (the database dump, the checkpoints, the
    columnar keyring); `objects` are columnar objects by name in the shared object folder, each
    with the sha256 of its stored bytes (the name itself for a plaintext object).
    """

    made_at: str
    store_kind: str
    database: str  # the dump's path among `files`
    checkpoint_seq: int  # the latest signed checkpoint the backup carries; 0: none yet
    encrypted: bool
    files: tuple[tuple[str, str], ...]
    objects: tuple[tuple[str, str], ...]

    def document(self) -> dict[str, Any]:
        return {
            "format": BACKUP_FORMAT,
            "made_at": self.made_at,
            "store_kind": self.store_kind,
            "database": self.database,
            "checkpoint_seq": self.checkpoint_seq,
            "encrypted": self.encrypted,
            "files": dict(self.files),
            "objects": dict(self.objects),
        }

    def to_bytes(self) -> bytes:
        """The exact bytes kept and signed: sorted keys, so one manifest has one spelling."""
        return json.dumps(self.document(), sort_keys=True, indent=1).encode("utf-8")


def parse_manifest(data: bytes) -> BackupManifest:
    """The manifest in `data`, or `backup_manifest_must_be_readable` saying what is wrong."""
    try:
        document = json.loads(data.decode("utf-8"))
        if document.get("format") != BACKUP_FORMAT:
            raise ValueError(f"format is not {BACKUP_FORMAT}")
        manifest = BackupManifest(
            made_at=str(document["made_at"]),
            store_kind=str(document["store_kind"]),
            database=str(document["database"]),
            checkpoint_seq=int(document["checkpoint_seq"]),
            encrypted=bool(document["encrypted"]),
            files=_pairs(document["files"]),
            objects=_pairs(document["objects"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise Refused(MANIFEST_MUST_BE_READABLE, str(error)) from error
    if manifest.store_kind not in STORE_KINDS:
        raise Refused(MANIFEST_MUST_BE_READABLE, f"unknown store kind {manifest.store_kind!r}")
    if manifest.database not in dict(manifest.files):
        raise Refused(MANIFEST_MUST_BE_READABLE, "the database dump is not among its files")
    for path, _ in manifest.files:
        if path.startswith("/") or ".." in path.split("/"):
            raise Refused(MANIFEST_MUST_BE_READABLE, f"{path!r} leaves the backup folder")
    return manifest


def _pairs(mapping: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(key), str(value)) for key, value in mapping.items()))


@dataclass(frozen=True)
class RecoveryFinding:
    """One thing wrong with a backup, named by the rule it breaks and the item it is about."""

    rule: str
    subject: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject}"


def listing_findings(
    expected: Iterable[tuple[str, str]], found: Mapping[str, str | None]
) -> list[RecoveryFinding]:
    """Each expected `(item, sha256)` against the hash found (None: the item is missing)."""
    findings = []
    for item, digest in expected:
        actual = found.get(item)
        if actual is None:
            findings.append(RecoveryFinding(OBJECT_MUST_EXIST, item))
        elif actual != digest:
            findings.append(RecoveryFinding(OBJECT_MUST_MATCH_HASH, item))
    return findings


class RestoreRefused(Refused):
    """A backup the restore will not use: every finding, the first one's rule as the rule."""

    def __init__(self, findings: Iterable[RecoveryFinding]) -> None:
        self.findings = tuple(findings)
        first = self.findings[0]
        rest = "; ".join(str(f) for f in self.findings[1:])
        super().__init__(first.rule, first.subject + (f"; {rest}" if rest else ""))
