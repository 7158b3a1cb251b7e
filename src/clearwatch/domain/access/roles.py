"""Roles and what each may do; segregation of duties lives in these sets."""

from __future__ import annotations

from enum import StrEnum

from clearwatch.domain.shared.errors import ClearwatchError


class Role(StrEnum):
    """A role held by a user, permanently or through an approved emergency grant."""

    OPERATOR = "operator"  # the maker (经办): raises requests
    CHECKER = "checker"  # the checker (复核): approves or rejects others' requests
    ADMIN = "admin"  # runs the system; approves nothing
    ANALYST = "analyst"  # reads and reviews monitor cases
    AUDITOR = "auditor"  # reads the audit log


# "maker" is the everyday name of the operator role; both spellings are accepted.
ROLE_ALIASES = {"maker": Role.OPERATOR}

# Who may raise a maker-checker request.
MAKER_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})


class UnknownRoleError(ClearwatchError, ValueError):
    """A role name that is neither a role nor an alias."""

    def __init__(self, text: str) -> None:
        names = sorted([*(role.value for role in Role), *ROLE_ALIASES])
        super().__init__(f"role_must_be_known: {text!r} (one of {', '.join(names)})")
        self.text = text


def parse_role(text: str) -> Role:
    """A role from its name or alias, case-insensitive."""
    key = text.strip().lower()
    if key in ROLE_ALIASES:
        return ROLE_ALIASES[key]
    try:
        return Role(key)
    except ValueError as error:
        raise UnknownRoleError(text) from error
