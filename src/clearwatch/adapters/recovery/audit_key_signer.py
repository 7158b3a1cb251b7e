"""The audit's Ed25519 key signs a backup's manifest; its public half checks one on restore.

The key is the one that signs the audit checkpoints: a site that can verify the audit log of
a backup can verify its manifest too, and one without the key can do neither. It is never
copied into a backup: keys are kept apart from the data they protect.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearwatch.domain.shared.errors import ClearwatchError


class AuditKeySigner:
    def __init__(self, key_path: Path) -> None:
        self._key_path = key_path

    def exists(self) -> bool:
        return self._key_path.is_file()

    def _key(self) -> Ed25519PrivateKey:
        loaded = serialization.load_pem_private_key(self._key_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ClearwatchError(f"the audit key at {self._key_path} is not an Ed25519 key")
        return loaded

    def sign(self, data: bytes) -> str:
        return self._key().sign(data).hex()

    def valid(self, data: bytes, signature: str) -> bool:
        try:
            self._key().public_key().verify(bytes.fromhex(signature), data)
        except (InvalidSignature, ValueError):
            return False
        return True
