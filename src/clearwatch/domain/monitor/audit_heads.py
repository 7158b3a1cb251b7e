"""What intake decides about a package's signed audit head: the signature, the pinned key.

The first head an institution sends pins its public key (trust on first use), unless the
regulator registered a key for it first: an approved `witness_key_rotation` before any head
names the key the first head must carry. A later head under another key is refused: a back
office that lost or replaced its key could otherwise re-sign a rewritten history and the
witness would keep that instead. A key change is the regulator's decision: the latest
approved `witness_key_rotation` for the institution names the one other key accepted (see
docs/decisions.md).
"""

from __future__ import annotations

from clearwatch.domain.audit.witness import PublishedHead, key_fingerprint
from clearwatch.domain.monitor.manifest import MANIFEST_FILE_NAME, Manifest
from clearwatch.domain.monitor.rejections import PackageError, PackageRule
from clearwatch.domain.shared.file_schema import AUDIT_HEAD_FIELD


def head_errors(
    manifest: Manifest,
    *,
    signature_valid: bool,
    pinned_key: str | None,
    approved_key_sha256: str | None = None,
) -> tuple[PackageError, ...]:
    """The head's signature must verify under the key it names, and that key must be the one
    pinned for the institution, if one is, or the one an approved rotation names
    (`approved_key_sha256`); with none pinned, a key an approved rotation registered is the
    only one the first head may pin. No head, no error: the head is optional."""
    head = manifest.audit_head
    if head is None:
        return ()
    errors = []
    if not signature_valid:
        errors.append(
            PackageError(
                PackageRule.AUDIT_HEAD_SIGNATURE_MUST_VERIFY,
                f"the signature over the head at seq {head.checkpoint.seq} does not verify "
                f"with the key it names (sha256 {head.key_sha256[:16]})",
                file=MANIFEST_FILE_NAME,
                column=AUDIT_HEAD_FIELD,
            )
        )
    rotated_to = approved_key_sha256 is not None and approved_key_sha256 == head.key_sha256
    if pinned_key is not None and pinned_key != head.public_key and not rotated_to:
        errors.append(_key_not_pinned(manifest.institution_id, head.public_key, pinned_key))
    if pinned_key is None and approved_key_sha256 is not None and not rotated_to:
        errors.append(_key_not_registered(manifest.institution_id, head, approved_key_sha256))
    return tuple(errors)


def _key_not_registered(
    institution_id: str, head: PublishedHead, registered_sha256: str
) -> PackageError:
    return PackageError(
        PackageRule.AUDIT_HEAD_KEY_MUST_BE_PINNED_KEY,
        f"{institution_id}'s first head must be signed by key sha256 {registered_sha256[:16]} "
        f"(registered by an approved witness_key_rotation); this one by "
        f"{head.key_sha256[:16]}",
        file=MANIFEST_FILE_NAME,
        column=AUDIT_HEAD_FIELD,
    )


def _key_not_pinned(institution_id: str, public_key: str, pinned_key: str) -> PackageError:
    return PackageError(
        PackageRule.AUDIT_HEAD_KEY_MUST_BE_PINNED_KEY,
        f"{institution_id}'s heads are signed by key sha256 {key_fingerprint(pinned_key)[:16]} "
        f"(pinned by its first head); this one by {key_fingerprint(public_key)[:16]}, "
        "which no approved witness_key_rotation names",
        file=MANIFEST_FILE_NAME,
        column=AUDIT_HEAD_FIELD,
    )
