"""The columnar store's keys: rotate the master key, encrypt a plaintext store in place.

Rotation: the data key is wrapped again, no object rewritten.

The data key that encrypts every object stays the same; only its wrapping changes. So a
rotation protects against a master key that leaked without the keyring, and it is instant
whatever the store's size. (A leaked data key would need every object re-encrypted under a
new one: not offered here.) The old master key no longer opens the store once the keyring
is replaced; a process already running keeps its data key in memory and is unaffected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from clearwatch.domain.shared.errors import Refused
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.shared.ports import Clock, UnitOfWork

STORE_MUST_BE_ENCRYPTED = "columnar_store_must_be_encrypted"
NEW_MASTER_KEY_MUST_DIFFER = "new_master_key_must_differ"
STORE_KEY_ROTATED = "store.key_rotated"  # the audit action; its payload names the keys' ids
STORE_ENCRYPTED = "store.encrypted_in_place"  # the audit action of `encrypt_store`


@dataclass(frozen=True)
class KeyRotation:
    """What a rotation did, by the keys' ids (short hashes that reveal nothing of a key)."""

    old_key_id: str
    new_key_id: str
    new_key_file: Path
    key_file_created: bool  # a new random key was written to `new_key_file`


class MasterKeys(Protocol):
    """The master key of the columnar store, as the wiring opened it."""

    def encrypted(self) -> bool: ...

    def rotate(self, new_key_file: Path) -> KeyRotation:
        """Wrap the data key under the key in `new_key_file` (made, owner-only, when the file
        does not exist); refuse a key that is the current one."""
        ...

    def begin_encryption(self) -> str:
        """Give a plaintext store its keyring (kept if it has one); the master key's id.
        Refused without the master key, before anything changes."""
        ...

    def object_names(self) -> list[str]: ...

    def encrypt_object(self, name: str) -> bool:
        """Rewrite one plaintext object encrypted, checked; False if it already was."""
        ...


@dataclass(frozen=True)
class StoreEncryption:
    """What `encrypt_store` did: objects rewritten now, objects found already encrypted."""

    master_key_id: str
    objects_encrypted: int
    objects_already_encrypted: int


def encrypt_store(
    *,
    keys: MasterKeys,
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    actor: str,
    progress: Callable[[str, bool], None] | None = None,
) -> StoreEncryption:
    """Encrypt every plaintext object of the columnar store in place, one at a time.

    Each object is replaced whole by its checked encrypted copy, under the same name, so the
    store stays readable throughout and a run killed at any point is finished by running it
    again: objects already encrypted are checked and kept. The audit record is appended once
    every object is encrypted; a run that died left none, the run that completes it does.
    """
    key_id = keys.begin_encryption()
    encrypted = already = 0
    for name in keys.object_names():
        rewritten = keys.encrypt_object(name)
        encrypted, already = encrypted + rewritten, already + (not rewritten)
        if progress is not None:
            progress(name, rewritten)
    done = StoreEncryption(key_id, encrypted, already)
    with uow_factory() as uow:
        record_audit(
            uow,
            actor=actor,
            action=STORE_ENCRYPTED,
            object_ref="store:columnar",
            payload={
                "master_key": key_id,
                "objects_encrypted": encrypted,
                "objects_already_encrypted": already,
            },
            recorded_at=clock.now(),
        )
        uow.commit()
    return done


def rotate_master_key(
    *,
    keys: MasterKeys,
    new_key_file: Path,
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    actor: str,
) -> KeyRotation:
    """Re-wrap the data key under the new master key, recorded in the audit log.

    The record is appended in the transaction that commits once the keyring is replaced: a
    failed rotation leaves no record, and a rotation is never without one unless the commit
    itself fails right after (then the next `audit` shows the keys' ids in the keyring only).
    """
    if not keys.encrypted():
        raise Refused(STORE_MUST_BE_ENCRYPTED, "the columnar store holds no keyring to rotate")
    with uow_factory() as uow:
        rotation = keys.rotate(new_key_file)
        record_audit(
            uow,
            actor=actor,
            action=STORE_KEY_ROTATED,
            object_ref="store:columnar-keyring",
            payload={"from_master_key": rotation.old_key_id, "to_master_key": rotation.new_key_id},
            recorded_at=clock.now(),
        )
        uow.commit()
    return rotation
