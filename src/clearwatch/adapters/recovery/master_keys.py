"""The columnar store's master key for `clearwatch keys`: a key file, the keyring, the objects."""

from __future__ import annotations

from pathlib import Path

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.columnar_keys import (
    create_master_key_file,
    master_key_id,
    read_master_key_file,
    sealed_by,
)
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.recovery.keys import NEW_MASTER_KEY_MUST_DIFFER, KeyRotation


class ParquetMasterKeys:
    def __init__(self, store: ParquetStore) -> None:
        self._store = store

    def encrypted(self) -> bool:
        return self._store.keyring() is not None

    def rotate(self, new_key_file: Path) -> KeyRotation:
        created = not new_key_file.exists()
        # A new key is on disk (fsynced, 0600) before the keyring names it: a crash between
        # the two leaves the old key in force and the new file unused, never a store that no
        # key opens.
        master = (
            create_master_key_file(new_key_file) if created else read_master_key_file(new_key_file)
        )
        current = self._store.keyring()
        if current is not None and sealed_by(current) == master_key_id(master):
            raise Refused(NEW_MASTER_KEY_MUST_DIFFER, f"{new_key_file} holds the current key")
        old_id, new_id = self._store.rotate_master_key(master)
        return KeyRotation(old_id, new_id, new_key_file, created)

    def begin_encryption(self) -> str:
        return self._store.begin_encryption()

    def object_names(self) -> list[str]:
        return self._store.names()

    def encrypt_object(self, name: str) -> bool:
        return self._store.encrypt_object(name)
