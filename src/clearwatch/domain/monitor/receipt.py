"""The receipt a submitter gets: status, the package's identity, what it supersedes, errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.monitor.rejections import PackageError


class ReceiptStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class PackageIdentity:
    """(institution, kind, business date, sequence, content hash); parts may be unknown."""

    kind: str | None
    institution_id: str | None
    business_date: date | None
    sequence: int | None
    content_sha256: str | None


@dataclass(frozen=True)
class Receipt:
    status: ReceiptStatus
    identity: PackageIdentity
    received_at: datetime
    package_id: int | None = None  # the accepted package, or the one this duplicates
    supersedes_package_id: int | None = None
    supersedes_sequence: int | None = None
    late: bool | None = None
    rejection_id: int | None = None
    row_counts: Mapping[str, int] = field(default_factory=dict)
    errors: tuple[PackageError, ...] = ()
    errors_truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        identity = self.identity
        supersedes = (
            None
            if self.supersedes_package_id is None
            else {"package_id": self.supersedes_package_id, "sequence": self.supersedes_sequence}
        )
        return {
            "status": self.status.value,
            "package": {
                "kind": identity.kind,
                "institution_id": identity.institution_id,
                "business_date": (
                    None if identity.business_date is None else identity.business_date.isoformat()
                ),
                "sequence": identity.sequence,
                "content_sha256": identity.content_sha256,
                "package_id": self.package_id,
            },
            "supersedes": supersedes,
            "received_at": self.received_at.isoformat(),
            "late": self.late,
            "rejection_id": self.rejection_id,
            "rows": dict(self.row_counts),
            "errors": [error.to_json() for error in self.errors],
            "errors_truncated": self.errors_truncated,
        }
