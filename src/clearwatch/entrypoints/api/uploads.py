"""Uploads: a tar (optionally gzip) of a package or batch directory, streamed to a private folder.

The body is written as it arrives into an owner-only (0700) folder under the home, hashed
(sha256) on the way and cut off at the size limit, so an upload too large costs no more than
the limit. The archive is then unpacked only if every member is a plain file at its top level:
no folders, links, devices or names that could land elsewhere (tarfile's `data` filter, and
our own stricter name rule before it). The folder is removed when the request is done.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shutil
import tarfile
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from clearwatch.bootstrap import Application
from clearwatch.config import UPLOAD_LIMIT_MB
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.api.problems import UPLOAD_MUST_FIT_LIMIT

UPLOAD_MUST_BE_TAR = "upload_must_be_a_tar_archive"
UPLOAD_MEMBER_MUST_BE_REGULAR = "upload_member_must_be_a_regular_file"
UPLOAD_MEMBER_NAME_MUST_BE_PLAIN = "upload_member_name_must_be_plain"
UPLOAD_MEMBER_MUST_BE_UNIQUE = "upload_member_must_be_unique"
UPLOAD_MEMBERS_MUST_FIT = "upload_members_must_fit_count"
UPLOAD_DIGEST_MUST_MATCH = "upload_digest_must_match"
upload_members_max = 64  # a package or a batch is a manifest and a handful of files
upload_write_bytes = 1024 * 1024  # the body is written to disk in blocks of about this size
# A file name as packages and batches use them: no folder, no leading dot, nothing to escape.
_MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_GZIP_MAGIC = b"\x1f\x8b"
_SHA256_DIGEST = re.compile(r"sha-256=:([A-Za-z0-9+/=]+):")
UPLOAD_MEDIA_TYPES = ("application/x-tar", "application/gzip", "application/octet-stream")


def upload_body(what: str) -> dict[str, Any]:
    """The OpenAPI `requestBody` of an upload route (FastAPI cannot see a streamed body)."""
    schema = {"type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "description": f"A tar, optionally gzip-compressed, of {what}: plain files only. "
            "An optional `Content-Digest: sha-256=:…:` header is checked against the body.",
            "content": {media_type: {"schema": schema} for media_type in UPLOAD_MEDIA_TYPES},
        }
    }


@dataclass(frozen=True)
class Upload:
    """The unpacked files of one upload, and what arrived: its sha256 and size."""

    directory: Path
    sha256: str
    size_bytes: int


def _too_large(limit_mb: int) -> Refused:
    return Refused(UPLOAD_MUST_FIT_LIMIT, f"an upload may hold {limit_mb} MB ({UPLOAD_LIMIT_MB})")


@asynccontextmanager
async def received_upload(request: Request, wired: Application) -> AsyncIterator[Upload]:
    """Stream the body to a private folder, hash it, unpack it; remove it all afterwards."""
    limit_mb = wired.settings.upload_limit_mb
    limit_bytes = limit_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit_bytes:
        raise _too_large(limit_mb)  # refused before a byte is read
    staging = await run_in_threadpool(wired.upload_folder)
    try:
        archive = staging / "upload"
        sha256, size = await _stream_to(request, archive, limit_bytes, limit_mb)
        _check_digest(request.headers.get("content-digest"), sha256)
        files = staging / "files"
        await run_in_threadpool(unpack, archive, files, limit_bytes)
        archive.unlink()
        yield Upload(files, sha256.hexdigest(), size)
    finally:
        await run_in_threadpool(shutil.rmtree, staging, True)


async def _stream_to(
    request: Request, archive: Path, limit_bytes: int, limit_mb: int
) -> tuple[hashlib._Hash, int]:
    sha256 = hashlib.sha256()
    size = 0
    pending: list[bytes] = []
    pending_bytes = 0
    with os.fdopen(os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit_bytes:
                raise _too_large(limit_mb)
            sha256.update(chunk)
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= upload_write_bytes:
                # Written in a worker thread, a block at a time: the event loop keeps serving.
                await run_in_threadpool(_write, out, pending)
                pending, pending_bytes = [], 0
        _write(out, pending)
    return sha256, size


def _write(out: IO[bytes], blocks: list[bytes]) -> None:
    out.write(b"".join(blocks))


def _check_digest(header: str | None, sha256: hashlib._Hash) -> None:
    """A `Content-Digest: sha-256=:…:` (RFC 9530) the client sent must match what arrived."""
    if not header:
        return
    found = _SHA256_DIGEST.search(header)
    if found is None:
        return  # another algorithm only: nothing we compute to compare with
    try:
        claimed = base64.b64decode(found.group(1), validate=True)
    except binascii.Error as error:
        raise Refused(UPLOAD_DIGEST_MUST_MATCH, "Content-Digest is not base64") from error
    if claimed != sha256.digest():
        raise Refused(UPLOAD_DIGEST_MUST_MATCH, "the body's sha-256 differs from Content-Digest")


def unpack(archive: Path, into: Path, limit_bytes: int) -> None:
    """Extract the archive's plain top-level files into `into` (0700); refuse anything else."""
    into.mkdir(mode=0o700)
    with archive.open("rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        try:
            # Read as a stream, one pass: members are checked and extracted in order.
            with (
                tarfile.open(fileobj=raw, mode="r|gz")
                if compressed
                else tarfile.open(fileobj=raw, mode="r|")
            ) as tar:
                _extract_plain_files(tar, into, limit_bytes)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            if isinstance(error, OSError) and not _is_bad_data(error):
                raise  # the disk, not the upload: a server problem
            why = f"not a readable tar: {type(error).__name__}"
            raise Refused(UPLOAD_MUST_BE_TAR, why) from None


def _is_bad_data(error: OSError) -> bool:
    # gzip reports a corrupt stream as a plain OSError (BadGzipFile); the disk sets an errno.
    return error.errno is None


def _extract_plain_files(tar: tarfile.TarFile, into: Path, limit_bytes: int) -> None:
    seen: set[str] = set()
    total = 0
    for member in tar:
        name = member.name.removeprefix("./")
        if member.isdir() and name in ("", "."):
            continue  # the archive's own top folder (`tar -C dir -cf - .`)
        if not member.isreg():
            raise Refused(UPLOAD_MEMBER_MUST_BE_REGULAR, f"{member.name!r} is not a plain file")
        if not _MEMBER_NAME.fullmatch(name):
            raise Refused(UPLOAD_MEMBER_NAME_MUST_BE_PLAIN, f"{member.name!r}")
        if name in seen:
            raise Refused(UPLOAD_MEMBER_MUST_BE_UNIQUE, name)
        seen.add(name)
        if len(seen) > upload_members_max:
            raise Refused(UPLOAD_MEMBERS_MUST_FIT, f"at most {upload_members_max} files")
        total += member.size
        if total > limit_bytes:
            raise Refused(UPLOAD_MUST_FIT_LIMIT, "the unpacked files exceed the upload limit")
        tar.extract(member.replace(name=name, mode=0o600, deep=False), into, filter="data")
