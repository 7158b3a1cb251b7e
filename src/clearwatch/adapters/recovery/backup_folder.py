"""A backup folder on a local or mounted filesystem: backups side by side, objects shared.

    <root>/objects/<aa>/<name>.parquet   columnar objects, copied once for every backup
    <root>/objects/index.jsonl           each object's stored sha256, recorded when copied
    <root>/backups/<made-at>/            one backup: manifest (+ signature), dump, checkpoints
    <root>/LATEST                        the newest backup's folder name

Everything is owner-only (0600 files, 0700 folders): a backup holds every client's data.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from clearwatch.adapters.private_files import (
    owner_only_dir,
    replace_owner_only,
    write_new_owner_only,
)
from clearwatch.domain.recovery.manifest import (
    BACKUPS_DIR,
    LATEST_NAME,
    MANIFEST_MUST_BE_READABLE,
    MANIFEST_NAME,
    OBJECTS_DIR,
)
from clearwatch.domain.shared.errors import Refused

hash_read_block_bytes = 8 * 1024 * 1024
_INDEX = "index.jsonl"


class LocalBackupFolder:
    def __init__(self, root: Path) -> None:
        self._root = root

    def open_backup(self, name: str) -> Path:
        owner_only_dir(self._root)
        owner_only_dir(self._root / OBJECTS_DIR)
        folder = owner_only_dir(self._root / BACKUPS_DIR) / name
        folder.mkdir(mode=0o700)  # a new name each time: never mixed with an older backup
        return folder

    def backup_named(self, name: str | None) -> Path:
        """`name` under the root; the latest; or the root itself when it is one backup."""
        if name is not None:
            return self._root / BACKUPS_DIR / name
        if (self._root / MANIFEST_NAME).is_file():
            return self._root
        latest = self._root / LATEST_NAME
        if not latest.is_file():
            raise Refused(MANIFEST_MUST_BE_READABLE, f"{self._root} holds no backup")
        return self._root / BACKUPS_DIR / latest.read_text("utf-8").strip()

    def _objects_dir(self) -> Path:
        # A backup folder given directly (`restore DEST/backups/X`) shares DEST's objects.
        if (self._root / MANIFEST_NAME).is_file():
            return self._root.parent.parent / OBJECTS_DIR
        return self._root / OBJECTS_DIR

    def object_path(self, name: str) -> Path:
        return self._objects_dir() / name[:2] / f"{name}.parquet"

    def has_object(self, name: str) -> bool:
        return self.object_path(name).is_file()

    def known_objects(self) -> dict[str, str]:
        index = self._objects_dir() / _INDEX
        if not index.is_file():
            return {}
        known: dict[str, str] = {}
        for line in index.read_text("utf-8").splitlines():
            if line.strip():
                known.update(json.loads(line))
        return known

    def add_objects(self, hashes: dict[str, str]) -> None:
        if not hashes:
            return
        index = self._objects_dir() / _INDEX
        line = json.dumps(hashes, sort_keys=True) + "\n"
        fd = os.open(index, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def hash_file(self, path: Path) -> str | None:
        return file_sha256(path)

    def write_file(self, path: Path, data: bytes) -> None:
        owner_only_dir(path.parent)
        write_new_owner_only(path, data)

    def read_file(self, path: Path) -> bytes | None:
        return path.read_bytes() if path.is_file() else None

    def remove_file(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def mark_latest(self, name: str) -> None:
        replace_owner_only(self._root / LATEST_NAME, f"{name}\n".encode())

    def checkpoint_files(self, directory: Path) -> Iterator[Path]:
        if directory.is_dir():
            yield from sorted(p for p in directory.glob("*.json") if p.stem.isdigit())


def file_sha256(path: Path) -> str | None:
    """The sha256 of a file's bytes, read in blocks; None if there is no such file."""
    if not path.is_file():
        return None
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(hash_read_block_bytes):
            hasher.update(block)
    return hasher.hexdigest()
