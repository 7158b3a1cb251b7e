"""Signing in and proving it (spec platform §2), on SQLite and PostgreSQL, with real argon2,
real TOTP codes and real signed tokens; times are passed in, as the real clock would give."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import CredentialKind, TokenScope
from clearwatch.domain.access.policy import Action
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.api_tokens import create_token, revoke_token
from clearwatch.services.access.sign_in import authenticate, sign_in
from clearwatch.services.access.users import register_person

PASSWORD = "correct horse battery staple"


def _person(app: Application, user_id: str, organisation: str, role: Role) -> pyotp.TOTP | None:
    """Register (the first of an empty store unsigned, later ones by `root`)."""
    with app.read_uow() as uow:
        first = not uow.access.users()
    registered = register_person(
        uow=app.uow(),
        tools=app.authentication,
        user_id=user_id,
        roles=[role],
        organisation=organisation,
        password=PASSWORD,
        actor=None if first else "root",
        at=app.real_clock.now(),
    )
    uri = registered.second_factor_uri
    return None if uri is None else pyotp.parse_uri(uri)  # type: ignore[return-value]


def _sign_in(app: Application, user_id: str, password: str = PASSWORD, code: str | None = None,
             at_offset: timedelta = timedelta()) -> str:  # fmt: skip
    return sign_in(
        uow=app.uow(),
        tools=app.authentication,
        user_id=user_id,
        password=password,
        code=code,
        at=app.real_clock.now() + at_offset,
    ).access_token


def _auth(app: Application, presented: str, at: datetime) -> object:
    return authenticate(uow=app.uow(), tools=app.authentication, presented=presented, at=at)


def _rule(call: object) -> str:
    with pytest.raises(Refused) as refused:
        call()  # type: ignore[operator]
    return refused.value.rule


def _audited(app: Application, action: str) -> int:
    with app.read_uow() as uow:
        return sum(1 for r in uow.audit.records() if r.action == action)


def test_a_deciding_role_signs_in_with_a_code_used_once(app: Application) -> None:
    totp = _person(app, "root", "SIPF", Role.ADMIN)
    assert totp is not None
    assert _rule(lambda: _sign_in(app, "root")) == "second_factor_must_be_given"
    code = totp.now()
    token = _sign_in(app, "root", code=code)
    caller = authenticate(uow=app.uow(), tools=app.authentication, presented=token,
                          at=app.real_clock.now())  # fmt: skip
    assert (caller.user_id, caller.credential) == ("root", CredentialKind.PASSWORD)
    # Spent: said so, since the password checked out.
    assert _rule(lambda: _sign_in(app, "root", code=code)) == (
        "second_factor_code_must_not_be_reused"
    )
    assert _person(app, "ana", "SIPF", Role.ANALYST) is None  # no deciding role, no factor
    assert _sign_in(app, "ana")


def test_five_failures_lock_for_a_minute_then_twice_as_long(app: Application) -> None:
    _person(app, "root", "SIPF", Role.ADMIN)
    _person(app, "ana", "SIPF", Role.ANALYST)
    for _ in range(5):
        assert _rule(lambda: _sign_in(app, "ana", password="wrong wrong wrong")) == (
            "sign_in_must_match_a_user_and_password"
        )
    assert _rule(lambda: _sign_in(app, "ana")) == "account_must_not_be_locked"
    assert _sign_in(app, "ana", at_offset=timedelta(seconds=61))  # the lock lapsed; reset
    for _ in range(5):
        _rule(
            lambda: _sign_in(
                app, "ana", password="wrong wrong wrong", at_offset=timedelta(seconds=62)
            )
        )
    assert _rule(lambda: _sign_in(app, "ana", at_offset=timedelta(seconds=100))) == (
        "account_must_not_be_locked"
    )
    assert _audited(app, "access.sign_in_failed") == 12  # ten wrong, two while locked
    assert _rule(lambda: _sign_in(app, "nobody")) == "sign_in_must_match_a_user_and_password"


def test_a_short_password_is_refused_and_never_stored(app: Application) -> None:
    rule = _rule(
        lambda: register_person(
            uow=app.uow(), tools=app.authentication, user_id="root", roles=[Role.ADMIN],
            organisation="SIPF", password="short", actor=None, at=app.real_clock.now(),
        )
    )  # fmt: skip
    assert rule == "password_must_have_12_characters"
    with app.read_uow() as uow:
        assert uow.access.users() == []


def test_an_expired_or_foreign_access_token_is_refused(app: Application, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _person(app, "root", "SIPF", Role.ADMIN)
    past = app.real_clock.now() - timedelta(hours=2)
    expired = app.authentication.signer.issue(
        user_id="root", issued_at=past, expires_at=past + timedelta(hours=1)
    )
    now = app.real_clock.now()
    assert _rule(lambda: _auth(app, expired, now)) == "token_must_be_valid"
    from clearwatch.adapters.identity import JwtAccessTokens

    foreign = JwtAccessTokens(tmp_path / "other.key").issue(
        user_id="root", issued_at=now, expires_at=now + timedelta(hours=1)
    )
    assert _rule(lambda: _auth(app, foreign, now)) == "token_must_be_valid"


def test_a_machine_token_is_scoped_expires_and_is_revoked(app: Application) -> None:
    from tests.support.identities import gate_of, registered

    officer = gate_of(app, "K001", Role.OFFICER)
    registered(app, "k-system", "K001", Role.SUBMITTER)
    issued = create_token(gate=officer, uow=app.uow(), user_id="k-system",
                          scope=TokenScope.SUBMIT, days=30)  # fmt: skip
    now = app.real_clock.now()
    caller = authenticate(uow=app.uow(), tools=app.authentication, presented=issued.text, at=now)
    assert (caller.user_id, caller.scope) == ("k-system", TokenScope.SUBMIT)
    assert _audited(app, "access.token_used") == 1
    machine = app.gate(caller)
    assert _rule(lambda: machine.check_credential(Action.USER_LIST)) == (
        "token_scope_must_allow_action"
    )
    later = now + timedelta(days=31)
    assert _rule(lambda: _auth(app, issued.text, later)) == "token_must_be_valid"
    outsider = gate_of(app, "B001", Role.OFFICER)
    token_id = issued.token.token_id
    assert _rule(lambda: revoke_token(gate=outsider, uow=app.uow(), token_id=token_id)) == (
        "policy_must_allow_action"
    )
    assert revoke_token(gate=officer, uow=app.uow(), token_id=token_id)
    assert _rule(lambda: _auth(app, issued.text, now)) == "token_must_be_valid"
    tampered = issued.text[:-2] + ("AA" if not issued.text.endswith("AA") else "BB")
    assert _rule(lambda: _auth(app, tampered, now)) == "token_must_be_valid"
