"""What backup and restore need from outside: a store dump, the objects, the folder, a signer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from clearwatch.services.audit.ports import AuditAnchor
from clearwatch.services.shared.ports import Clock


class StoreDump(Protocol):
    """The relational store as one file: a consistent snapshot of a running store, or loaded."""

    @property
    def kind(self) -> str:
        """`sqlite` or `postgresql`: the dump's format."""
        ...

    def dump(self, path: Path) -> None:
        """A consistent copy of the store as it is now, while writers go on, into `path`."""
        ...

    def is_empty(self) -> bool:
        """Whether the store holds no schema yet: the only store a restore loads into."""
        ...

    def load(self, path: Path) -> None:
        """Load the dump at `path` into this (empty) store."""
        ...

    def discard(self) -> None:
        """Remove what a refused restore loaded, so the store is never used."""
        ...


class ObjectFiles(Protocol):
    """The columnar store's objects as files, and its keyring (wrapped data keys) if encrypted."""

    def names(self) -> list[str]: ...

    def export(self, name: str, path: Path) -> str:
        """Copy object `name` to `path` (owner-only); the sha256 of the bytes copied."""
        ...

    def install(self, name: str, path: Path) -> str:
        """Put the file at `path` in the store as object `name`; the sha256 of its bytes."""
        ...

    def keyring(self) -> bytes | None:
        """The wrapped data key of an encrypted store; None for a plaintext one."""
        ...

    def install_keyring(self, data: bytes | None) -> None:
        """Before the objects: the backup's keyring (None: a plaintext backup). Refused, by
        the setting's name, when this site's master key cannot open it."""
        ...

    def discard(self) -> None:
        """Remove every object and the keyring: what a refused restore put in an empty store."""
        ...


class BackupFolder(Protocol):
    """Where backups go: a folder of backups sharing one folder of objects (local or mounted)."""

    def open_backup(self, name: str) -> Path:
        """A new owner-only folder for backup `name`."""
        ...

    def backup_named(self, name: str | None) -> Path:
        """An existing backup's folder: `name`, or the latest when None."""
        ...

    def object_path(self, name: str) -> Path: ...

    def has_object(self, name: str) -> bool: ...

    def known_objects(self) -> dict[str, str]:
        """Objects already in the folder, with the sha256 recorded when each was copied."""
        ...

    def add_objects(self, hashes: dict[str, str]) -> None:
        """Record newly copied objects' hashes."""
        ...

    def hash_file(self, path: Path) -> str | None:
        """The sha256 of the file at `path`; None if there is no such file."""
        ...

    def write_file(self, path: Path, data: bytes) -> None:
        """A new owner-only file."""
        ...

    def read_file(self, path: Path) -> bytes | None: ...

    def remove_file(self, path: Path) -> None: ...

    def mark_latest(self, name: str) -> None: ...

    def checkpoint_files(self, directory: Path) -> Iterator[Path]:
        """The checkpoint files in `directory`, in seq order."""
        ...


class ManifestSigner(Protocol):
    """The audit key, which signs the manifest; the restoring site must hold the same key."""

    def exists(self) -> bool: ...

    def sign(self, data: bytes) -> str: ...

    def valid(self, data: bytes, signature: str) -> bool: ...


@dataclass(frozen=True)
class RecoverySite:
    """One store's parts as recovery sees them, wired by the application."""

    store: StoreDump
    objects: ObjectFiles
    checkpoints_dir: Path
    signer: ManifestSigner
    anchor: Callable[[], AuditAnchor]
    clock: Clock
