"""A role that decides counts only for a sign-in that verified a second factor (issue 13).

An operator signs in without a code (their roles decide nothing), then receives an emergency
`checker` grant: the token, the web session and the CLI's token of that sign-in still approve
nothing, refused by name and audited; signed in again with the code, the same person approves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import jwt
import pyotp

from clearwatch.bootstrap import Application, build_application
from clearwatch.config import Settings
from clearwatch.domain.access.callers import (
    SCOPE_ACTIONS,
    SECOND_FACTOR_REQUIRED_FOR_DECIDING_ROLE,
    local_caller,
)
from clearwatch.domain.access.credentials import DECIDING_ROLES
from clearwatch.domain.access.policy import POLICY
from clearwatch.domain.access.roles import Role
from clearwatch.services.access import approvals
from clearwatch.services.access.sign_in import sign_in
from tests.api.support import (
    API,
    PASSWORD,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    client_of,
    person,
    totp_of,
)
from tests.web.support import WEB, csrf_of

RULE = SECOND_FACTOR_REQUIRED_FOR_DECIDING_ROLE
OFFICE = "BO:B001"


def _duty_officer(app: Application) -> str:
    """An operator with a password and an enrolled second factor (an admin enrolled it, as
    for anyone who may stand in for a checker); their roles need no code at sign-in."""
    olga = person(app, OFFICE, Role.OPERATOR, "olga", password=PASSWORD)
    with app.uow() as uow:
        uow.credentials.set_second_factor(user_id=olga, secret=pyotp.random_base32())
        uow.commit()
    return olga


def _grant_checker_and_ask(app: Application, grantee: str) -> int:
    """The admin asks, the checker approves `grantee` as checker for 8 hours; then the admin
    asks for another grant, the request `grantee` will try to approve. Its id."""
    admin = person(app, OFFICE, Role.ADMIN)
    checker = person(app, OFFICE, Role.CHECKER)
    omar = person(app, OFFICE, Role.OPERATOR, "omar")
    now = app.real_clock.now()
    asked = approvals.request_emergency_grant_committed(
        uow=app.uow(), user_id=grantee, role=Role.CHECKER, hours=8, reason="the checker is ill",
        maker=admin, at=now,
    )  # fmt: skip
    approvals.approve_committed(uow=app.uow(), request_id=asked.request_id, checker=checker, at=now)
    pending = approvals.request_emergency_grant_committed(
        uow=app.uow(), user_id=omar, role=Role.CHECKER, hours=4, reason="night shift",
        maker=admin, at=now,
    )  # fmt: skip
    return pending.request_id


def _status(app: Application, request_id: int) -> str:
    with app.read_uow() as uow:
        found = uow.access.request(request_id)
    assert found is not None
    return found.status.value


def _denials(app: Application, after_seq: int) -> list[tuple[str, str, str]]:
    return [
        (r.actor, r.object_ref, json.loads(r.payload_json)["rule"])
        for r in audit_records(app, after_seq)
        if r.action == "access.denied"
    ]


def _login(client: TestClient, user_id: str, code: str | None = None) -> Any:
    body = {"user_id": user_id, "password": PASSWORD, **({"totp": code} if code else {})}
    return client.post(f"{API}/auth/login", json=body)


def _bearer_of(answer: Any) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_an_emergency_checker_without_a_code_at_sign_in_approves_nothing_over_the_api(
    api_app: Application, client: TestClient
) -> None:
    olga = _duty_officer(api_app)
    plain = _bearer_of(_login(client, olga))  # an operator: no code asked
    request_id = _grant_checker_and_ask(api_app, olga)
    head = audit_head(api_app)
    refused = client.post(f"{API}/approvals/{request_id}/approve", headers=plain)
    assert refused.status_code == 403, refused.text
    assert refused.json()["rule"] == RULE
    assert "sign in again with your code" in refused.json()["detail"]
    assert _denials(api_app, head) == [(olga, "action:approvals.approve", RULE)]
    assert _status(api_app, request_id) == "pending"
    # The grant is hers all the same, and what an operator may do she still does.
    whoami = client.get(f"{API}/auth/whoami", headers=plain)
    assert whoami.status_code == 200 and "checker" in whoami.json()["roles"]
    assert (whoami.json()["second_factor"], whoami.json()["may_decide"]) == (False, False)
    assert client.get(f"{API}/approvals", headers=plain).status_code == 200
    # Signing in again now asks for the code (she holds a deciding role); with it, she approves.
    again = _login(client, olga)
    assert again.status_code == 401 and again.json()["rule"] == "second_factor_must_be_given"
    coded = _bearer_of(_login(client, olga, totp_of(api_app, olga).now()))
    whoami = client.get(f"{API}/auth/whoami", headers=coded).json()
    assert (whoami["second_factor"], whoami["may_decide"]) == (True, True)
    approved = client.post(f"{API}/approvals/{request_id}/approve", headers=coded)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_a_token_whose_sign_in_gave_no_code_decides_nothing_whatever_its_roles(
    api_app: Application, client: TestClient
) -> None:
    """A permanent checker's token without the second-factor claim (as one from before the
    claim existed): refused by the rule; a machine's scopes hold no action only a deciding
    role is given; a local job is trusted as before."""
    checker = person(api_app, OFFICE, Role.CHECKER, "carl")
    request_id = _grant_checker_and_ask(api_app, person(api_app, OFFICE, Role.OPERATOR, "otto"))
    without = bearer(api_app, checker, second_factor=False)
    refused = client.post(f"{API}/approvals/{request_id}/approve", headers=without)
    assert refused.status_code == 403 and refused.json()["rule"] == RULE
    assert _status(api_app, request_id) == "pending"
    # Only a signed `true` is a second factor: a claim of any other value counts as none.
    now = api_app.real_clock.now()
    claims = {
        "sub": checker, "cep": 0, "sfa": "true", "jti": "y" * 32, "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 300, "iss": "clearwatch", "aud": "clearwatch-api",
    }  # fmt: skip
    key = api_app.settings.access_key_path.read_bytes()
    texty = {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm='HS256')}"}
    refused = client.post(f"{API}/approvals/{request_id}/approve", headers=texty)
    assert refused.status_code == 403 and refused.json()["rule"] == RULE
    for actions in SCOPE_ACTIONS.values():
        for action in actions:
            given_to = {rule.role for rule in POLICY if rule.action is action}
            assert given_to - DECIDING_ROLES, f"{action} is only for deciding roles"
    gate = api_app.gate(local_caller(checker))
    assert gate.caller.may_decide  # local: trusted, no code asked
    approvals.approve_committed(
        uow=api_app.uow(), request_id=request_id, checker=gate.user_id,
        at=api_app.real_clock.now(),
    )  # fmt: skip
    assert _status(api_app, request_id) == "approved"


def _web_login(client: TestClient, user_id: str, code: str | None = None) -> None:
    form = client.get(f"{WEB}/login")
    fields = {"user_id": user_id, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    if code:
        fields["totp"] = code
    landed = client.post(f"{WEB}/login", data=fields, follow_redirects=True)
    assert landed.status_code == 200, landed.text[:500]


def _web_approve(client: TestClient, request_id: int) -> Any:
    queue = client.get(f"{WEB}/approvals")
    assert queue.status_code == 200
    return client.post(
        f"{WEB}/approvals/{request_id}/approve",
        data={"csrf_token": csrf_of(queue.text)},
        follow_redirects=False,
    )


def test_a_web_session_opened_without_a_code_approves_nothing_after_a_grant(
    api_app: Application,
) -> None:
    olga = _duty_officer(api_app)
    browser = client_of(api_app)
    _web_login(browser, olga)
    request_id = _grant_checker_and_ask(api_app, olga)
    head = audit_head(api_app)
    refused = _web_approve(browser, request_id)
    assert refused.status_code == 403 and RULE in refused.text
    assert 'id="sign-in-again"' in refused.text and "请使用验证码重新登录" in refused.text
    assert _denials(api_app, head) == [(olga, "action:approvals.approve", RULE)]
    assert _status(api_app, request_id) == "pending"
    fresh = client_of(api_app)
    _web_login(fresh, olga, totp_of(api_app, olga).now())
    approved = _web_approve(fresh, request_id)
    assert approved.status_code == 303, approved.text[:500]
    assert _status(api_app, request_id) == "approved"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_clis_token_of_a_sign_in_without_a_code_approves_nothing_after_a_grant(
    cli_env: dict[str, str],
) -> None:
    app = build_application(Settings.from_environment(cli_env))
    try:
        app.init_schema()
        olga = _duty_officer(app)
        at = app.real_clock.now()
        tools = app.authentication
        plain = sign_in(uow=app.uow(), tools=tools, user_id=olga, password=PASSWORD, code=None,
                        at=at)  # fmt: skip
        request_id = _grant_checker_and_ask(app, olga)
        code = totp_of(app, olga).now()
        coded = sign_in(uow=app.uow(), tools=tools, user_id=olga, password=PASSWORD, code=code,
                        at=app.real_clock.now())  # fmt: skip
    finally:
        app.dispose()
    refused = _cli({**cli_env, "CLEARWATCH_TOKEN": plain.access_token},
                   "approvals", "approve", str(request_id))  # fmt: skip
    assert refused.returncode == 3, refused.stderr
    assert RULE in refused.stderr and "sign in again with your code" in refused.stderr
    approved = _cli({**cli_env, "CLEARWATCH_TOKEN": coded.access_token},
                    "approvals", "approve", str(request_id))  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert "approved" in approved.stdout
