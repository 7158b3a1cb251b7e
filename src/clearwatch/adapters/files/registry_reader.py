"""Registry files from a directory: their bytes, or None when a file is absent."""

from __future__ import annotations

from pathlib import Path

from clearwatch.adapters.files.once_read import OpenedFile
from clearwatch.domain.monitor.registry_files import REGISTRY_FILES, registry_file_bytes_max


def read_registry_files(directory: str) -> dict[str, bytes | None]:
    """Read each known registry file (at most the size limit plus one byte, so size is checked).

    A symbolic link or anything but a regular file counts as absent, as for package files.
    """
    files: dict[str, bytes | None] = {}
    for name in REGISTRY_FILES:
        try:
            with OpenedFile(Path(directory) / name) as opened:
                files[name] = opened.stream().prefix(registry_file_bytes_max + 1)
        except OSError:
            files[name] = None
    return files
