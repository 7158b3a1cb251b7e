"""Pure decisions of intake: registry and file-listing checks, and accept/duplicate/reject."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from enum import StrEnum

from clearwatch.domain.monitor.manifest import MANIFEST_FILE_NAME, Manifest
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.monitor.rejections import PackageError, PackageRule
from clearwatch.domain.shared.calendar import BusinessCalendar

file_bytes_max = 8 * 1024 * 1024 * 1024  # 8 GiB per CSV file: far above 10 million rows
file_rows_max = 50_000_000  # rows per file; a national broker has fewer client accounts


def check_against_registry(
    manifest: Manifest, registry: RegistrySnapshot | None
) -> tuple[PackageError, ...]:
    """The submitter must be registered, of the package's kind, and the date a business day."""
    errors: list[PackageError] = []
    institution = None if registry is None else registry.institution(manifest.institution_id)
    if institution is None:
        why = "no registry is loaded" if registry is None else "the registry lacks it"
        errors.append(
            PackageError(
                PackageRule.INSTITUTION_MUST_BE_REGISTERED,
                f"institution {manifest.institution_id!r} is not registered ({why})",
                file=MANIFEST_FILE_NAME,
                column="institution_id",
            )
        )
    elif institution.kind.value != manifest.spec.institution_kind:
        errors.append(
            PackageError(
                PackageRule.INSTITUTION_KIND_MUST_MATCH,
                f"{manifest.kind} comes from a {manifest.spec.institution_kind}; "
                f"{manifest.institution_id!r} is registered as a {institution.kind.value}",
                file=MANIFEST_FILE_NAME,
                column="kind",
            )
        )
    calendar = BusinessCalendar() if registry is None else registry.calendar
    if not calendar.is_business_day(manifest.business_date):
        errors.append(
            PackageError(
                PackageRule.BUSINESS_DATE_MUST_BE_BUSINESS_DAY,
                f"{manifest.business_date.isoformat()} is a weekend or a registered holiday",
                file=MANIFEST_FILE_NAME,
                column="business_date",
            )
        )
    return tuple(errors)


def check_file_listing(
    manifest: Manifest, present_bytes: Mapping[str, int], not_regular: Set[str] = frozenset()
) -> tuple[PackageError, ...]:
    """Every file of the kind listed, nothing unknown listed, listed files present and bounded.

    `present_bytes` maps each regular file in the package directory to its size;
    `not_regular` names the other entries (symbolic links, directories), refused wherever
    they are: a link could point anywhere, and what it points to may change during a submit.
    """
    errors: list[PackageError] = [
        PackageError(
            PackageRule.FILE_MUST_BE_REGULAR,
            f"{name!r} is a symbolic link or not a file; send the file itself",
            file=name,
        )
        for name in sorted(not_regular)
    ]
    errors.extend(_listed_file_errors(manifest, present_bytes, not_regular))
    spec = manifest.spec
    for file_spec in spec.files:
        if manifest.file(file_spec.name) is None:
            errors.append(
                PackageError(
                    PackageRule.FILE_MUST_BE_LISTED,
                    f"{spec.kind} needs {file_spec.name!r} in the manifest (it may have no rows)",
                    file=file_spec.name,
                )
            )
    for name in sorted(present_bytes):
        if name != MANIFEST_FILE_NAME and manifest.file(name) is None:
            errors.append(
                PackageError(
                    PackageRule.FILE_MUST_BE_IN_MANIFEST,
                    f"{name!r} is in the package but not in the manifest",
                    file=name,
                )
            )
    return tuple(errors)


def _listed_file_errors(
    manifest: Manifest, present_bytes: Mapping[str, int], not_regular: Set[str]
) -> list[PackageError]:
    """Each listed file must be of the kind, present and within the size limit."""
    errors: list[PackageError] = []
    spec = manifest.spec
    for entry in manifest.files:
        if entry.name in not_regular:
            continue  # refused as not a regular file already
        if spec.file(entry.name) is None:
            errors.append(
                PackageError(
                    PackageRule.FILE_MUST_BE_KNOWN,
                    f"{entry.name!r} is not a file of {spec.kind}",
                    file=entry.name,
                )
            )
        elif entry.name not in present_bytes:
            errors.append(
                PackageError(
                    PackageRule.FILE_MUST_EXIST, f"{entry.name!r} is listed but absent", entry.name
                )
            )
        elif present_bytes[entry.name] > file_bytes_max:
            errors.append(
                PackageError(
                    PackageRule.FILE_MUST_NOT_EXCEED_SIZE,
                    f"{entry.name!r} is {present_bytes[entry.name]} bytes; "
                    f"at most {file_bytes_max} are accepted",
                    file=entry.name,
                )
            )
    return errors


def files_to_read(manifest: Manifest, errors: Sequence[PackageError]) -> tuple[str, ...]:
    """Listed files of the kind that exist within limits: the ones worth reading."""
    unreadable = {
        error.file
        for error in errors
        if error.code
        in (
            PackageRule.FILE_MUST_BE_KNOWN,
            PackageRule.FILE_MUST_EXIST,
            PackageRule.FILE_MUST_NOT_EXCEED_SIZE,
            PackageRule.FILE_MUST_BE_REGULAR,
        )
    }
    return tuple(entry.name for entry in manifest.files if entry.name not in unreadable)


class Outcome(StrEnum):
    ACCEPT = "accept"
    DUPLICATE = "duplicate"
    REJECT = "reject"


@dataclass(frozen=True)
class AcceptedIdentity:
    """An accepted package of the same institution, kind and business date."""

    package_id: int
    sequence: int
    content_sha256: str


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    duplicate_of: AcceptedIdentity | None = None
    supersedes: AcceptedIdentity | None = None
    error: PackageError | None = None


def decide_submission(
    *, sequence: int, content_sha256: str, accepted: Sequence[AcceptedIdentity]
) -> Decision:
    """Identical content is a duplicate; new content needs a sequence above every accepted one."""
    for earlier in accepted:
        if earlier.content_sha256 == content_sha256:
            return Decision(Outcome.DUPLICATE, duplicate_of=earlier)
    latest = max(accepted, key=lambda identity: identity.sequence, default=None)
    if latest is None:
        return Decision(Outcome.ACCEPT)
    if sequence > latest.sequence:
        return Decision(Outcome.ACCEPT, supersedes=latest)
    return Decision(
        Outcome.REJECT,
        error=PackageError(
            PackageRule.SEQUENCE_MUST_INCREASE_FOR_NEW_CONTENT,
            f"sequence {sequence} carries new content but sequence {latest.sequence} "
            f"(package {latest.package_id}) is already accepted; send a higher sequence",
            file=MANIFEST_FILE_NAME,
            column="sequence",
        ),
    )
