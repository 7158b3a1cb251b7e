"""The audit heads accepted packages carried, and each sender's pinned key, on SQLAlchemy Core.

Part of the package repository (a base of `SqlPackageRepository`): a head is kept in the
transaction that accepts its package, so there is never a package without the head it came
with, nor a head without its package.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.monitor.intake_tables import audit_heads, witness_keys
from clearwatch.domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from clearwatch.domain.audit.witness import KeptHead, PublishedHead
from clearwatch.services.monitor.ports import PackageConflictError


class SqlWitnessHeads:
    _connection: Connection

    def pinned_key(self, institution_id: str) -> str | None:
        return self._connection.execute(
            select(witness_keys.c.public_key).where(witness_keys.c.institution_id == institution_id)
        ).scalar_one_or_none()

    def keep_audit_head(
        self,
        *,
        package_id: int,
        institution_id: str,
        business_date: date,
        head: PublishedHead,
        received_at: datetime,
    ) -> bool:
        """Keep the head; pin its key when the institution has none yet. True if it pinned.

        A twin submission that pinned first makes the insert fail: `PackageConflictError`,
        and the submission is decided again against the key now pinned."""
        made = head.checkpoint
        self._connection.execute(
            insert(audit_heads).values(
                package_id=package_id,
                institution_id=institution_id,
                business_date=business_date,
                seq=made.seq,
                tree_head=made.tree_head,
                chain_head=made.chain_head,
                made_at=made.made_at,
                frontier_json=json.dumps([[size, root] for size, root in made.frontier]),
                signature=head.signed.signature,
                public_key=head.public_key,
                received_at=received_at.astimezone(UTC),
            )
        )
        if self.pinned_key(institution_id) is not None:
            return False
        try:
            self._connection.execute(
                insert(witness_keys).values(
                    institution_id=institution_id,
                    public_key=head.public_key,
                    package_id=package_id,
                    pinned_at=received_at.astimezone(UTC),
                )
            )
        except IntegrityError as conflict:
            raise PackageConflictError(str(conflict.orig)) from conflict
        return True

    def audit_heads(self, *, institution_id: str) -> list[KeptHead]:
        rows = self._connection.execute(
            select(audit_heads)
            .where(audit_heads.c.institution_id == institution_id)
            .order_by(audit_heads.c.package_id)
        ).all()
        return [_kept(row) for row in rows]


def _kept(row: Row[Any]) -> KeptHead:
    checkpoint = Checkpoint(
        seq=int(row.seq),
        tree_head=row.tree_head,
        chain_head=row.chain_head,
        made_at=row.made_at,
        frontier=tuple((int(size), str(root)) for size, root in json.loads(row.frontier_json)),
    )
    return KeptHead(
        institution_id=row.institution_id,
        business_date=row.business_date,
        package_id=int(row.package_id),
        # SQLite keeps no offset: every time went in as UTC.
        received_at=row.received_at.replace(tzinfo=UTC)
        if row.received_at.tzinfo is None
        else row.received_at.astimezone(UTC),
        head=PublishedHead(SignedCheckpoint(checkpoint, row.signature), row.public_key),
    )
