"""Ports of the monitor's intake: registry, packages, reporting events, and the package reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from clearwatch.domain.audit.witness import KeptHead, PublishedHead
from clearwatch.domain.monitor.intake import AcceptedIdentity
from clearwatch.domain.monitor.manifest import Manifest
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.monitor.registry_files import RegistryContent
from clearwatch.domain.monitor.rejections import ErrorCollector, PackageError
from clearwatch.domain.monitor.reporting import (
    ReportingCategory,
    ReportingOccurrence,
    VerbalReminder,
)
from clearwatch.domain.monitor.stored_package import StoredPackage
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.services.access.ports import AccessRepository
from clearwatch.services.shared.ports import ColumnarStore, UnitOfWork


@dataclass(frozen=True)
class RegistryVersionInfo:
    version: int
    content_sha256: str
    loaded_at: datetime
    loaded_by: str
    institutions: int
    special_accounts: int
    holidays: int


class RegistryRepository(Protocol):
    """Versions of the registry, append-only; the highest version is the current one."""

    def current(self) -> RegistrySnapshot | None: ...

    def current_content_sha256(self) -> str | None: ...

    def save_version(
        self, content: RegistryContent, *, loaded_at: datetime, loaded_by: str
    ) -> int: ...

    def history(self) -> list[RegistryVersionInfo]: ...


class PackageConflictError(ClearwatchError):
    """A submission of the same identity committed first; decide again in a new transaction."""


@dataclass(frozen=True)
class NewPackage:
    manifest: Manifest
    received_at: datetime
    late: bool
    supersedes_package_id: int | None
    registry_version: int | None
    parquet_digests: Mapping[str, str]
    row_counts: Mapping[str, int]


@dataclass(frozen=True)
class NewRejection:
    received_at: datetime
    kind: str | None
    institution_id: str | None
    business_date: date | None
    sequence: int | None
    content_sha256: str | None
    errors: Sequence[PackageError]
    errors_truncated: bool


@dataclass(frozen=True)
class ReceiptRow:
    """One line of the receipts listing: an accepted package or a rejection."""

    status: str  # accepted | superseded | rejected
    reference: str  # package:<id> or rejection:<id>
    kind: str | None
    institution_id: str | None
    business_date: date | None
    sequence: int | None
    rows: int | None
    received_at: datetime
    late: bool | None
    first_error: str | None


class AuditHeadRepository(Protocol):
    """The signed audit heads accepted packages carried, and each sender's pinned key."""

    def pinned_key(self, institution_id: str) -> str | None:
        """The public key (hex) the institution's first head pinned; None before any head."""
        ...

    def keep_audit_head(
        self,
        *,
        package_id: int,
        institution_id: str,
        business_date: date,
        head: PublishedHead,
        received_at: datetime,
    ) -> bool:
        """Keep the head with its package; pin its key if none is. True when it pinned.
        Raises `PackageConflictError` when a twin submission pinned a key first."""
        ...

    def audit_heads(self, *, institution_id: str) -> list[KeptHead]:
        """Every head kept for the institution, in the order their packages were accepted."""
        ...


class PackageRepository(AuditHeadRepository, Protocol):
    """Accepted packages and rejections; both append-only. Superseded status is derived."""

    def accepted_identities(
        self, *, institution_id: str, kind: str, business_date: date
    ) -> list[AcceptedIdentity]: ...

    def add_accepted(self, package: NewPackage) -> int:
        """Insert; raises PackageConflictError when the same identity committed first."""
        ...

    def add_rejection(self, rejection: NewRejection) -> int: ...

    def get(self, package_id: int) -> StoredPackage | None: ...

    def latest_accepted(self, business_date: date) -> list[StoredPackage]:
        """The latest accepted sequence per institution and kind for the date."""
        ...

    def receipts(
        self, *, business_date: date | None = None, institution_id: str | None = None
    ) -> list[ReceiptRow]: ...

    def latest_business_date(self) -> date | None:
        """The last business date any package or rejection was received for (by the date's
        index, never a scan of the receipts); None before the first."""
        ...


class ReportingRepository(Protocol):
    """Reporting occurrences, once per (institution, date, package kind, category); reminders."""

    def record_occurrence(
        self,
        *,
        institution_id: str,
        category: ReportingCategory,
        business_date: date,
        package_kind: str,
        occurred_at: datetime,
        detail: str,
    ) -> bool:
        """Record the occurrence and its verbal reminder; False when already recorded."""
        ...

    def count_occurrences(
        self, *, institution_id: str, category: ReportingCategory, year: int
    ) -> int:
        """Occurrences whose business date falls in the calendar year."""
        ...

    def occurrences(self, business_date: date | None = None) -> list[ReportingOccurrence]: ...

    def reminders(self, business_date: date | None = None) -> list[VerbalReminder]: ...


class MonitorUnitOfWork(UnitOfWork, Protocol):
    @property
    def registry(self) -> RegistryRepository: ...

    @property
    def packages(self) -> PackageRepository: ...

    @property
    def reporting(self) -> ReportingRepository: ...

    @property
    def access(self) -> AccessRepository: ...  # approvals: a witness key's approved rotation


class MonitorUnitOfWorkFactory(Protocol):
    def __call__(self) -> MonitorUnitOfWork: ...


@dataclass
class StagedPackage:
    """What reading a package's files produced: rows, stored Parquet digests, errors found."""

    row_counts: dict[str, int] = field(default_factory=dict)
    parquet_digests: dict[str, str] = field(default_factory=dict)  # only when published
    file_sha256: dict[str, str] = field(default_factory=dict)


class PackageSource(Protocol):
    """The package directory as the submitter left it: the manifest and the CSV files."""

    def manifest_bytes(self, directory: str) -> bytes | None:
        """The manifest's bytes (at most the limit plus one), or None when absent."""
        ...

    def file_sizes(self, directory: str) -> dict[str, int]:
        """Every regular file in the directory, by name, with its size in bytes."""
        ...

    def not_regular(self, directory: str) -> set[str]:
        """Names in the directory that are not regular files: symbolic links, directories."""
        ...

    def file_sha256(self, directory: str, names: Sequence[str]) -> dict[str, str]: ...

    def head_signature_valid(self, head: PublishedHead) -> bool:
        """Does the audit head's signature verify under the key the head names?"""
        ...

    def stage(
        self,
        *,
        directory: str,
        manifest: Manifest,
        names: Sequence[str],
        columnar: ColumnarStore,
        errors: ErrorCollector,
    ) -> StagedPackage:
        """Check hashes, rows and values of the named files, adding errors; when none were
        found (also before), publish each file as Parquet and return the digests. Each file
        is read once: the bytes hashed are the bytes parsed and stored."""
        ...
