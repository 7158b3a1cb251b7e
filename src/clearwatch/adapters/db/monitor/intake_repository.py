"""The monitor's intake repositories on SQLAlchemy Core: registry, packages, reporting events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Insert, Row, and_, exists, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.crash_points import crash_point
from clearwatch.adapters.db.monitor.intake_tables import (
    package_files,
    package_rejections,
    packages,
    registry_holidays,
    registry_institutions,
    registry_special_accounts,
    registry_versions,
    reporting_occurrences,
    verbal_reminders,
)
from clearwatch.adapters.db.monitor.witness_repository import SqlWitnessHeads
from clearwatch.domain.monitor.intake import AcceptedIdentity
from clearwatch.domain.monitor.registry import (
    Institution,
    InstitutionKind,
    RegistrySnapshot,
    SpecialAccountFiling,
)
from clearwatch.domain.monitor.registry_files import RegistryContent
from clearwatch.domain.monitor.reporting import (
    ReportingCategory,
    ReportingOccurrence,
    VerbalReminder,
    reminder_text,
)
from clearwatch.domain.monitor.stored_package import StoredPackage
from clearwatch.domain.shared.kinds import PackageStatus
from clearwatch.services.monitor.ports import (
    NewPackage,
    NewRejection,
    PackageConflictError,
    ReceiptRow,
    RegistryVersionInfo,
)

_PG_REGISTRY_LOCK_KEY = 0x_C1EA_0E61  # serialises registry version numbering


def to_utc(moment: datetime) -> datetime:
    """Stored as UTC: SQLite keeps no offset, so every time is normalised before it goes in."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are refused; pass an aware time")
    return moment.astimezone(UTC)


def from_db(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SqlRegistryRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _current_row(self) -> Row[Any] | None:
        return self._connection.execute(
            select(registry_versions).order_by(registry_versions.c.version.desc()).limit(1)
        ).first()

    def current_content_sha256(self) -> str | None:
        row = self._current_row()
        return None if row is None else str(row.content_sha256)

    def current(self) -> RegistrySnapshot | None:
        row = self._current_row()
        if row is None:
            return None
        version = int(row.version)
        c = self._connection
        institutions = c.execute(
            select(registry_institutions)
            .where(registry_institutions.c.version == version)
            .order_by(registry_institutions.c.institution_id)
        ).all()
        accounts = c.execute(
            select(registry_special_accounts)
            .where(registry_special_accounts.c.version == version)
            .order_by(registry_special_accounts.c.account_no)
        ).all()
        holidays = c.execute(
            select(registry_holidays.c.holiday)
            .where(registry_holidays.c.version == version)
            .order_by(registry_holidays.c.holiday)
        ).scalars()
        return RegistrySnapshot(
            version=version,
            institutions=tuple(
                Institution(r.institution_id, InstitutionKind(r.kind), r.name, r.region)
                for r in institutions
            ),
            special_accounts=tuple(
                SpecialAccountFiling(
                    r.account_no, r.bank_id, r.broker_id, r.purpose, r.branch_region, r.filed_on
                )
                for r in accounts
            ),
            holidays=tuple(holidays),
        )

    def save_version(self, content: RegistryContent, *, loaded_at: datetime, loaded_by: str) -> int:
        c = self._connection
        if c.dialect.name == "postgresql":
            # Two loads at once: the second waits, then numbers its version after the first.
            c.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_REGISTRY_LOCK_KEY})
        last = c.execute(select(func.max(registry_versions.c.version))).scalar()
        version = int(last or 0) + 1
        c.execute(
            insert(registry_versions).values(
                version=version,
                content_sha256=content.content_sha256,
                loaded_at=to_utc(loaded_at),
                loaded_by=loaded_by,
            )
        )
        if content.institutions:
            c.execute(
                insert(registry_institutions),
                [
                    {
                        "version": version,
                        "institution_id": i.institution_id,
                        "kind": i.kind.value,
                        "name": i.name,
                        "region": i.region,
                    }
                    for i in content.institutions
                ],
            )
        if content.special_accounts:
            c.execute(
                insert(registry_special_accounts),
                [
                    {
                        "version": version,
                        "account_no": a.account_no,
                        "bank_id": a.bank_id,
                        "broker_id": a.broker_id,
                        "purpose": a.purpose,
                        "branch_region": a.branch_region,
                        "filed_on": a.filed_on,
                    }
                    for a in content.special_accounts
                ],
            )
        if content.holidays:
            c.execute(
                insert(registry_holidays),
                [{"version": version, "holiday": day} for day in content.holidays],
            )
        return version

    def history(self) -> list[RegistryVersionInfo]:
        counts = []
        for table in (registry_institutions, registry_special_accounts, registry_holidays):
            counts.append(
                select(table.c.version, func.count().label("n"))
                .group_by(table.c.version)
                .subquery()
            )
        rows = self._connection.execute(
            select(
                registry_versions,
                func.coalesce(counts[0].c.n, 0).label("institutions"),
                func.coalesce(counts[1].c.n, 0).label("special_accounts"),
                func.coalesce(counts[2].c.n, 0).label("holidays"),
            )
            .outerjoin(counts[0], counts[0].c.version == registry_versions.c.version)
            .outerjoin(counts[1], counts[1].c.version == registry_versions.c.version)
            .outerjoin(counts[2], counts[2].c.version == registry_versions.c.version)
            .order_by(registry_versions.c.version)
        ).all()
        return [
            RegistryVersionInfo(
                version=int(r.version),
                content_sha256=r.content_sha256,
                loaded_at=from_db(r.loaded_at),
                loaded_by=r.loaded_by,
                institutions=int(r.institutions),
                special_accounts=int(r.special_accounts),
                holidays=int(r.holidays),
            )
            for r in rows
        ]


class SqlPackageRepository(SqlWitnessHeads):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def accepted_identities(
        self, *, institution_id: str, kind: str, business_date: date
    ) -> list[AcceptedIdentity]:
        rows = self._connection.execute(
            select(packages.c.package_id, packages.c.sequence, packages.c.content_sha256)
            .where(
                packages.c.institution_id == institution_id,
                packages.c.kind == kind,
                packages.c.business_date == business_date,
            )
            .order_by(packages.c.sequence)
        ).all()
        return [
            AcceptedIdentity(int(r.package_id), int(r.sequence), r.content_sha256) for r in rows
        ]

    def add_accepted(self, package: NewPackage) -> int:
        m = package.manifest
        try:
            package_id = self._connection.execute(
                insert(packages)
                .values(
                    kind=m.kind,
                    institution_id=m.institution_id,
                    business_date=m.business_date,
                    sequence=m.sequence,
                    content_sha256=m.content_sha256,
                    encoding=m.encoding,
                    received_at=to_utc(package.received_at),
                    late=package.late,
                    supersedes_package_id=package.supersedes_package_id,
                    registry_version=package.registry_version,
                )
                .returning(packages.c.package_id)
            ).scalar_one()
        except IntegrityError as conflict:
            raise PackageConflictError(str(conflict.orig)) from conflict
        self._connection.execute(
            insert(package_files),
            [
                {
                    "package_id": package_id,
                    "file_name": entry.name,
                    "source_sha256": entry.sha256,
                    "parquet_sha256": package.parquet_digests[entry.name],
                    "rows": package.row_counts[entry.name],
                }
                for entry in m.files
            ],
        )
        crash_point("before_commit")
        return int(package_id)

    def add_rejection(self, rejection: NewRejection) -> int:
        return int(
            self._connection.execute(
                insert(package_rejections)
                .values(
                    received_at=to_utc(rejection.received_at),
                    kind=rejection.kind,
                    institution_id=rejection.institution_id,
                    business_date=rejection.business_date,
                    sequence=rejection.sequence,
                    content_sha256=rejection.content_sha256,
                    first_code=rejection.errors[0].code.value,
                    errors_json=json.dumps(
                        [error.to_json() for error in rejection.errors], ensure_ascii=False
                    ),
                    errors_truncated=rejection.errors_truncated,
                )
                .returning(package_rejections.c.rejection_id)
            ).scalar_one()
        )

    def get(self, package_id: int) -> StoredPackage | None:
        rows = self._connection.execute(
            select(packages).where(packages.c.package_id == package_id)
        ).all()
        stored = self._stored(list(rows))
        return stored[0] if stored else None

    def latest_business_date(self) -> date | None:
        # Each max reads one end of its table's business-date index.
        accepted = self._connection.execute(select(func.max(packages.c.business_date))).scalar()
        rejected = self._connection.execute(
            select(func.max(package_rejections.c.business_date))
        ).scalar()
        dates = [d for d in (accepted, rejected) if d is not None]
        return max(dates, default=None)

    def latest_accepted(self, business_date: date) -> list[StoredPackage]:
        rows = self._connection.execute(
            select(packages)
            .where(packages.c.business_date == business_date)
            .order_by(packages.c.institution_id, packages.c.kind, packages.c.sequence)
        ).all()
        latest: dict[tuple[str, str], Row[Any]] = {}
        for row in rows:
            latest[(row.institution_id, row.kind)] = row  # ordered by sequence: last wins
        return self._stored(list(latest.values()))

    def _stored(self, rows: list[Row[Any]]) -> list[StoredPackage]:
        if not rows:
            return []
        ids = [row.package_id for row in rows]
        files: dict[int, list[Row[Any]]] = {}
        for f in self._connection.execute(
            select(package_files).where(package_files.c.package_id.in_(ids))
        ):
            files.setdefault(int(f.package_id), []).append(f)
        return [
            StoredPackage(
                package_id=int(r.package_id),
                kind=r.kind,
                institution_id=r.institution_id,
                business_date=r.business_date,
                sequence=int(r.sequence),
                content_sha256=r.content_sha256,
                received_at=from_db(r.received_at),
                late=bool(r.late),
                supersedes_package_id=r.supersedes_package_id,
                parquet_digests={
                    f.file_name: f.parquet_sha256 for f in files.get(r.package_id, [])
                },
                row_counts={f.file_name: int(f.rows) for f in files.get(r.package_id, [])},
            )
            for r in rows
        ]

    def receipts(
        self, *, business_date: date | None = None, institution_id: str | None = None
    ) -> list[ReceiptRow]:
        later = packages.alias("later")
        # Only a later sequence of the package's own identity supersedes it (submit chooses
        # among those): searched within that identity's index entries, not the whole table.
        superseded = exists().where(
            later.c.institution_id == packages.c.institution_id,
            later.c.kind == packages.c.kind,
            later.c.business_date == packages.c.business_date,
            later.c.supersedes_package_id == packages.c.package_id,
        )
        rows_total = (
            select(func.sum(package_files.c.rows))
            .where(package_files.c.package_id == packages.c.package_id)
            .scalar_subquery()
        )
        accepted = select(packages, superseded.label("superseded"), rows_total.label("rows"))
        rejected = select(package_rejections)
        if business_date is not None:
            accepted = accepted.where(packages.c.business_date == business_date)
            rejected = rejected.where(package_rejections.c.business_date == business_date)
        if institution_id is not None:
            accepted = accepted.where(packages.c.institution_id == institution_id)
            rejected = rejected.where(package_rejections.c.institution_id == institution_id)
        result = [
            ReceiptRow(
                status=PackageStatus.SUPERSEDED if r.superseded else PackageStatus.ACCEPTED,
                reference=f"package:{r.package_id}",
                kind=r.kind,
                institution_id=r.institution_id,
                business_date=r.business_date,
                sequence=int(r.sequence),
                rows=None if r.rows is None else int(r.rows),
                received_at=from_db(r.received_at),
                late=bool(r.late),
                first_error=None,
            )
            for r in self._connection.execute(accepted)
        ]
        result += [
            ReceiptRow(
                status=PackageStatus.REJECTED,
                reference=f"rejection:{r.rejection_id}",
                kind=r.kind,
                institution_id=r.institution_id,
                business_date=r.business_date,
                sequence=r.sequence,
                rows=None,
                received_at=from_db(r.received_at),
                late=None,
                first_error=r.first_code,
            )
            for r in self._connection.execute(rejected)
        ]
        return sorted(result, key=lambda row: (row.received_at, row.reference))


class SqlReportingRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _insert_ignoring_conflict(self) -> Insert:
        dialect = self._connection.dialect.name
        if dialect == "postgresql":
            return postgresql.insert(reporting_occurrences).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite.insert(reporting_occurrences).on_conflict_do_nothing()
        raise NotImplementedError(f"reporting occurrences on {dialect}")

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
        occurrence_id = self._connection.execute(
            self._insert_ignoring_conflict()
            .values(
                institution_id=institution_id,
                category=category.value,
                business_date=business_date,
                package_kind=package_kind,
                occurred_at=to_utc(occurred_at),
                detail=detail,
            )
            .returning(reporting_occurrences.c.occurrence_id)
        ).scalar()
        if occurrence_id is None:
            return False
        self._connection.execute(
            insert(verbal_reminders).values(
                occurrence_id=occurrence_id,
                institution_id=institution_id,
                category=category.value,
                business_date=business_date,
                issued_at=to_utc(occurred_at),
                text=reminder_text(category, business_date, package_kind),
            )
        )
        return True

    def count_occurrences(
        self, *, institution_id: str, category: ReportingCategory, year: int
    ) -> int:
        t = reporting_occurrences.c
        return int(
            self._connection.execute(
                select(func.count()).where(
                    and_(
                        t.institution_id == institution_id,
                        t.category == category.value,
                        t.business_date >= date(year, 1, 1),
                        t.business_date <= date(year, 12, 31),
                    )
                )
            ).scalar_one()
        )

    def occurrences(self, business_date: date | None = None) -> list[ReportingOccurrence]:
        query = select(reporting_occurrences).order_by(reporting_occurrences.c.occurrence_id)
        if business_date is not None:
            query = query.where(reporting_occurrences.c.business_date == business_date)
        return [
            ReportingOccurrence(
                occurrence_id=int(r.occurrence_id),
                institution_id=r.institution_id,
                category=ReportingCategory(r.category),
                business_date=r.business_date,
                package_kind=r.package_kind,
                occurred_at=from_db(r.occurred_at),
                detail=r.detail,
            )
            for r in self._connection.execute(query)
        ]

    def reminders(self, business_date: date | None = None) -> list[VerbalReminder]:
        query = select(verbal_reminders).order_by(verbal_reminders.c.reminder_id)
        if business_date is not None:
            query = query.where(verbal_reminders.c.business_date == business_date)
        return [
            VerbalReminder(
                reminder_id=int(r.reminder_id),
                occurrence_id=int(r.occurrence_id),
                institution_id=r.institution_id,
                category=ReportingCategory(r.category),
                business_date=r.business_date,
                issued_at=from_db(r.issued_at),
                text=r.text,
            )
            for r in self._connection.execute(query)
        ]
