"""Signed audit checkpoints as files beside the store, signed with an Ed25519 key file.

The key and the checkpoints live outside the database, so whoever can rewrite the store
cannot also re-sign its head. Both are owner-only (0600, in 0700 directories); the private
key is never printed or logged. A checkpoint file is written once (a hard link that fails if
the name is taken), so one at a seq is never replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearwatch.domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from clearwatch.domain.shared.errors import ClearwatchError

OWNER_ONLY = 0o600
OWNER_ONLY_DIR = 0o700
_NAME_DIGITS = 12  # zero-padded seq: names sort in seq order


class CheckpointUnreadable(ClearwatchError):
    """A checkpoint file that is not a checkpoint: it was damaged or replaced by hand."""


def _write_owner_only(path: Path, data: bytes) -> None:
    """Write `data` to a new file `path`, mode 0600 whatever the umask; refuse to replace."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    try:
        os.fchmod(fd, OWNER_ONLY)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and fails if another process wrote this name first
    finally:
        tmp.unlink()


def _owner_only_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIR)


class FileCheckpointStore:
    """Checkpoints in `directory`, one JSON file per seq, signed with the key at `key_path`."""

    def __init__(self, directory: Path, key_path: Path) -> None:
        self._directory = directory
        self._key_path = key_path

    def _private_key(self) -> Ed25519PrivateKey:
        """The signing key, created owner-only on first use."""
        if not self._key_path.exists():
            _owner_only_dir(self._key_path.parent)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            with contextlib.suppress(FileExistsError):  # another process made it first
                _write_owner_only(self._key_path, pem)
        loaded = serialization.load_pem_private_key(self._key_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ClearwatchError(f"the audit key at {self._key_path} is not an Ed25519 key")
        return loaded

    def _public_key(self) -> Ed25519PublicKey | None:
        if not self._key_path.exists():
            return None
        return self._private_key().public_key()

    def _path(self, seq: int) -> Path:
        return self._directory / f"{seq:0{_NAME_DIGITS}d}.json"

    def write(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        key = self._private_key()
        signed = SignedCheckpoint(checkpoint, key.sign(checkpoint.statement()).hex())
        public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        document = {
            "checkpoint": json.loads(checkpoint.statement()),
            "signature_ed25519": signed.signature,
            "public_key_ed25519": public.hex(),
        }
        _owner_only_dir(self._directory)
        path = self._path(checkpoint.seq)
        try:
            _write_owner_only(path, json.dumps(document, indent=2).encode("utf-8"))
        except FileExistsError:
            return self._read(path)
        return signed

    def all(self) -> list[SignedCheckpoint]:
        if not self._directory.is_dir():
            return []
        return [self._read(path) for path in sorted(self._directory.glob("*.json"))]

    def key_exists(self) -> bool:
        return self._key_path.exists()

    def signature_valid(self, signed: SignedCheckpoint) -> bool:
        # The key file's own public half decides, never the key a checkpoint file names.
        public = self._public_key()
        if public is None:
            return False
        try:
            public.verify(bytes.fromhex(signed.signature), signed.checkpoint.statement())
        except (InvalidSignature, ValueError):
            return False
        return True

    def _read(self, path: Path) -> SignedCheckpoint:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            body = document["checkpoint"]
            checkpoint = Checkpoint(
                seq=int(body["seq"]),
                tree_head=str(body["tree_head"]),
                chain_head=str(body["chain_head"]),
                made_at=str(body["made_at"]),
                frontier=tuple((int(size), str(root)) for size, root in body["frontier"]),
            )
            return SignedCheckpoint(checkpoint, str(document["signature_ed25519"]))
        except (ValueError, KeyError, TypeError) as error:
            raise CheckpointUnreadable(f"audit_checkpoint_unreadable: {path.name}") from error
