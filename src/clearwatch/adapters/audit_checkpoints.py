"""Signed audit checkpoints as files beside the store, signed with an Ed25519 key file.

The key and the checkpoints live outside the database, so whoever can rewrite the store
cannot also re-sign its head. Both are owner-only (0600, in 0700 directories); the private
key is never printed or logged. A checkpoint file is written once (a hard link that fails if
the name is taken), so one at a seq is never replaced.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clearwatch.adapters.private_files import (
    owner_only_dir,
    remove_orphans,
    write_new_owner_only,
)
from clearwatch.domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from clearwatch.domain.shared.errors import ClearwatchError

_NAME_DIGITS = 12  # zero-padded seq: names sort in seq order


class CheckpointUnreadable(ClearwatchError):
    """A checkpoint file that is not a checkpoint: it was damaged or replaced by hand."""


class FileCheckpointStore:
    """Checkpoints in `directory`, one JSON file per seq, signed with the key at `key_path`."""

    def __init__(self, directory: Path, key_path: Path) -> None:
        self._directory = directory
        self._key_path = key_path
        # Opening is the next start after a crash: what a writer killed between a file's
        # bytes and its name left here (a checkpoint's, the key's) goes now.
        remove_orphans(directory)
        remove_orphans(key_path.parent)

    def _private_key(self) -> Ed25519PrivateKey:
        """The signing key, created owner-only on first use."""
        if not self._key_path.exists():
            owner_only_dir(self._key_path.parent)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            with contextlib.suppress(FileExistsError):  # another process made it first
                write_new_owner_only(self._key_path, pem)
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
        owner_only_dir(self._directory)
        path = self._path(checkpoint.seq)
        try:
            write_new_owner_only(path, json.dumps(document, indent=2).encode("utf-8"))
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

    def public_key(self) -> str | None:
        public = self._public_key()
        if public is None:
            return None
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

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


def ed25519_signature_valid(public_key: str, signature: str, message: bytes) -> bool:
    """Does `signature` (hex) over `message` verify with the raw public key `public_key` (hex)?

    For a witness, which has only the key a head names (and pins it on first use)."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True
