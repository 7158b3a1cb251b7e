"""Back up a running store: its relational dump, columnar objects by hash, checkpoints, manifest.

Order makes the copy consistent without stopping anyone: the audit head is signed first, then
the relational store is dumped in one snapshot, then the objects are listed. An object is
published before any row naming it commits and is never removed, so every object the dump
names is already there when they are listed; objects written after the dump are copied too
and merely unused. Only checkpoints kept before the dump go in: each signs a log prefix the
dump holds whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clearwatch.domain.recovery.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    BackupManifest,
)
from clearwatch.services.audit.anchor import checkpoint_audit
from clearwatch.services.recovery.ports import BackupFolder, RecoverySite

CHECKPOINTS_DIR = "checkpoints"
KEYRING_NAME = "columnar-keyring.json"


@dataclass(frozen=True)
class BackupReceipt:
    name: str
    folder: Path
    manifest: BackupManifest
    objects_copied: int
    objects_kept: int  # already in the folder from an earlier backup: not copied again


def back_up(*, site: RecoverySite, folder: BackupFolder) -> BackupReceipt:
    """A new backup of `site` in `folder`, signed; incremental over the folder's objects."""
    signed = checkpoint_audit(anchor=site.anchor())
    checkpoint_seq = 0 if signed is None else signed.checkpoint.seq
    made_at = site.clock.now()
    name = made_at.strftime("%Y%m%dT%H%M%S%fZ")
    target = folder.open_backup(name)
    checkpoints = [
        path
        for path in folder.checkpoint_files(site.checkpoints_dir)
        if int(path.stem) <= checkpoint_seq
    ]
    database = f"store.{site.store.kind}"
    site.store.dump(target / database)
    files = {database: _hash(folder, target / database)}
    for path in checkpoints:
        files.update(_copy_small(folder, path, target / CHECKPOINTS_DIR / path.name, target))
    keyring = site.objects.keyring()
    if keyring is not None:
        folder.write_file(target / KEYRING_NAME, keyring)
        files[KEYRING_NAME] = _hash(folder, target / KEYRING_NAME)
    objects, copied = _copy_objects(site, folder)
    manifest = BackupManifest(
        made_at=made_at.isoformat(),
        store_kind=site.store.kind,
        database=database,
        checkpoint_seq=checkpoint_seq,
        encrypted=keyring is not None,
        files=tuple(sorted(files.items())),
        objects=tuple(sorted(objects.items())),
    )
    data = manifest.to_bytes()
    folder.write_file(target / MANIFEST_NAME, data)
    folder.write_file(target / SIGNATURE_NAME, site.signer.sign(data).encode("ascii"))
    folder.mark_latest(name)
    return BackupReceipt(name, target, manifest, copied, len(objects) - copied)


def _hash(folder: BackupFolder, path: Path) -> str:
    digest = folder.hash_file(path)
    if digest is None:  # the dump or copy just written is gone: a bug or a hostile folder
        raise RuntimeError(f"{path} vanished while the backup was written")
    return digest


def _copy_small(
    folder: BackupFolder, source: Path, destination: Path, base: Path
) -> dict[str, str]:
    data = folder.read_file(source)
    if data is None:
        return {}
    folder.write_file(destination, data)
    return {destination.relative_to(base).as_posix(): _hash(folder, destination)}


def _copy_objects(site: RecoverySite, folder: BackupFolder) -> tuple[dict[str, str], int]:
    """Every object of the store, by name and stored hash; only new ones are copied."""
    known = folder.known_objects()
    hashes: dict[str, str] = {}
    new: dict[str, str] = {}
    for name in site.objects.names():
        if name in known and folder.has_object(name):
            hashes[name] = known[name]
            continue
        new[name] = site.objects.export(name, folder.object_path(name))
        hashes[name] = new[name]
    folder.add_objects(new)
    return hashes, len(new)
