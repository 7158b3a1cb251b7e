"""Emergency grants (动态授权): a role for at most 24 hours from approval, in one organisation.

The same rules run wherever a grant can be born — the `user emergency-grant` path and a
generic `approvals request emergency_grant` alike — once when it is requested and again,
authoritatively, when it is approved: the window starts at the approval's real time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.organisations import Organisation
from clearwatch.domain.access.roles import Role, UnknownRoleError, check_role_valid_in, parse_role
from clearwatch.domain.access.users import User
from clearwatch.domain.shared.errors import Refused

emergency_grant_hours_max = 24  # an emergency is short; longer needs a permanent role

GRANT_TERMS_MUST_BE_COMPLETE = "grant_terms_must_name_user_role_and_hours"
GRANT_MUST_STAY_IN_ORGANISATION = "grant_must_stay_in_organisation"


@dataclass(frozen=True)
class EmergencyGrant:
    """A role held from approval until `expires_at`; it lapses by itself, no job revokes it.
    An admin may end it sooner (`user revoke` of its role): the emergency is over, and the
    role should not wait out its hours. `ended_at` is then when it stopped counting."""

    grant_id: int
    user_id: str
    role: Role
    expires_at: datetime
    approval_request_id: int
    approved_at: datetime
    ended_at: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        if self.ended_at is not None and at >= self.ended_at:
            return False
        return self.approved_at <= at < self.expires_at


@dataclass(frozen=True)
class GrantTerms:
    """What a grant request asks for: `hours` from approval, or (older requests, the generic
    path) an `expires_at` that must still fall within the cap counted from approval."""

    user_id: str
    role: Role
    hours: int | None
    expires_at: datetime | None


def grant_payload(*, user_id: str, role: Role, hours: int, reason: str) -> dict[str, Any]:
    return {"user": user_id, "role": role.value, "hours": hours, "reason": reason}


def parse_grant_terms(payload: Mapping[str, Any]) -> GrantTerms:
    """The terms of a grant request's payload; anything missing or malformed is refused."""
    try:
        role = parse_role(str(payload["role"]))
        hours = payload.get("hours")
        expires_text = payload.get("expires_at")
        terms = GrantTerms(
            user_id=str(payload["user"]),
            role=role,
            hours=None if hours is None else int(hours),
            expires_at=None if expires_text is None else datetime.fromisoformat(str(expires_text)),
        )
    except (KeyError, ValueError, TypeError, UnknownRoleError) as error:
        raise Refused(GRANT_TERMS_MUST_BE_COMPLETE, str(error)) from error
    if (terms.hours is None) == (terms.expires_at is None):
        raise Refused(GRANT_TERMS_MUST_BE_COMPLETE, "exactly one of hours, expires_at")
    if terms.expires_at is not None and terms.expires_at.tzinfo is None:
        raise Refused(GRANT_TERMS_MUST_BE_COMPLETE, "expires_at needs a UTC offset")
    return terms


def grant_expiry(terms: GrantTerms, *, starts_at: datetime) -> datetime:
    """When a grant that starts at `starts_at` ends; refused beyond the cap or before it starts."""
    if terms.hours is not None:
        if terms.hours > emergency_grant_hours_max:
            raise AccessRefused(
                AccessRejection.GRANT_MUST_NOT_EXCEED_HOURS_MAX, f"{emergency_grant_hours_max} h"
            )
        expires_at = starts_at + timedelta(hours=terms.hours)
    else:
        assert terms.expires_at is not None  # parse_grant_terms demands one of the two
        expires_at = terms.expires_at
    check_grant_window(requested_at=starts_at, expires_at=expires_at)
    return expires_at


def check_grant(
    terms: GrantTerms, *, grantee: User | None, organisation: Organisation, starts_at: datetime
) -> datetime:
    """Every rule of an emergency grant, in order; returns when it would expire.

    `organisation` is the deciding person's (the maker's on request, the approver's on
    approval): a grant never crosses organisations."""
    if grantee is None:
        raise AccessRefused(AccessRejection.USER_MUST_BE_REGISTERED, terms.user_id)
    if grantee.organisation != organisation:
        raise Refused(
            GRANT_MUST_STAY_IN_ORGANISATION, f"{terms.user_id} is in {grantee.organisation}"
        )
    check_role_valid_in(terms.role, grantee.organisation.kind)
    return grant_expiry(terms, starts_at=starts_at)


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
