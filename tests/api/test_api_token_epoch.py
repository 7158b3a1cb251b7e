"""A change of password or second factor ends the access tokens issued before it (issue 13),
and small reads under 32 concurrent clients open no connection per request."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import event

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.api.app import create_app
from clearwatch.entrypoints.api.store_threads import store_threads_max
from clearwatch.services.access.passwords import enrol_second_factor, set_password
from tests.api.support import API, PASSWORD, TestClient, audit_records, bearer, person

NEW_PASSWORD = "a quite different passphrase"


def _login(client: TestClient, user_id: str, password: str = PASSWORD) -> Any:
    return client.post(f"{API}/auth/login", json={"user_id": user_id, "password": password})


def _token(client: TestClient, user_id: str, password: str = PASSWORD) -> dict[str, str]:
    signed = _login(client, user_id, password)
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['access_token']}"}


def _whoami(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get(f"{API}/auth/whoami", headers=headers)


def test_a_changed_password_ends_the_tokens_issued_before_it(
    api_app: Application, client: TestClient
) -> None:
    person(api_app, "B001", Role.SUBMITTER, "alice", password=PASSWORD)
    before = _token(client, "alice")
    assert _whoami(client, before).status_code == 200
    set_password(
        gate=api_app.gate_of_bearer(before["Authorization"].removeprefix("Bearer ")),
        uow=api_app.uow(),
        tools=api_app.authentication,
        user_id="alice",
        password=NEW_PASSWORD,
    )
    refused = _whoami(client, before)
    assert refused.status_code == 401, refused.text
    assert refused.json()["rule"] == "token_must_be_valid"
    assert "change of password" in refused.json()["detail"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    # A refused bearer reaches no route: the listing answers 401 too, and nothing is listed.
    assert client.get(f"{API}/warnings", headers=before).status_code == 401
    assert _login(client, "alice").status_code == 401  # the old password is gone too
    after = _token(client, "alice", NEW_PASSWORD)
    assert _whoami(client, after).json()["user_id"] == "alice"


def test_an_admins_reset_and_a_new_second_factor_end_them_too(
    api_app: Application, client: TestClient
) -> None:
    admin = person(api_app, "BO:B001", Role.ADMIN)
    person(api_app, "BO:B001", Role.OPERATOR, "olga", password=PASSWORD)
    gate = api_app.gate(local_caller(admin))
    first = _token(client, "olga")
    set_password(
        gate=gate, uow=api_app.uow(), tools=api_app.authentication, user_id="olga",
        password=NEW_PASSWORD,
    )  # fmt: skip
    assert _whoami(client, first).status_code == 401
    second = _token(client, "olga", NEW_PASSWORD)
    assert _whoami(client, second).status_code == 200
    enrol_second_factor(gate=gate, uow=api_app.uow(), tools=api_app.authentication, user_id="olga")
    assert _whoami(client, second).status_code == 401
    # Each change was audited as before; the refusals changed nothing else.
    actions = [record.action for record in audit_records(api_app)]
    assert actions.count("access.password_set") == 1
    assert actions.count("access.second_factor_enrolled") == 1


def test_a_token_without_its_credential_epoch_is_refused(
    api_app: Application, client: TestClient
) -> None:
    """Signed with the store's own key, as tokens were before 0840: sign in again."""
    user = person(api_app, "SIPF", Role.ANALYST)
    current = bearer(api_app, user)  # the store's key is made at its first use
    now = api_app.real_clock.now()
    claims = {
        "sub": user, "jti": "x" * 32, "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iss": "clearwatch", "aud": "clearwatch-api",
    }  # fmt: skip
    key = api_app.settings.access_key_path.read_bytes()
    old = {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm='HS256')}"}
    refused = _whoami(client, old)
    assert refused.status_code == 401
    assert "cep" in refused.json()["detail"]
    assert _whoami(client, current).status_code == 200


def test_concurrent_small_reads_reuse_the_stores_connections(api_app: Application) -> None:
    """32 clients at once, five rounds: connections are opened only up to the threads that
    hold one at once (the pool keeps them), never per request (with SQLAlchemy's default
    5 + 10 overflow, eight store threads opened and closed dozens); every answer the same."""
    headers = bearer(api_app, person(api_app, "CITY-SZ", Role.BUREAU_ANALYST))
    app = create_app(api_app, anchor_every_seconds=None)
    opened: list[object] = []
    event.listen(api_app.engine, "connect", lambda connection, _record: opened.append(connection))

    async def round_of(client: httpx.AsyncClient) -> set[str]:
        answers = await asyncio.gather(
            *(client.get(f"{API}/warnings", headers=headers) for _ in range(32))
        )
        assert {answer.status_code for answer in answers} == {200}
        return {answer.text for answer in answers}

    async def rounds() -> set[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return {text for _ in range(5) for text in await round_of(client)}

    assert len(asyncio.run(rounds())) == 1
    assert len(opened) <= store_threads_max, opened  # 160 requests
