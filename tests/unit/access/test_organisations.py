"""Organisations and the roles each kind may hold, exactly as the spec's table says."""

from __future__ import annotations

import pytest

from clearwatch.domain.access.organisations import (
    Organisation,
    OrganisationKind,
    back_office,
    parse_organisation,
)
from clearwatch.domain.access.roles import ROLES_BY_KIND, Role, check_role_valid_in, parse_role
from clearwatch.domain.shared.errors import Refused


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("SIPF", OrganisationKind.SIPF, "SIPF"),
        ("CSRC", OrganisationKind.CSRC, "CSRC"),
        ("CN-SH", OrganisationKind.BUREAU, "CN-SH"),
        ("CITY-SZ", OrganisationKind.BUREAU, "CITY-SZ"),
        ("B001", OrganisationKind.INSTITUTION, "B001"),
        ("K001", OrganisationKind.INSTITUTION, "K001"),
        ("CSDC", OrganisationKind.INSTITUTION, "CSDC"),
        ("BO:B001", OrganisationKind.BACK_OFFICE, "B001"),
    ],
)
def test_each_kind_of_organisation_is_known_by_its_id(
    text: str, kind: OrganisationKind, code: str
) -> None:
    organisation = parse_organisation(text)
    assert organisation == Organisation(kind, code)
    assert organisation.ident == text


@pytest.mark.parametrize("text", ["", "BO:", "BO:b 1", "sipf", "CN-", "a/b", "B001;drop"])
def test_anything_else_is_refused_by_name(text: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_organisation(text)
    assert refused.value.rule == "organisation_must_be_known"


def test_a_brokers_back_office_is_written_bo_and_its_id() -> None:
    assert back_office("B001").ident == "BO:B001"


def test_the_roles_of_each_kind_are_the_spec_table() -> None:
    spec = {
        OrganisationKind.SIPF: {"analyst", "reviewer", "registry_officer", "admin"},
        OrganisationKind.BUREAU: {"bureau_analyst", "bureau_head"},
        OrganisationKind.CSRC: {"csrc_viewer"},
        OrganisationKind.INSTITUTION: {"submitter", "officer", "viewer"},
        OrganisationKind.BACK_OFFICE: {"operator", "checker", "auditor", "admin"},
    }
    assert {kind: {role.value for role in roles} for kind, roles in ROLES_BY_KIND.items()} == spec
    assert set().union(*spec.values()) == {role.value for role in Role}


def test_a_role_is_valid_only_in_its_kind_and_maker_still_means_operator() -> None:
    assert parse_role("maker") is Role.OPERATOR
    assert check_role_valid_in(Role.CHECKER, OrganisationKind.BACK_OFFICE) is Role.CHECKER
    with pytest.raises(Refused) as refused:
        check_role_valid_in(Role.CHECKER, OrganisationKind.SIPF)
    assert refused.value.rule == "role_must_be_valid_in_organisation"
