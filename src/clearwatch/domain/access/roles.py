"""Roles, the organisation kind each is valid in (spec platform §1), and segregation sets."""

from __future__ import annotations

from enum import StrEnum

from clearwatch.domain.access.organisations import OrganisationKind
from clearwatch.domain.shared.errors import ClearwatchError, Refused


class Role(StrEnum):
    """A role held by a user in their organisation, permanently or by an emergency grant."""

    # SIPF, the monitoring centre
    ANALYST = "analyst"  # reviews findings and cases
    REVIEWER = "reviewer"  # the second analyst: approves what an analyst proposes
    REGISTRY_OFFICER = "registry_officer"  # keeps the registry of institutions
    # a bureau
    BUREAU_ANALYST = "bureau_analyst"
    BUREAU_HEAD = "bureau_head"
    # CSRC
    CSRC_VIEWER = "csrc_viewer"
    # an institution (broker, bank, CSDC)
    SUBMITTER = "submitter"  # sends the daily packages (also machines, by token)
    OFFICER = "officer"  # filings, explanations, superseding packages
    VIEWER = "viewer"
    # a broker's back office
    OPERATOR = "operator"  # the maker (经办): raises requests
    CHECKER = "checker"  # the checker (复核): approves or rejects others' requests
    AUDITOR = "auditor"  # reads the books and the audit log
    # SIPF and a back office: manages users and roles of its organisation; approves nothing
    ADMIN = "admin"


# The spec's table: the roles each kind of organisation may hold, and no other.
ROLES_BY_KIND: dict[OrganisationKind, frozenset[Role]] = {
    OrganisationKind.SIPF: frozenset(
        {Role.ANALYST, Role.REVIEWER, Role.REGISTRY_OFFICER, Role.ADMIN}
    ),
    OrganisationKind.BUREAU: frozenset({Role.BUREAU_ANALYST, Role.BUREAU_HEAD}),
    OrganisationKind.CSRC: frozenset({Role.CSRC_VIEWER}),
    OrganisationKind.INSTITUTION: frozenset({Role.SUBMITTER, Role.OFFICER, Role.VIEWER}),
    OrganisationKind.BACK_OFFICE: frozenset(
        {Role.OPERATOR, Role.CHECKER, Role.AUDITOR, Role.ADMIN}
    ),
}

# "maker" is the everyday name of the operator role; both spellings are accepted.
ROLE_ALIASES = {"maker": Role.OPERATOR}

# Who may raise a maker-checker request.
MAKER_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})
# Who may decide one, each in their own organisation: a back office's checker (复核), SIPF's
# second analyst, a bureau's head. The policy keeps each to its own organisation's requests.
APPROVER_ROLES = frozenset({Role.CHECKER, Role.REVIEWER, Role.BUREAU_HEAD})


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


def check_role_valid_in(role: Role, kind: OrganisationKind) -> Role:
    """A role is held only in the kind of organisation the spec gives it to."""
    if role not in ROLES_BY_KIND[kind]:
        valid = ", ".join(sorted(ROLES_BY_KIND[kind]))
        raise Refused("role_must_be_valid_in_organisation", f"{role} in a {kind} ({valid})")
    return role
