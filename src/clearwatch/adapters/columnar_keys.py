"""Keys of the columnar store's encryption at rest: one data key, wrapped by a master key.

An encrypted store's objects are Parquet with modular encryption (AES-GCM, uniform: the
footer and every column under one key). One data key serves the whole store, not one per
object, because a DuckDB scan of many objects takes one key (`PRAGMA add_parquet_key` and
`encryption_config`). The data key is kept only wrapped, sealed with AES-256-GCM under the
master key in the store's `keyring.json`, which travels with the store and its backups. The
master key never touches the store: it comes from an owner-only key file
(`CLEARWATCH_MASTER_KEY_FILE`) or the environment (`CLEARWATCH_MASTER_KEY`), base64 of 32
bytes either way. Rotating the master key re-wraps the data key; no object is rewritten.

No function here prints, logs or puts a key into an exception's message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyarrow import fs

from clearwatch.adapters.private_files import replace_owner_only, write_new_owner_only
from clearwatch.config import ENCRYPT_AT_REST, MASTER_KEY, MASTER_KEY_BYTES, MASTER_KEY_FILE
from clearwatch.domain.shared.errors import ConfigurationError

KEY_BYTES = MASTER_KEY_BYTES  # AES-256, for the master key and the data key alike
KEYRING_NAME = "keyring.json"  # at the store's root, beside the objects' folders
KEYRING_FORMAT = "clearwatch.columnar-keyring/1"
_NONCE_BYTES = 12
# Additional data of the sealed data key: a sealed key is only ever opened as this store's.
_SEAL_CONTEXT = KEYRING_FORMAT.encode("ascii")
_NAME_LABEL = b"clearwatch.object-name/1"
_KEY_ID_LABEL = b"clearwatch.master-key-id/1"
DUCKDB_KEY_NAME = "clearwatch_store"  # the name the data key is registered under in DuckDB
ENCRYPTED_FOOTER_MAGIC = b"PARE"  # the last bytes of a Parquet file whose footer is encrypted
OBJECT_NAME_METADATA = b"clearwatch.object"  # in the encrypted footer: the object's own name
# DuckDB checks a column chunk of an encrypted file as one page and fails ("Computed AES tag
# differs from read AES tag") as soon as a chunk holds more than one data page. pyarrow cuts
# a page at `max_rows_per_page` rows (20,000 by default), at `data_page_size` bytes, and when
# a dictionary outgrows its page: all three are raised past a row group's size, and the row
# group's rows (pyarrow's default) are named so that the two limits stay equal.
ROW_GROUP_ROWS = 1 << 20
PAGE_BYTES_MAX = 1 << 30


class ColumnarKeyError(ConfigurationError):
    """The columnar store's keys do not let it start; the message names the setting."""


_KEY_SETTINGS = f"{MASTER_KEY_FILE} (an owner-only key file) or {MASTER_KEY}"


@dataclass(frozen=True)
class DataKey:
    """The store's data key: encrypts every object, and names them (keyed, over plaintext)."""

    secret: bytes = field(repr=False)

    def encryption(self) -> pe.FileEncryptionProperties:
        return pe.create_encryption_properties(self.secret)

    def decryption(self) -> pe.FileDecryptionProperties:
        return pe.create_decryption_properties(self.secret)

    def scan_decryption(self) -> pe.FileDecryptionProperties:
        """For an engine's reads of many objects, which may find plaintext ones among them (a
        store being encrypted in place) and reads those as they are, as DuckDB's scan does."""
        return pe.create_decryption_properties(self.secret, allow_plaintext_files=True)

    def object_name(self, plaintext_sha256: bytes) -> str:
        """An object's name from the sha256 of its plaintext: equal content, equal name, and a
        name that says nothing about the content to whoever lacks the key."""
        naming = hmac.new(self.secret, _NAME_LABEL, hashlib.sha256).digest()
        return hmac.new(naming, plaintext_sha256, hashlib.sha256).hexdigest()

    def register_in_duckdb(self, connection: Any) -> None:
        """Make the key known to a DuckDB connection as `DUCKDB_KEY_NAME`."""
        text = base64.b64encode(self.secret).decode("ascii")  # base64 never holds a quote
        try:
            connection.execute(f"PRAGMA add_parquet_key('{DUCKDB_KEY_NAME}', '{text}')")
        except Exception:
            # DuckDB's message may quote the statement, and with it the key.
            raise RuntimeError("DuckDB refused the columnar store's data key") from None


def duckdb_parquet_scan(
    paths: Sequence[str], key: DataKey | None, *, filename: bool = False
) -> str:
    """The objects at `paths` as a relation of DuckDB SQL (what follows FROM).

    Plaintext: `read_parquet(…)`. Encrypted: the same with the store's key, under `OFFSET 0`.
    DuckDB 2.0 fails on an encrypted object ("Computed AES tag differs from read AES tag") as
    soon as a filter reaches its scan: a WHERE pushed down, or a hash join's dynamic filter.
    No filter crosses an OFFSET, so the scan reads whole columns and filters apply to what it
    returns. Ibis's `read_parquet` cannot be used either: it passes `encryption_config` as a
    MAP, where DuckDB wants a STRUCT.
    """
    options = ", filename = true" if filename else ""
    if key is None:
        return f"read_parquet({_listed(paths)}{options})"
    # A store being encrypted in place (`keys encrypt-store`) holds both forms for a while,
    # and DuckDB reads one form per `read_parquet`: the plaintext ones are read apart.
    forms = {path: encrypted_footer(path) for path in paths}
    plaintext = [path for path in paths if not forms[path]]
    encrypted = [path for path in paths if forms[path]]
    keyed = f"{options}, encryption_config = {{footer_key: '{DUCKDB_KEY_NAME}'}}"
    scan = f"(SELECT * FROM read_parquet({_listed(encrypted)}{keyed}) OFFSET 0)"
    if not plaintext:
        return scan
    plain = f"SELECT * FROM read_parquet({_listed(plaintext)}{options})"
    if not encrypted:
        return f"({plain})"
    return f"(SELECT * FROM {scan} UNION ALL BY NAME {plain})"


def _listed(paths: Sequence[str]) -> str:
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in paths) + "]"


def encrypted_footer(path: str) -> bool:
    """Whether the Parquet file at `path` (a path or a pyarrow URI) has an encrypted footer:
    its last four bytes are `PARE`, not `PAR1`. A missing file counts as encrypted, so that
    the reader names it as before."""
    filesystem, where = (
        fs.FileSystem.from_uri(path) if "://" in path else (fs.LocalFileSystem(), path)
    )
    try:
        with filesystem.open_input_file(where) as source:
            size = source.size()
            if size < len(ENCRYPTED_FOOTER_MAGIC):
                return False
            source.seek(size - len(ENCRYPTED_FOOTER_MAGIC))
            return bool(source.read(len(ENCRYPTED_FOOTER_MAGIC)) == ENCRYPTED_FOOTER_MAGIC)
    except FileNotFoundError:
        return True


@dataclass(frozen=True)
class MasterKeySource:
    """Whether new stores are encrypted, and where the master key is when one is asked for.

    Read only when needed: a plaintext store never reads a key file.
    """

    encrypt: bool = False
    key_file: Path | None = None
    key_text: str | None = field(default=None, repr=False)

    @property
    def named(self) -> str:
        """Where the master key comes from, by setting (never its value)."""
        if self.key_file is not None:
            return f"{MASTER_KEY_FILE} ({self.key_file})"
        return MASTER_KEY if self.key_text is not None else _KEY_SETTINGS

    def load(self, why: str) -> bytes:
        """The master key; `why` says what needs it, in the refusal when none is set."""
        if self.key_file is not None:
            return read_master_key_file(self.key_file)
        if self.key_text is not None:
            return decode_master_key(self.key_text, MASTER_KEY)
        raise ColumnarKeyError(f"{why}: set {_KEY_SETTINGS} to its master key")


def decode_master_key(text: str, where: str) -> bytes:
    """32 bytes from base64 text, or a refusal naming `where` (never the text)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ColumnarKeyError(f"{where} must hold a master key: base64 of {KEY_BYTES} bytes")
    return key


def read_master_key_file(path: Path) -> bytes:
    """The master key in `path`, which must be the caller's own and readable by no one else."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ColumnarKeyError(f"{MASTER_KEY_FILE} names no file: {path}") from None
    if status.st_mode & 0o077 or status.st_uid != os.geteuid():
        raise ColumnarKeyError(
            f"{MASTER_KEY_FILE} {path} must be owned by this user and readable by no one "
            "else (chmod 600)"
        )
    return decode_master_key(path.read_text(encoding="ascii", errors="replace"), str(path))


def create_master_key_file(path: Path) -> bytes:
    """A new random master key in a new owner-only file (never replaces one)."""
    key = os.urandom(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_new_owner_only(path, base64.b64encode(key) + b"\n")
    return key


def master_key_id(master: bytes) -> str:
    """A short name of a master key, fit to print and audit: it reveals nothing of the key."""
    return hmac.new(master, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def seal_data_key(data_key: bytes, master: bytes) -> bytes:
    """The keyring: the data key sealed under the master key (AES-256-GCM, a fresh nonce)."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(master).encrypt(nonce, data_key, _SEAL_CONTEXT)
    document = {
        "format": KEYRING_FORMAT,
        "cipher": "AES-256-GCM",
        "master_key_id": master_key_id(master),
        "sealed_data_key": base64.b64encode(nonce + sealed).decode("ascii"),
    }
    return json.dumps(document, sort_keys=True, indent=1).encode("utf-8") + b"\n"


def sealed_by(keyring: bytes) -> str:
    """The id of the master key a keyring says it was sealed under."""
    return str(_parse(keyring, "").get("master_key_id", "?"))


def open_keyring(
    keyring: bytes, master: bytes, *, where: str, source: str = _KEY_SETTINGS
) -> DataKey:
    """The data key of the store at `where`, or a refusal saying the master key is not its."""
    document = _parse(keyring, where)
    try:
        blob = base64.b64decode(str(document["sealed_data_key"]), validate=True)
        secret = AESGCM(master).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _SEAL_CONTEXT)
    except InvalidTag:
        raise ColumnarKeyError(
            f"the master key in {source} (id {master_key_id(master)}) does not open the "
            f"data key of the columnar store at {where}, sealed under master key "
            f"{document.get('master_key_id', '?')}"
        ) from None
    except (KeyError, binascii.Error, ValueError):
        raise ColumnarKeyError(f"the keyring of the columnar store at {where} is damaged") from None
    return DataKey(secret)


def _parse(keyring: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(keyring.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        document = None
    if not isinstance(document, dict) or document.get("format") != KEYRING_FORMAT:
        raise ColumnarKeyError(f"the keyring of the columnar store at {where} is not readable")
    return document


class KeyringFile:
    """The keyring file of a store on any pyarrow filesystem; owner-only on a local disk."""

    def __init__(self, filesystem: fs.FileSystem, base: str) -> None:
        self._fs = filesystem
        self.path = f"{base}/{KEYRING_NAME}"
        self._base = base

    @property
    def _local(self) -> bool:
        return isinstance(self._fs, fs.LocalFileSystem)

    def read(self) -> bytes | None:
        try:
            with self._fs.open_input_stream(self.path) as stream:
                return bytes(stream.read())
        except FileNotFoundError:
            return None

    def create(self, data: bytes) -> bytes:
        """Write `data` unless a keyring is there already; the keyring that is there after.

        Two processes opening a new store at once must end up with one data key: on a local
        disk the file is linked into place, which fails for the second; elsewhere (an object
        store) the last move wins and both read back the winner.
        """
        if self._local:
            with contextlib.suppress(FileExistsError):  # another process's key won
                write_new_owner_only(Path(self.path), data)
        else:
            self._move_into_place(data)
        found = self.read()
        assert found is not None, "the keyring just written is gone"
        return found

    def replace(self, data: bytes) -> None:
        """Replace the keyring in one rename (a reader sees the old one or the new one)."""
        if self._local:
            replace_owner_only(Path(self.path), data)
        else:
            self._move_into_place(data)

    def remove(self) -> None:
        try:
            self._fs.delete_file(self.path)
        except FileNotFoundError:
            return

    def _move_into_place(self, data: bytes) -> None:
        temporary = f"{self._base}/tmp/keyring_{uuid.uuid4().hex}.part"
        self._fs.create_dir(f"{self._base}/tmp", recursive=True)
        with self._fs.open_output_stream(temporary) as stream:
            stream.write(data)
        self._fs.move(temporary, self.path)


def refuse_plaintext_objects(where: str, *, restoring: bool = False) -> ColumnarKeyError:
    held = "the backup holds" if restoring else f"the columnar store at {where} already holds"
    return ColumnarKeyError(
        f"{ENCRYPT_AT_REST}=1, but {held} plaintext objects: run it with the setting off"
        + ("" if restoring else ", or encrypt them first with `clearwatch keys encrypt-store`")
    )
