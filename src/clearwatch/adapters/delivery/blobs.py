"""Owner-only files under the home: attachments by sha256, and recipients' documents.

Attachments are content-addressed (`<root>/<aa>/<sha256>`), written once and checked on read.
A recipient's documents go to `<root>/<recipient>/<name>`; the name carries the warning's key,
so the same name always holds the same bytes and writing it again changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from clearwatch.adapters.private_files import (
    owner_only_dir,
    remove_orphans,
    write_new_owner_only,
)
from clearwatch.domain.shared.errors import ClearwatchError


class BlobIntegrityError(ClearwatchError):
    """A stored file's bytes no longer hash to its name, or a name was reused for others."""


class OwnerOnlyBlobs:
    """Content-addressed files (explanations' attachments), 0600 in 0700 folders."""

    def __init__(self, root: Path) -> None:
        self._root = root
        # As on the documents shelf: a writer killed between writing an attachment's temporary
        # and linking it into its name left the temporary in the object's folder; nothing would
        # ever read it, and a retry writes its own.
        _remove_dead_writers_temporaries(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise BlobIntegrityError(f"not a sha256: {sha256!r}")
        return self._root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            owner_only_dir(self._root)
            owner_only_dir(path.parent)
            # Another process may store the same bytes first: that is the same object.
            with contextlib.suppress(FileExistsError):
                write_new_owner_only(path, data)
        return digest

    def get(self, sha256: str) -> bytes:
        data = self._path(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise BlobIntegrityError(f"{sha256} was altered on disk")
        return data


class DocumentShelf:
    """Each recipient's documents, in its own owner-only folder under `root`."""

    def __init__(self, root: Path) -> None:
        self._root = root
        # A worker killed between writing a document's temporary and linking it into its name
        # left the temporary; nothing would ever read it, and the retry writes its own.
        _remove_dead_writers_temporaries(root)

    def put(self, recipient: str, name: str, data: bytes) -> str:
        if "/" in recipient or "/" in name or name.startswith("."):
            raise BlobIntegrityError(f"not a plain name: {recipient}/{name}")
        folder = owner_only_dir(owner_only_dir(self._root) / recipient)
        path = folder / name
        try:
            write_new_owner_only(path, data)
        except FileExistsError:
            if path.read_bytes() != data:
                raise BlobIntegrityError(f"{path} holds other bytes") from None
        return str(path)


def _remove_dead_writers_temporaries(root: Path) -> None:
    """The temporaries dead writers left in `root`'s folders (a live writer's are kept)."""
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and not folder.is_symlink():
                remove_orphans(folder)
