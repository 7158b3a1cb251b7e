"""Registering users: one organisation each, roles valid there, the policy decides who may."""

from __future__ import annotations

from datetime import datetime

import pytest

from clearwatch.domain.access.approvals import AccessRejection
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.users import add_user, grant_role

from .fakes import FakeAccessUnitOfWork

AT = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)


def _add(uow: FakeAccessUnitOfWork, user_id: str, role: Role, organisation: str, actor: str):
    return add_user(
        uow=uow, user_id=user_id, roles=[role], organisation=organisation, actor=actor, at=AT
    )


def _rule(call) -> str:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.rule


def test_the_first_user_of_an_empty_store_must_be_an_admin() -> None:
    uow = FakeAccessUnitOfWork()
    assert _rule(lambda: _add(uow, "mia", Role.OPERATOR, "BO:B001", "bootstrap")) == (
        "first_user_must_be_admin"
    )
    root = _add(uow, "root", Role.ADMIN, "SIPF", "bootstrap")
    assert (root.organisation.ident, root.roles) == ("SIPF", frozenset({Role.ADMIN}))
    # Once anyone exists, the bootstrap name is nobody.
    assert _rule(lambda: _add(uow, "eve", Role.ADMIN, "SIPF", "bootstrap")) == (
        "actor_must_be_registered"
    )


def test_a_role_outside_the_organisations_kind_is_refused() -> None:
    uow = FakeAccessUnitOfWork()
    assert _rule(lambda: _add(uow, "root", Role.ADMIN, "CN-SH", "bootstrap")) == (
        "role_must_be_valid_in_organisation"
    )
    _add(uow, "root", Role.ADMIN, "SIPF", "bootstrap")
    assert _rule(lambda: _add(uow, "x", Role.CHECKER, "K001", "root")) == (
        "role_must_be_valid_in_organisation"
    )
    _add(uow, "k1", Role.OFFICER, "K001", "root")
    assert _rule(
        lambda: grant_role(uow=uow, user_id="k1", role=Role.CHECKER, actor="root", at=AT)
    ) == ("role_must_be_valid_in_organisation")


def test_sipfs_admin_registers_the_monitors_parties_a_back_office_admin_only_its_own() -> None:
    uow = FakeAccessUnitOfWork()
    _add(uow, "root", Role.ADMIN, "SIPF", "bootstrap")
    for user_id, role, ident in (
        ("h", Role.BUREAU_HEAD, "CN-SH"),
        ("c", Role.CSRC_VIEWER, "CSRC"),
        ("k", Role.SUBMITTER, "K001"),
    ):
        assert _add(uow, user_id, role, ident, "root").organisation.ident == ident
    assert _rule(lambda: _add(uow, "m", Role.OPERATOR, "BO:B001", "root")) == (
        "policy_must_allow_action"
    )


def test_a_denial_changes_nothing_and_is_audited() -> None:
    uow = FakeAccessUnitOfWork()
    uow.add_user("boss", Role.ADMIN, at=AT, organisation="BO:B001")
    uow.add_user("mia", Role.OPERATOR, at=AT, organisation="BO:B001")
    before = [user.user_id for user in uow.access.users()]
    assert _rule(lambda: _add(uow, "eve", Role.CHECKER, "BO:B001", "mia")) == (
        "policy_must_allow_action"
    )
    assert _rule(lambda: _add(uow, "eve", Role.CHECKER, "BO:B002", "boss")) == (
        "policy_must_allow_action"
    )
    assert [user.user_id for user in uow.access.users()] == before
    assert uow.audit_trail() == [
        ("mia", "access.denied", "action:user.add"),
        ("boss", "access.denied", "action:user.add"),
    ]


def test_granting_a_role_to_nobody_names_the_missing_user() -> None:
    uow = FakeAccessUnitOfWork()
    uow.add_user("boss", Role.ADMIN, at=AT)
    assert _rule(
        lambda: grant_role(uow=uow, user_id="ghost", role=Role.CHECKER, actor="boss", at=AT)
    ) == (AccessRejection.USER_MUST_BE_REGISTERED)
