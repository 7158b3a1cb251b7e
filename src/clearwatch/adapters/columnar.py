"""Columnar store: Parquet objects addressed by their sha256, written once, checked on read.

An object is streamed to `tmp/` and moved to its hash name when complete. A process killed
mid-write leaves its temporary file behind; opening the store removes such orphans, and only
those: see `ParquetStore.remove_orphans`.
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

hash_read_block_bytes = 8 * 1024 * 1024
# A temporary file whose writer cannot be asked (another machine sharing the store, or a name
# without a pid) is an orphan only past this age: far longer than any write of a day's file.
temporary_age_max_seconds = 24 * 60 * 60
TEMPORARY_SUFFIX = ".parquet.part"
_HOST = socket.gethostname().replace("_", "-")  # "_" separates the parts of a temporary name
PARQUET_COMPRESSION = "snappy"  # fast to write and read; zstd saved space, not time


class ColumnarIntegrityError(RuntimeError):
    """A stored object's bytes no longer hash to its name: the store was tampered with."""


class _HashingSink:
    """A file-like sink that hashes every byte on its way to the underlying stream."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._digest.update(view)
        self._stream.write(view)
        return len(view)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self.closed = True

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class ParquetWriter:
    def __init__(self, writer: pq.ParquetWriter) -> None:
        self._writer = writer
        self._digest: str | None = None

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if isinstance(batch, pa.RecordBatch):
            self._writer.write_batch(batch)
        else:
            self._writer.write_table(batch)

    @property
    def digest(self) -> str:
        if self._digest is None:
            raise RuntimeError("the digest is known once the writer is closed")
        return self._digest


class ParquetStore:
    """Objects live at `<root>/<aa>/<sha256>.parquet` on any pyarrow filesystem."""

    def __init__(self, root: str) -> None:
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

    def uri(self, digest: str) -> str:
        return f"{self._root_uri}/{digest[:2]}/{digest}.parquet"

    def exists(self, digest: str) -> bool:
        return bool(self._fs.get_file_info(self._path(digest)).type == fs.FileType.File)

    @contextmanager
    def writer(
        self, schema: pa.Schema, *, dictionary_columns: Sequence[str] = ()
    ) -> Iterator[ParquetWriter]:
        """Stream batches to a temporary object, then move it to its hash name at once."""
        temporary = f"{self._base}/tmp/{_HOST}_{os.getpid()}_{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"
        self._fs.create_dir(f"{self._base}/tmp", recursive=True)
        stream = self._fs.open_output_stream(temporary)
        sink = _HashingSink(stream)
        try:
            with pq.ParquetWriter(
                sink,
                schema,
                compression=PARQUET_COMPRESSION,
                # Dictionary pages and min/max statistics cost a third of a submit for
                # high-cardinality keys (fund accounts, client ids) and buy nothing: the
                # engines scan and join every row of a day's files. Columns of a few values
                # (codes, institution ids) are the exception: encoded as a dictionary they are
                # cheap to write and read back ~13 % faster in the comparison at 10 M rows.
                use_dictionary=list(dictionary_columns) or False,
                write_statistics=False,
            ) as inner:
                handle = ParquetWriter(inner)
                yield handle
            stream.close()
        except BaseException:
            stream.close()
            self._fs.delete_file(temporary)
            raise
        digest = sink.hexdigest()
        handle._digest = digest
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
        """Re-hash the stored bytes; a mismatch means tampering or corruption."""
        hasher = hashlib.sha256()
        with self._fs.open_input_stream(self._path(digest)) as stream:
            while block := stream.read(hash_read_block_bytes):
                hasher.update(block)
        if hasher.hexdigest() != digest:
            raise ColumnarIntegrityError(f"columnar object {digest} fails its hash check")

    def read_table(self, digest: str) -> pa.Table:
        self.verify(digest)
        return pq.read_table(self._path(digest), filesystem=self._fs)


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
