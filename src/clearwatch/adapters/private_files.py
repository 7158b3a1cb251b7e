"""Owner-only files and folders: keys, tokens, checkpoints and the stores (0600 / 0700).

Modes are set explicitly, whatever the umask, because a permissive umask must not leave a
signing key or a sign-in token readable by every local user.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import time
from pathlib import Path

OWNER_ONLY = 0o600
OWNER_ONLY_DIR = 0o700
temporary_age_max_seconds = 24 * 60 * 60  # no live write lasts this long, on any host
# A temporary is `.<name>.<host>_<pid>.tmp`: "_" and "." separate its parts.
_HOST = socket.gethostname().replace("_", "-").replace(".", "-")
_TEMPORARY = re.compile(r"^\..+\.(?P<host>[^._]*)_(?P<pid>\d+)\.tmp$")
_TEMPORARY_FOLDER = re.compile(r"^(?P<host>[^._]*)_(?P<pid>\d+)_")  # `writer_prefix` + random


def owner_only_dir(directory: Path) -> Path:
    """Create `directory` (and missing parents) 0700; an existing one is narrowed to 0700."""
    directory.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIR)
    with contextlib.suppress(PermissionError):  # a shared parent we do not own stays as is
        os.chmod(directory, OWNER_ONLY_DIR)
    return directory


def write_new_owner_only(path: Path, data: bytes) -> None:
    """Write a new file `path`, 0600; refuse to replace one (FileExistsError)."""
    tmp = _temporary(path)
    _write_tmp(tmp, data)
    try:
        os.link(tmp, path)  # atomic, and fails if another process wrote this name first
    finally:
        tmp.unlink()


def replace_owner_only(path: Path, data: bytes) -> None:
    """Write `path` whole, 0600, replacing what was there in one rename."""
    tmp = _temporary(path)
    _write_tmp(tmp, data)
    os.replace(tmp, path)


def owner_only_key(path: Path, make: bytes) -> bytes:
    """The key at `path`, created 0600 from `make` if absent (another process may win)."""
    if not path.exists():
        owner_only_dir(path.parent)
        with contextlib.suppress(FileExistsError):
            write_new_owner_only(path, make)
    return path.read_bytes()


def remove_orphans(directory: Path, *, now: float | None = None) -> int:  # float ok
    """Remove the temporaries of writers that died between writing one and moving it into its
    name (a kill in that instant leaves it, and nothing would ever read it); how many.

    As in the columnar store: on this host a temporary is kept while its writer's pid is alive
    (this process's own always); another host's, or one of unknown shape, once older than
    `temporary_age_max_seconds`.
    """
    if not directory.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for entry in os.scandir(directory):
        temporary = entry.name.startswith(".") and entry.name.endswith(".tmp")
        if not temporary or not entry.is_file(follow_symlinks=False) or _held(entry, now):
            continue
        with contextlib.suppress(FileNotFoundError):  # another process removed it first
            os.unlink(entry.path)
            removed += 1
    return removed


def writer_prefix() -> str:
    """`<host>_<pid>_`: the start of a temporary folder's name (`tempfile.mkdtemp(prefix=…)`),
    so that `remove_orphan_folders` can tell whether its writer still lives."""
    return f"{_HOST}_{os.getpid()}_"


def remove_orphan_folders(directory: Path, *, now: float | None = None) -> int:  # float ok
    """Remove the temporary folders in `directory` of writers that died before removing them
    (a request killed mid-way); how many. Kept, as for files: a live writer's on this host,
    another host's or an unnamed one until older than `temporary_age_max_seconds`."""
    if not directory.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for entry in os.scandir(directory):
        if not entry.is_dir(follow_symlinks=False) or _folder_held(entry, now):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)  # another process may remove it first
        removed += 1
    return removed


def _folder_held(entry: os.DirEntry[str], now: float) -> bool:  # float ok
    named = _TEMPORARY_FOLDER.match(entry.name)
    if named is not None and named["host"] == _HOST:
        pid = int(named["pid"])
        return pid == os.getpid() or _alive(pid)
    return now - entry.stat(follow_symlinks=False).st_mtime < temporary_age_max_seconds


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{_HOST}_{os.getpid()}.tmp")


def _held(entry: os.DirEntry[str], now: float) -> bool:  # float ok
    named = _TEMPORARY.match(entry.name)
    if named is not None and named["host"] == _HOST:
        pid = int(named["pid"])
        return pid == os.getpid() or _alive(pid)
    return now - entry.stat(follow_symlinks=False).st_mtime < temporary_age_max_seconds


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _write_tmp(tmp: Path, data: bytes) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    try:
        os.fchmod(fd, OWNER_ONLY)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
