"""Case attachments a killed writer left half written: gone when the attachments are opened
again, as on the documents shelf; a live writer's temporary and every whole object stay."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from clearwatch.adapters import private_files
from clearwatch.adapters.delivery.blobs import OwnerOnlyBlobs
from reliability import state


def test_an_attachment_a_killed_writer_left_half_written_is_removed_when_they_open(
    tmp_path: Path,
) -> None:
    root = tmp_path / "case-attachments"
    kept = OwnerOnlyBlobs(root).put(b"the whole statement")
    folder = root / kept[:2]
    half = hashlib.sha256(b"a statement cut short").hexdigest()
    dead = folder / f".{half}.{private_files._HOST}_{_a_dead_pid()}.tmp"
    dead.write_bytes(b"a statement")
    live = folder / f".{half}.{private_files._HOST}_{os.getpid()}.tmp"
    live.write_bytes(b"a statement being written")

    reopened = OwnerOnlyBlobs(root)

    assert sorted(p.name for p in folder.iterdir()) == sorted([kept, live.name])
    assert reopened.get(kept) == b"the whole statement"
    live.unlink()  # the live writer finishes: then nothing is left for the orphan check
    assert state.orphans(tmp_path, tmp_path / "columnar") == []


def test_attachments_opened_before_anything_was_stored_create_nothing(tmp_path: Path) -> None:
    OwnerOnlyBlobs(tmp_path / "case-attachments")
    assert not (tmp_path / "case-attachments").exists()


def _a_dead_pid() -> int:
    """The pid of a process that has ended: its temporaries are a dead writer's."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
