"""Restore a backup into an empty store, and only a backup that verifies whole.

Before anything is loaded: the manifest's signature (with the audit key the restoring site
holds: a backup signed by another key is someone else's), then every file and object against
the manifest's sha256. Once loaded, before the store is used: the audit chain against the
signed checkpoints the backup carries (a record cut below a checkpoint is `audit_log_truncated`,
a rewritten one `audit_log_rechained`), and the rows the records fingerprint. A refused
restore removes what it loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clearwatch.domain.recovery.manifest import (
    AUDIT_KEY_MUST_BE_PRESENT,
    AUDIT_MUST_VERIFY,
    MANIFEST_MUST_BE_READABLE,
    MANIFEST_NAME,
    MANIFEST_SIGNATURE_MUST_VERIFY,
    SIGNATURE_NAME,
    TARGET_MUST_BE_EMPTY,
    BackupManifest,
    RecoveryFinding,
    RestoreRefused,
    listing_findings,
    parse_manifest,
)
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.audit.anchor import checkpoint_audit, verify_anchored_audit
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.recovery.backup import CHECKPOINTS_DIR, KEYRING_NAME
from clearwatch.services.recovery.ports import BackupFolder, RecoverySite

STORE_RESTORED = "store.restored"  # the audit action a restore appends to the restored log


@dataclass(frozen=True)
class RestoreReceipt:
    backup: Path
    manifest: BackupManifest
    audit_records: int
    checkpoint_seq: int


def verified_manifest(*, site: RecoverySite, backup: Path, folder: BackupFolder) -> BackupManifest:
    """The backup's manifest once its signature and every hash in it verify; else refused."""
    data = folder.read_file(backup / MANIFEST_NAME)
    if data is None:
        raise Refused(MANIFEST_MUST_BE_READABLE, f"no {MANIFEST_NAME} in {backup}")
    if not site.signer.exists():
        raise Refused(
            AUDIT_KEY_MUST_BE_PRESENT,
            "the restoring site needs the audit key that signed the backup (CLEARWATCH_AUDIT_KEY)",
        )
    signature = folder.read_file(backup / SIGNATURE_NAME) or b""
    if not site.signer.valid(data, signature.decode("ascii", "replace").strip()):
        raise Refused(MANIFEST_SIGNATURE_MUST_VERIFY, str(backup / MANIFEST_NAME))
    manifest = parse_manifest(data)
    found: dict[str, str | None] = {
        path: folder.hash_file(backup / path) for path, _ in manifest.files
    }
    findings = listing_findings(manifest.files, found)
    objects = {name: folder.hash_file(folder.object_path(name)) for name, _ in manifest.objects}
    findings += [
        RecoveryFinding(f.rule, f"object {f.subject}")
        for f in listing_findings(manifest.objects, objects)
    ]
    if findings:
        raise RestoreRefused(findings)
    return manifest


def restore(*, site: RecoverySite, folder: BackupFolder, name: str | None = None) -> RestoreReceipt:
    """Verify the backup, load it into the empty `site`, verify the audit there, or undo."""
    backup = folder.backup_named(name)
    manifest = verified_manifest(site=site, backup=backup, folder=folder)
    kept = list(folder.checkpoint_files(site.checkpoints_dir))
    if not site.store.is_empty() or site.objects.names() or kept:
        raise Refused(TARGET_MUST_BE_EMPTY, "restore into a new home or an empty database")
    if site.store.kind != manifest.store_kind:
        raise Refused(
            TARGET_MUST_BE_EMPTY,
            f"a {manifest.store_kind} backup cannot be loaded into {site.store.kind}",
        )
    try:
        _load(site, folder, backup, manifest)
        report = verify_anchored_audit(anchor=site.anchor(), data=True)
        if not report.intact:
            raise RestoreRefused(RecoveryFinding(f.rule, f.detail) for f in report.findings)
    except BaseException:
        # The target was empty: everything in it now came from this refused backup.
        site.store.discard()
        site.objects.discard()
        for path in folder.checkpoint_files(site.checkpoints_dir):
            folder.remove_file(path)
        raise
    anchor = site.anchor()
    with anchor.uow() as uow:
        record_audit(
            uow,
            actor="restore",
            action=STORE_RESTORED,
            object_ref="store",
            payload={"backup_made_at": manifest.made_at, "checkpoint_seq": manifest.checkpoint_seq},
            recorded_at=site.clock.now(),
        )
        uow.commit()
    signed = checkpoint_audit(anchor=anchor)
    return RestoreReceipt(
        backup,
        manifest,
        report.chain.records_checked,
        0 if signed is None else signed.checkpoint.seq,
    )


def _load(site: RecoverySite, folder: BackupFolder, backup: Path, manifest: BackupManifest) -> None:
    files = dict(manifest.files)
    for path in files:
        if path.startswith(f"{CHECKPOINTS_DIR}/"):
            data = folder.read_file(backup / path)
            if data is None:
                raise RestoreRefused([RecoveryFinding(AUDIT_MUST_VERIFY, path)])
            folder.write_file(site.checkpoints_dir / Path(path).name, data)
    # The keyring first: a site that could not read the objects refuses before copying them.
    keyring = folder.read_file(backup / KEYRING_NAME) if KEYRING_NAME in files else None
    site.objects.install_keyring(keyring)
    # Each object is hashed again on its way in: a file changed since it was checked is caught.
    changed = [
        RecoveryFinding("backup_object_must_match_hash", f"object {name}")
        for name, digest in manifest.objects
        if site.objects.install(name, folder.object_path(name)) != digest
    ]
    if changed:
        raise RestoreRefused(changed)
    site.store.load(backup / manifest.database)
