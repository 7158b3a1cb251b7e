"""A user registered in the store: one organisation, and the roles held permanently in it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.organisations import Organisation
from clearwatch.domain.access.roles import Role, check_role_valid_in

_USER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class User:
    user_id: str
    organisation: Organisation
    roles: frozenset[Role]
    created_at: datetime


def check_user_id(user_id: str) -> str:
    """User ids are plain ASCII names so they print, sort and compare without surprises."""
    if not _USER_ID_PATTERN.fullmatch(user_id):
        raise AccessRefused(AccessRejection.USER_ID_MUST_BE_PLAIN, repr(user_id))
    return user_id


def check_roles_valid_in(roles: Iterable[Role], organisation: Organisation) -> frozenset[Role]:
    """Every role must be one the organisation's kind holds (spec platform §1)."""
    return frozenset(check_role_valid_in(role, organisation.kind) for role in roles)
