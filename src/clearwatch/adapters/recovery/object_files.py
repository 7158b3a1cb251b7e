"""The columnar store's objects copied as bytes, hashed on the way, for backup and restore.

Objects are copied as stored (encrypted ones stay encrypted): a backup never holds a
plaintext the store does not. Each copy goes to a temporary name and is renamed when whole.
An encrypted store's keyring (its data key, wrapped) goes with it; its master key never does.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pyarrow import fs

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.private_files import OWNER_ONLY, owner_only_dir

copy_block_bytes = 8 * 1024 * 1024


class ParquetObjectFiles:
    def __init__(self, store: ParquetStore) -> None:
        self._store = store

    def names(self) -> list[str]:
        return self._store.names()

    def export(self, name: str, path: Path) -> str:
        owner_only_dir(path.parent)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
        hasher = hashlib.sha256()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
        try:
            with self._store.filesystem.open_input_stream(self._store.object_path(name)) as src:
                while block := src.read(copy_block_bytes):
                    hasher.update(block)
                    os.write(fd, block)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        return hasher.hexdigest()

    def install(self, name: str, path: Path) -> str:
        filesystem, target = self._store.filesystem, self._store.object_path(name)
        filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
        temporary = f"{self._store.base}/tmp/restore_{os.getpid()}_{name}.parquet.part"
        filesystem.create_dir(f"{self._store.base}/tmp", recursive=True)
        hasher = hashlib.sha256()
        with path.open("rb") as source, filesystem.open_output_stream(temporary) as sink:
            while block := source.read(copy_block_bytes):
                hasher.update(block)
                sink.write(block)
        filesystem.move(temporary, target)
        return hasher.hexdigest()

    def keyring(self) -> bytes | None:
        return self._store.keyring()

    def install_keyring(self, data: bytes | None) -> None:
        self._store.install_keyring(data)

    def discard(self) -> None:
        self._store.remove_keyring()
        filesystem = self._store.filesystem
        for name in self.names():
            filesystem.delete_file(self._store.object_path(name))
        info = filesystem.get_file_info(fs.FileSelector(self._store.base, allow_not_found=True))
        for entry in info:
            if entry.type == fs.FileType.Directory and entry.base_name != "tmp":
                filesystem.delete_dir_contents(entry.path, missing_dir_ok=True)
