"""Columnar store: Parquet objects addressed by their content, written once, checked on read.

An object is streamed to `tmp/` and moved to its name when complete. A process killed
mid-write leaves its temporary file behind; opening the store removes such orphans, and only
those: see `ParquetStore.remove_orphans`.

A plaintext object is named by the sha256 of its bytes. An encrypted one (see `columnar_keys`)
cannot be: its bytes differ at every write (fresh nonces). It is named by a hash, keyed with
the data key, of the rows written (their Arrow IPC stream), so that equal content still has
one name; its encrypted, authenticated footer holds that name, so that an object moved to
another's name is caught on read, and every page is authenticated by AES-GCM as it is read.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from clearwatch.adapters.columnar_keys import (
    ENCRYPTED_FOOTER_MAGIC,
    OBJECT_NAME_METADATA,
    PAGE_BYTES_MAX,
    ROW_GROUP_ROWS,
    ColumnarKeyError,
    DataKey,
    KeyringFile,
    MasterKeySource,
    master_key_id,
    new_data_key,
    open_keyring,
    refuse_plaintext_objects,
    seal_data_key,
    sealed_by,
)
from clearwatch.adapters.crash_points import crash_point

hash_read_block_bytes = 8 * 1024 * 1024
# A temporary file whose writer cannot be asked (another machine sharing the store, or a name
# without a pid) is an orphan only past this age: far longer than any write of a day's file.
temporary_age_max_seconds = 24 * 60 * 60
TEMPORARY_SUFFIX = ".parquet.part"
_HOST = socket.gethostname().replace("_", "-")  # "_" separates the parts of a temporary name
PARQUET_COMPRESSION = "snappy"  # fast to write and read; zstd saved space, not time
# An encrypted object's pages are decrypted by whoever reads them, DuckDB at about 120 MiB of
# ciphertext per CPU second (its bundled mbedtls): there the bytes are the cost, and zstd,
# which stores a third to a tenth of snappy's, saves more decryption than it costs to decode
# (bench/README.md, "Encryption at rest", 2026-12-03 session 3).
ENCRYPTED_COMPRESSION = "zstd"


class ColumnarIntegrityError(RuntimeError):
    """A stored object's bytes no longer hash to its name: the store was tampered with."""


class _HashingSink:
    """A file-like sink that hashes every byte on its way to the underlying stream (if any)."""

    def __init__(self, stream: Any | None) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._digest.update(view)
        if self._stream is not None:
            self._stream.write(view)
        return len(view)

    def flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()

    def close(self) -> None:
        self.closed = True

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def digest(self) -> bytes:
        return self._digest.digest()


class _PlaintextIdentity:
    """The sha256 of the rows written, as the Arrow IPC stream of the writer's schema and its
    batches: what an encrypted object is named by (its stored bytes are not reproducible)."""

    def __init__(self, schema: pa.Schema) -> None:
        self._sink = _HashingSink(None)
        self._stream = pa.ipc.new_stream(self._sink, schema)

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        self._stream.write(batch)

    def digest(self) -> bytes:
        self._stream.close()
        return self._sink.digest()


class ParquetWriter:
    def __init__(
        self, writer: pq.ParquetWriter, identity: _PlaintextIdentity | None = None
    ) -> None:
        self._writer = writer
        self._identity = identity
        # An encrypted object's row groups must be no longer than its pages (ROW_GROUP_ROWS).
        self._row_group_rows = None if identity is None else ROW_GROUP_ROWS
        self._digest: str | None = None

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self._identity is not None:
            self._identity.add(batch)
        if isinstance(batch, pa.RecordBatch):
            self._writer.write_batch(batch, row_group_size=self._row_group_rows)
        else:
            self._writer.write_table(batch, row_group_size=self._row_group_rows)

    @property
    def digest(self) -> str:
        if self._digest is None:
            raise RuntimeError("the digest is known once the writer is closed")
        return self._digest


class ParquetStore:
    """Objects live at `<root>/<aa>/<name>.parquet` on any pyarrow filesystem; an encrypted
    store keeps its wrapped data key in `<root>/keyring.json`.

    Opening a store that has a keyring needs its master key (`keys`), or it refuses by the
    setting's name. A store set to be encrypted (`keys.encrypt`) gets its keyring when its key
    is first asked for; one that already holds plaintext objects is refused: those are
    encrypted in place by `begin_encryption` and `encrypt_object` (`keys encrypt-store`),
    during which the store holds both forms and reads each object in its own.
    """

    def __init__(self, root: str, *, keys: MasterKeySource | None = None) -> None:
        self._fs, base = (
            fs.FileSystem.from_uri(root)
            if "://" in root
            else (
                fs.LocalFileSystem(),
                root,
            )
        )
        self._base = base.rstrip("/")
        self._root_uri = root.rstrip("/")
        self._fs.create_dir(self._base, recursive=True)
        self.remove_orphans()
        self._keys = keys or MasterKeySource()
        self._keyring = KeyringFile(self._fs, self._base)
        self._data_key = self._open_keyring()

    def _open_keyring(self) -> DataKey | None:
        found = self._keyring.read()
        if found is not None:
            why = f"the columnar store at {self._root_uri} is encrypted"
            return self._opened(found, why)
        if self._keys.encrypt and self.names():
            raise refuse_plaintext_objects(self._root_uri)
        return None

    @property
    def data_key(self) -> DataKey | None:
        """The key every object is encrypted with; None for a plaintext store. A store set to
        be encrypted makes its key when first asked (by its first writer, or an engine)."""
        if self._data_key is None and self._keys.encrypt:
            why = f"the columnar store at {self._root_uri} is to be encrypted"
            sealed = seal_data_key(new_data_key(), self._keys.load(why))
            self._data_key = self._opened(self._keyring.create(sealed), why)
        return self._data_key

    def _opened(self, keyring: bytes, why: str) -> DataKey:
        master = self._keys.load(why)
        return open_keyring(keyring, master, where=self._root_uri, source=self._keys.named)

    def remove_orphans(self, *, now: float | None = None) -> int:  # float ok: epoch seconds
        """Remove temporary files no live writer holds; how many were removed.

        A temporary file is named `<host>_<pid>_<random>.parquet.part`. On this host, its
        writer is alive while its pid is (a reused pid keeps a file until the age limit, never
        loses a live one); this process's own files are always kept. A file from another host
        sharing the store, or of unknown shape, is removed once older than
        `temporary_age_max_seconds`, as no live write lasts that long.
        """
        now = time.time() if now is None else now
        found = self._fs.get_file_info(fs.FileSelector(f"{self._base}/tmp", allow_not_found=True))
        removed = 0
        for info in found:
            if info.type != fs.FileType.File or _held(info, now):
                continue
            try:
                self._fs.delete_file(info.path)
            except FileNotFoundError:
                continue  # another process opening the store removed it first
            removed += 1
        return removed

    def _path(self, digest: str) -> str:
        return f"{self._base}/{digest[:2]}/{digest}.parquet"

    # -- for recovery: the objects as files --------------------------------------------------

    @property
    def filesystem(self) -> fs.FileSystem:
        return self._fs

    @property
    def base(self) -> str:
        return self._base

    def object_path(self, digest: str) -> str:
        """The object's path on `filesystem` (its stored bytes, as they are)."""
        return self._path(digest)

    def keyring(self) -> bytes | None:
        """The wrapped data key, as stored; None for a plaintext store."""
        return self._keyring.read()

    def install_keyring(self, keyring: bytes | None) -> None:
        """Before a restore puts objects into this empty store: the backup's keyring (None: the
        backup is plaintext). Refused unless this site's master key opens it."""
        if self.names():
            raise RuntimeError("a keyring is installed only into a store without objects")
        if keyring is None:
            if self._keys.encrypt:
                raise refuse_plaintext_objects(self._root_uri, restoring=True)
            self._keyring.remove()
            self._data_key = None
            return
        key = self._opened(keyring, "the backup's columnar store is encrypted")
        self._keyring.replace(keyring)
        self._data_key = key

    def remove_keyring(self) -> None:
        """What a refused restore installed goes with its objects."""
        self._keyring.remove()
        self._data_key = None

    def rotate_master_key(self, master: bytes) -> tuple[str, str]:
        """Wrap the data key under `master` instead; no object is rewritten. The ids of the
        old and the new master key."""
        found, key = self._keyring.read(), self._data_key
        if found is None or key is None:
            raise ColumnarKeyError(f"the columnar store at {self._root_uri} is not encrypted")
        self._keyring.replace(seal_data_key(key.secret, master))
        return sealed_by(found), master_key_id(master)

    def names(self) -> list[str]:
        """Every stored object's name (its digest); temporary files are not objects."""
        found = self._fs.get_file_info(fs.FileSelector(self._base, recursive=True))
        return sorted(
            info.base_name.removesuffix(".parquet")
            for info in found
            if info.type == fs.FileType.File
            and info.base_name.endswith(".parquet")
            and not info.path.startswith(f"{self._base}/tmp/")
        )

    def uri(self, digest: str) -> str:
        return f"{self._root_uri}/{digest[:2]}/{digest}.parquet"

    def exists(self, digest: str) -> bool:
        return bool(self._fs.get_file_info(self._path(digest)).type == fs.FileType.File)

    @contextmanager
    def writer(
        self, schema: pa.Schema, *, dictionary_columns: Sequence[str] = ()
    ) -> Iterator[ParquetWriter]:
        """Stream batches to a temporary object, then move it to its name at once."""
        key = self.data_key
        temporary = f"{self._base}/tmp/{_HOST}_{os.getpid()}_{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
        self._fs.create_dir(f"{self._base}/tmp", recursive=True)
        stream = self._fs.open_output_stream(temporary)
        sink = _HashingSink(stream)
        identity = None if key is None else _PlaintextIdentity(schema)
        try:
            # An encrypted object's bytes are not hashed: it is named by its rows.
            with pq.ParquetWriter(
                sink if key is None else stream, schema, **_parquet_options(key, dictionary_columns)
            ) as inner:
                handle = ParquetWriter(inner, identity)
                yield handle
                if key is not None and identity is not None:
                    handle._digest = key.object_name(identity.digest())
                    inner.add_key_value_metadata({OBJECT_NAME_METADATA: handle._digest})
            stream.close()
        except BaseException:
            stream.close()
            self._fs.delete_file(temporary)
            raise
        digest = handle._digest = handle._digest or sink.hexdigest()
        self._publish(temporary, digest)

    def _publish(self, temporary: str, digest: str) -> None:
        if self.exists(digest):
            # Written once: identical content is already stored; keep the original.
            self._fs.delete_file(temporary)
            return
        self._fs.create_dir(f"{self._base}/{digest[:2]}", recursive=True)
        self._fs.move(temporary, self._path(digest))

    def put_table(self, table: pa.Table, *, dictionary_columns: Sequence[str] = ()) -> str:
        with self.writer(table.schema, dictionary_columns=dictionary_columns) as writer:
            writer.write(table)
        return writer.digest

    def verify(self, digest: str) -> None:
        """Re-hash the stored bytes (an encrypted object: check the name its authenticated
        footer holds); a mismatch means tampering or corruption. In an encrypted store a
        plaintext object (one `encrypt_object` has not reached yet) is checked by its bytes:
        only the original plaintext hashes to its name, so integrity holds either way."""
        if self._data_key is not None and self._encrypted_object(digest):
            self._open_encrypted(digest, self._data_key)
            return
        hasher = hashlib.sha256()
        with self._fs.open_input_stream(self._path(digest)) as stream:
            while block := stream.read(hash_read_block_bytes):
                hasher.update(block)
        if hasher.hexdigest() != digest:
            raise ColumnarIntegrityError(f"columnar object {digest} fails its hash check")

    def read_table(self, digest: str) -> pa.Table:
        if self._data_key is None or not self._encrypted_object(digest):
            self.verify(digest)
            return pq.read_table(self._path(digest), filesystem=self._fs)
        parquet = self._open_encrypted(digest, self._data_key)
        try:
            table = parquet.read()
        except (OSError, pa.ArrowException) as error:  # a page fails its AES-GCM tag
            raise ColumnarIntegrityError(f"columnar object {digest} fails its check") from error
        # The rows as written: the name in the footer is the store's, not the table's.
        metadata = table.schema.metadata or {}
        kept = {k: v for k, v in metadata.items() if k != OBJECT_NAME_METADATA}
        return table.replace_schema_metadata(kept or None)

    def _encrypted_object(self, digest: str) -> bool:
        """Whether the object's footer is encrypted (its last four bytes say so)."""
        with self._fs.open_input_file(self._path(digest)) as source:  # missing: not found
            size = source.size()
            if size < len(ENCRYPTED_FOOTER_MAGIC):
                return False  # not Parquet at all: the plaintext check names it
            source.seek(size - len(ENCRYPTED_FOOTER_MAGIC))
            return bool(source.read(len(ENCRYPTED_FOOTER_MAGIC)) == ENCRYPTED_FOOTER_MAGIC)

    # -- encrypting a plaintext store in place ----------------------------------------------

    def begin_encryption(self) -> str:
        """Give this store a keyring (a new data key sealed under the master key) unless it
        has one; the master key's id. Refused, changing nothing, without the master key."""
        why = f"encrypting the columnar store at {self._root_uri}"
        master = self._keys.load(why)
        if self._data_key is None:
            sealed = seal_data_key(new_data_key(), master)
            # `create` links into place: of two concurrent starts, both end with one key.
            self._data_key = self._opened(self._keyring.create(sealed), why)
        return master_key_id(master)

    def encrypt_object(self, digest: str) -> bool:
        """Rewrite one plaintext object encrypted under its own name; False if it already is.

        The name stays: rows of the relational store name objects and are never rewritten.
        The plaintext is checked against its name first, the encrypted copy is decrypted and
        its rows compared (sha256 of their Arrow IPC stream) before it replaces the plaintext
        in one rename: a crash leaves the object whole in one form or the other, and a
        temporary file that `remove_orphans` clears.
        """
        key = self._data_key
        if key is None:
            raise ColumnarKeyError(f"the columnar store at {self._root_uri} has no keyring yet")
        if self._encrypted_object(digest):
            self._open_encrypted(digest, key)
            return False
        self.verify(digest)
        plaintext = pq.ParquetFile(self._path(digest), filesystem=self._fs)
        temporary = self._temporary()
        rows = _rows_identity(plaintext)
        options = _parquet_options(key, _dictionary_columns(plaintext))
        try:
            with pq.ParquetWriter(temporary, plaintext.schema_arrow, filesystem=self._fs,
                                  **options) as writer:  # fmt: skip
                for group in range(plaintext.num_row_groups):
                    table = plaintext.read_row_group(group)
                    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                writer.add_key_value_metadata({OBJECT_NAME_METADATA: digest})
            crash_point("columnar_encrypt_written")
            written = pq.ParquetFile(
                temporary, filesystem=self._fs, decryption_properties=key.decryption()
            )
            if _rows_identity(written) != rows:
                raise ColumnarIntegrityError(f"columnar object {digest} did not encrypt intact")
        except BaseException:
            self._fs.delete_file(temporary)
            raise
        self._fs.move(temporary, self._path(digest))  # a rename: replaces the plaintext whole
        crash_point("columnar_encrypt_replaced")
        self._open_encrypted(digest, key)
        return True

    def _temporary(self) -> str:
        self._fs.create_dir(f"{self._base}/tmp", recursive=True)
        return f"{self._base}/tmp/{_HOST}_{os.getpid()}_{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"

    def _open_encrypted(self, digest: str, key: DataKey) -> pq.ParquetFile:
        source = self._fs.open_input_file(self._path(digest))  # a missing object: not found
        try:
            parquet = pq.ParquetFile(source, decryption_properties=key.decryption())
            named = (parquet.metadata.metadata or {}).get(OBJECT_NAME_METADATA)
        except (OSError, pa.ArrowException) as error:
            raise ColumnarIntegrityError(
                f"columnar object {digest} does not open with the store's key"
            ) from error
        if named != digest.encode("ascii"):
            raise ColumnarIntegrityError(f"columnar object {digest} holds another object")
        return parquet


def _rows_identity(parquet: pq.ParquetFile) -> bytes:
    """The sha256 of the file's rows as an Arrow IPC stream, the store's own metadata left out:
    equal for a plaintext object and its encrypted rewrite when every row came through."""
    metadata = parquet.schema_arrow.metadata or {}
    kept = {k: v for k, v in metadata.items() if k != OBJECT_NAME_METADATA} or None
    schema = (
        parquet.schema_arrow.with_metadata(kept) if kept else parquet.schema_arrow.remove_metadata()
    )
    identity = _PlaintextIdentity(schema)
    for group in range(parquet.num_row_groups):
        identity.add(parquet.read_row_group(group).replace_schema_metadata(kept))
    return identity.digest()


def _dictionary_columns(parquet: pq.ParquetFile) -> list[str]:
    """The columns the plaintext object kept as a dictionary: its rewrite keeps them so."""
    if parquet.metadata.num_row_groups == 0:
        return []
    group = parquet.metadata.row_group(0)
    return [
        group.column(i).path_in_schema
        for i in range(group.num_columns)
        if group.column(i).has_dictionary_page
    ]


def _parquet_options(key: DataKey | None, dictionary_columns: Sequence[str]) -> dict[str, Any]:
    """How an object is encoded (and, with a key, encrypted)."""
    options: dict[str, Any] = {
        "compression": PARQUET_COMPRESSION,
        # Dictionary pages and min/max statistics cost a third of a submit for high-cardinality
        # keys (fund accounts, client ids) and buy nothing: the engines scan and join every row
        # of a day's files. Columns of a few values (codes, institution ids) are the exception:
        # encoded as a dictionary they are cheap to write and read back ~13 % faster in the
        # comparison at 10 M rows.
        "use_dictionary": list(dictionary_columns) or False,
        "write_statistics": False,
    }
    if key is not None:
        options |= {
            "compression": ENCRYPTED_COMPRESSION,
            "encryption_properties": key.encryption(),
            # One data page per column chunk: see `columnar_keys.ROW_GROUP_ROWS`.
            "max_rows_per_page": ROW_GROUP_ROWS,
            "data_page_size": PAGE_BYTES_MAX,
            "dictionary_pagesize_limit": PAGE_BYTES_MAX,
        }
    return options


def _held(info: fs.FileInfo, now: float) -> bool:  # float ok: epoch seconds
    """Whether a temporary file may still belong to a live writer (see `remove_orphans`)."""
    host, _, rest = info.base_name.partition("_")
    pid_text, _, _ = rest.partition("_")
    if host == _HOST and pid_text.isdigit():
        return int(pid_text) == os.getpid() or _alive(int(pid_text))
    modified = info.mtime.timestamp() if info.mtime is not None else now
    return now - modified < temporary_age_max_seconds


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
