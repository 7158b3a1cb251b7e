"""Emergency grants (dynamic authorisation): a role for a while, approved by a second person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.roles import Role

emergency_grant_hours_max = 24  # an emergency is short; longer needs a permanent role


@dataclass(frozen=True)
class EmergencyGrant:
    """A role held from approval until `expires_at`; it lapses by itself, no job revokes it."""

    grant_id: int
    user_id: str
    role: Role
    expires_at: datetime
    approval_request_id: int
    approved_at: datetime

    def in_force(self, at: datetime) -> bool:
        return self.approved_at <= at < self.expires_at


def check_grant_window(*, requested_at: datetime, expires_at: datetime) -> None:
    if expires_at <= requested_at:
        raise AccessRefused(AccessRejection.GRANT_MUST_END_AFTER_IT_STARTS)
    if expires_at - requested_at > timedelta(hours=emergency_grant_hours_max):
        raise AccessRefused(
            AccessRejection.GRANT_MUST_NOT_EXCEED_HOURS_MAX, f"{emergency_grant_hours_max} h"
        )


def roles_in_force(grants: Iterable[EmergencyGrant], at: datetime) -> frozenset[Role]:
    return frozenset(grant.role for grant in grants if grant.in_force(at))


def roles_expired(grants: Iterable[EmergencyGrant], at: datetime) -> frozenset[Role]:
    return frozenset(grant.role for grant in grants if at >= grant.expires_at)
