"""A package or batch file opened once: the bytes hashed are the bytes parsed.

The file is opened without following symbolic links and every later read goes through that
one descriptor (`os.pread`, no shared offset), so renaming another file into its place during
a submit changes nothing we read. Each full pass hashes what it hands to the parser; a pass
whose hash differs from the first one saw the file rewritten in place, and the caller rejects.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from types import TracebackType
from typing import Any

read_block_bytes = 8 * 1024 * 1024  # one pread; hashlib releases the GIL on blocks this big
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Opening a FIFO to read blocks until some writer opens it, before the regular-file check
# below could refuse it; non-blocking, the open returns at once. It changes nothing for a
# regular file, whose reads never block.
_NO_BLOCK = getattr(os, "O_NONBLOCK", 0)


class NotRegularFile(OSError):
    """The path is a symbolic link, a directory or a device: not a file of the package."""


class OpenedFile:
    """One regular file, opened once; streams over it each start at the first byte."""

    def __init__(self, path: Path) -> None:
        try:
            flags = os.O_RDONLY | _NO_FOLLOW | _NO_BLOCK | getattr(os, "O_CLOEXEC", 0)
            self._fd = os.open(path, flags)
        except OSError as problem:
            if path.is_symlink():
                raise NotRegularFile(f"{path.name} is a symbolic link") from problem
            raise
        if not stat.S_ISREG(os.fstat(self._fd).st_mode):
            os.close(self._fd)
            raise NotRegularFile(f"{path.name} is not a regular file")
        self.name = path.name

    def stream(self) -> HashedStream:
        """A new pass over the bytes, hashing what it reads."""
        return HashedStream(self._fd)

    def text(self, encoding: str, errors: str = "strict") -> io.TextIOWrapper:
        """A new pass decoded as text, lines kept as they are (for Python's csv module)."""
        return io.TextIOWrapper(
            io.BufferedReader(self.stream()), encoding=encoding, errors=errors, newline=""
        )

    def binary(self) -> io.BufferedReader:
        return io.BufferedReader(self.stream())

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> OpenedFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType
    ) -> None:
        self.close()


class HashedStream(io.RawIOBase):
    """Reads the descriptor from its first byte; every byte read is hashed, once, in order.

    `prefix` reads ahead (hashed then) and serves those bytes again to the next reads, so a
    header checked in Python and the file parsed by Arrow are the same bytes.
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._position = 0  # of the next byte to read from the descriptor
        self._replay = b""
        self._digest = hashlib.sha256()
        self.at_end = False

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position - len(self._replay)

    def _pread(self, size: int) -> bytes:
        data = os.pread(self._fd, size, self._position)
        if not data:
            self.at_end = True
        self._position += len(data)
        self._digest.update(data)
        return data

    def prefix(self, size: int) -> bytes:
        """Up to `size` first bytes (fewer only at the end of the file), read again later."""
        parts = [self._replay]
        have = len(self._replay)
        while have < size and not self.at_end:
            data = self._pread(size - have)
            parts.append(data)
            have += len(data)
        self._replay = b"".join(parts)
        return self._replay

    def read(self, size: int | None = -1) -> bytes:
        if self._replay:
            wanted = len(self._replay) if size is None or size < 0 else size
            data, self._replay = self._replay[:wanted], self._replay[wanted:]
            return data
        if size is None or size < 0:
            return self.readall()
        return self._pread(min(size, read_block_bytes)) if size else b""

    def readall(self) -> bytes:
        parts = [self._replay]
        self._replay = b""
        while data := self._pread(read_block_bytes):
            parts.append(data)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Hash what a pass left unread, so the digest covers the whole file."""
        self._replay = b""
        while self._pread(read_block_bytes):
            pass

    def hexdigest(self) -> str:
        """The sha256 of the whole file as this pass read it."""
        self.drain()
        return self._digest.hexdigest()
