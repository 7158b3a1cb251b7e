"""Registry files from a directory: their bytes, or None when a file is absent."""

from __future__ import annotations

from pathlib import Path

from clearwatch.domain.monitor.registry_files import REGISTRY_FILES, registry_file_bytes_max


def read_registry_files(directory: str) -> dict[str, bytes | None]:
    """Read each known registry file (at most the size limit plus one byte, so size is checked)."""
    files: dict[str, bytes | None] = {}
    for name in REGISTRY_FILES:
        path = Path(directory) / name
        if not path.is_file() or path.is_symlink():
            files[name] = None
            continue
        with path.open("rb") as handle:
            files[name] = handle.read(registry_file_bytes_max + 1)
    return files
