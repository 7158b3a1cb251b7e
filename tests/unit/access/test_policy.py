"""The policy table, exhaustively: every action × role × own/other organisation, from the table."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from clearwatch.domain.access.organisations import (
    Organisation,
    OrganisationKind,
    parse_organisation,
)
from clearwatch.domain.access.policy import (
    NO_RULE,
    POLICY,
    REASON_NEEDED,
    Action,
    Actor,
    Allowed,
    Denied,
    Resource,
    Scope,
    decide,
)
from clearwatch.domain.access.roles import ROLES_BY_KIND, Role

# One organisation of each kind, and another of the same kind where there can be another.
HOME = {
    OrganisationKind.SIPF: "SIPF",
    OrganisationKind.BUREAU: "CN-SH",
    OrganisationKind.CSRC: "CSRC",
    OrganisationKind.INSTITUTION: "K001",
    OrganisationKind.BACK_OFFICE: "BO:B001",
}
OTHER = {
    OrganisationKind.SIPF: "CN-ZJ",  # SIPF is one; "other" is a party it oversees
    OrganisationKind.BUREAU: "CITY-SZ",
    OrganisationKind.CSRC: "CN-ZJ",
    OrganisationKind.INSTITUTION: "B002",
    OrganisationKind.BACK_OFFICE: "BO:B002",
}
# Scopes that reach beyond the actor's own organisation.
CROSS_SCOPES = {Scope.WHOLE_MONITOR, Scope.MONITOR_PARTIES}


def _own(organisation: Organisation) -> Resource:
    """A thing of the actor's own organisation in every sense a scope can ask about."""
    return Resource(
        organisation=organisation.ident,
        institution=organisation.code,
        bureau=organisation.code,
        special_report=True,
        reason="the outflow was booked twice",
        released=True,
    )


def _other(kind: OrganisationKind) -> Resource:
    other = parse_organisation(OTHER[kind])
    return Resource(
        organisation=other.ident,
        institution=other.code,
        bureau=other.code,
        special_report=False,
        reason="the outflow was booked twice",
        released=True,
    )


CASES = [
    (action, role, kind)
    for action, role in itertools.product(Action, Role)
    for kind in OrganisationKind
    if role in ROLES_BY_KIND[kind]
]


@pytest.mark.parametrize(("action", "role", "kind"), CASES)
def test_every_action_role_and_side_is_decided_exactly_as_the_table_says(
    action: Action, role: Role, kind: OrganisationKind
) -> None:
    organisation = parse_organisation(HOME[kind])
    actor = Actor("u1", organisation, frozenset({role}))
    rules = [rule for rule in POLICY if rule.action is action and rule.role is role]
    own = decide(actor, action, _own(organisation))
    other = decide(actor, action, _other(kind))
    assert isinstance(own, Allowed) is bool(rules)
    reaches_other = any(rule.scope in CROSS_SCOPES for rule in rules) and (
        kind is OrganisationKind.SIPF
    )
    assert isinstance(other, Allowed) is reaches_other
    if not rules:
        assert own == Denied(NO_RULE, f"{action} by u1 ({organisation})")


# Scopes that reach only what has left SIPF (an approved warning, what cites it).
RELEASED_SCOPES = {Scope.ROUTED_TO_BUREAU, Scope.SPECIAL_REPORTS, Scope.OWN_WARNING_COPIES}


@pytest.mark.parametrize(("action", "role", "kind"), CASES)
def test_nothing_unreleased_reaches_a_bureau_csrc_or_an_institutions_warning_copies(
    action: Action, role: Role, kind: OrganisationKind
) -> None:
    organisation = parse_organisation(HOME[kind])
    actor = Actor("u1", organisation, frozenset({role}))
    rules = [rule for rule in POLICY if rule.action is action and rule.role is role]
    unreleased = dataclasses.replace(_own(organisation), released=False)
    allowed = isinstance(decide(actor, action, unreleased), Allowed)
    assert allowed is any(rule.scope not in RELEASED_SCOPES for rule in rules)


def test_every_rule_of_the_table_can_allow_something() -> None:
    for rule in POLICY:
        kinds = [kind for kind in OrganisationKind if rule.role in ROLES_BY_KIND[kind]]
        assert kinds, f"{rule.name}: its role is valid in no organisation"


@pytest.mark.parametrize("action", [Action.APPROVALS_APPROVE, Action.APPROVALS_REJECT])
def test_admin_approves_and_rejects_nothing_anywhere(action: Action) -> None:
    assert not [rule for rule in POLICY if rule.action is action and rule.role is Role.ADMIN]
    for ident in ("SIPF", "BO:B001"):
        admin = Actor("root", parse_organisation(ident), frozenset({Role.ADMIN}))
        assert isinstance(decide(admin, action, _own(admin.organisation)), Denied)


def test_a_role_held_outside_its_organisation_kind_counts_for_nothing() -> None:
    # A store edited by hand cannot make a bureau user an analyst of the monitor.
    bureau = Actor("x", parse_organisation("CN-SH"), frozenset(Role) - {Role.BUREAU_HEAD})
    for action in Action:
        verdict = decide(bureau, action, _own(bureau.organisation))
        allowed_for_bureau_analyst = any(
            rule.action is action and rule.role is Role.BUREAU_ANALYST for rule in POLICY
        )
        assert isinstance(verdict, Allowed) is allowed_for_bureau_analyst


def test_the_forged_superseding_package_is_refused_for_anyone_but_k001s_officer() -> None:
    package = Resource(institution="K001", reason="outflow to other was wrong")
    allowed = []
    for kind, role in itertools.product(OrganisationKind, Role):
        if role not in ROLES_BY_KIND[kind]:
            continue
        for ident in (HOME[kind], OTHER[kind]):
            actor = Actor("u", parse_organisation(ident), frozenset({role}))
            if isinstance(decide(actor, Action.MONITOR_SUPERSEDE, package), Allowed):
                allowed.append((ident, role))
    assert allowed == [("K001", Role.OFFICER)]


def test_superseding_without_a_reason_is_refused_by_name() -> None:
    officer = Actor("o", parse_organisation("K001"), frozenset({Role.OFFICER}))
    for reason in (None, "", "   "):
        verdict = decide(
            officer, Action.MONITOR_SUPERSEDE, Resource(institution="K001", reason=reason)
        )
        assert verdict == Denied(REASON_NEEDED, "monitor.supersede")


def test_a_bureau_sees_the_warnings_routed_to_it_and_csrc_only_special_reports() -> None:
    head = Actor("h", parse_organisation("CITY-SZ"), frozenset({Role.BUREAU_HEAD}))
    routed = Resource(institution="B001", bureau="CITY-SZ", released=True)
    elsewhere = Resource(institution="B001", bureau="CN-GD", released=True)
    assert isinstance(decide(head, Action.WARNINGS_LIST, routed), Allowed)
    assert isinstance(decide(head, Action.WARNINGS_LIST, elsewhere), Denied)
    csrc = Actor("c", parse_organisation("CSRC"), frozenset({Role.CSRC_VIEWER}))
    special = Resource(institution="B001", bureau="CN-GD", special_report=True, released=True)
    assert isinstance(decide(csrc, Action.WARNINGS_LIST, special), Allowed)
    assert isinstance(decide(csrc, Action.WARNINGS_LIST, elsewhere), Denied)


def test_a_proposed_warning_reaches_only_sipf() -> None:
    proposed = Resource(institution="B001", bureau="CITY-SZ", special_report=True)
    readers = [
        Actor("u", parse_organisation(ident), frozenset({role}))
        for ident, role in (
            ("CITY-SZ", Role.BUREAU_HEAD),
            ("CSRC", Role.CSRC_VIEWER),
            ("B001", Role.OFFICER),
            ("SIPF", Role.ANALYST),
        )
    ]
    verdicts = [decide(reader, Action.WARNINGS_LIST, proposed) for reader in readers]
    seen = {
        r.organisation.ident
        for r, v in zip(readers, verdicts, strict=True)
        if isinstance(v, Allowed)
    }
    assert seen == {"SIPF"}
    copy = dataclasses.replace(proposed, released=True)
    officer = Actor("o", parse_organisation("B001"), frozenset({Role.OFFICER}))
    assert isinstance(decide(officer, Action.WARNINGS_LIST, copy), Allowed)
    # Its own packages and cases an institution reads whatever any warning's state.
    assert isinstance(decide(officer, Action.CASES_READ, proposed), Allowed)


def test_a_back_office_reaches_only_its_own_brokers_books() -> None:
    operator = Actor("m", parse_organisation("BO:B001"), frozenset({Role.OPERATOR}))
    assert isinstance(decide(operator, Action.BROKER_IMPORT, Resource(institution="B001")), Allowed)
    assert isinstance(decide(operator, Action.BROKER_IMPORT, Resource(institution="B002")), Denied)
    # The institution B001 (its monitor side) is not its back office.
    officer = Actor("o", parse_organisation("B001"), frozenset({Role.OFFICER}))
    assert isinstance(decide(officer, Action.BROKER_IMPORT, Resource(institution="B001")), Denied)


def test_sipfs_admin_manages_monitor_parties_but_never_a_back_office() -> None:
    admin = Actor("root", parse_organisation("SIPF"), frozenset({Role.ADMIN}))
    for ident in ("SIPF", "CN-SH", "CSRC", "K001"):
        assert isinstance(decide(admin, Action.USER_ADD, Resource(organisation=ident)), Allowed)
    assert isinstance(decide(admin, Action.USER_ADD, Resource(organisation="BO:B001")), Denied)
    bo_admin = Actor("r", parse_organisation("BO:B001"), frozenset({Role.ADMIN}))
    assert isinstance(decide(bo_admin, Action.USER_ADD, Resource(organisation="K001")), Denied)
