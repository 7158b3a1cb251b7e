"""Signing in over the API: tokens, second factors, lockout, expiry, revocation, challenges."""

from __future__ import annotations

from datetime import timedelta

from clearwatch.bootstrap import Application
from clearwatch.domain.access.api_tokens import ApiToken, make_token
from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.api.app import create_app
from tests.api.support import (
    API,
    PASSWORD,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    person,
    totp_of,
)

PROBLEM = "application/problem+json"


def _login(client: TestClient, user_id: str, password: str = PASSWORD, totp: str | None = None):  # type: ignore[no-untyped-def]
    body = {"user_id": user_id, "password": password}
    if totp is not None:
        body["totp"] = totp
    return client.post(f"{API}/auth/login", json=body)


def test_a_person_signs_in_and_the_token_says_who_they_are(
    api_app: Application, client: TestClient
) -> None:
    person(api_app, "B001", Role.SUBMITTER, "alice", password=PASSWORD)
    signed = _login(client, "alice")
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["token_type"] == "bearer" and body["expires_at"]
    me = client.get(
        f"{API}/auth/whoami", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json() == {
        "user_id": "alice",
        "organisation": "B001",
        "roles": ["submitter"],
        "credential": "password",
        "token_id": None,
        "scope": None,
        "second_factor": False,  # a submitter is asked no code
        "may_decide": False,
    }
    assert PASSWORD not in signed.text + me.text


def test_a_deciding_role_needs_its_second_factor_and_a_code_counts_once(
    api_app: Application, client: TestClient
) -> None:
    person(api_app, "BO:B001", Role.CHECKER, "carol", password=PASSWORD)
    without = _login(client, "carol")
    assert without.status_code == 401
    assert without.headers["content-type"] == PROBLEM
    assert without.json()["rule"] == "second_factor_must_be_given"
    assert without.headers["www-authenticate"].startswith("Bearer")
    code = totp_of(api_app, "carol").now()
    assert _login(client, "carol", totp=code).status_code == 200
    reused = _login(client, "carol", totp=code)
    assert reused.status_code == 401, reused.text
    assert reused.json()["rule"] == "second_factor_code_must_not_be_reused"
    # Without the password, the same spent code tells nothing more than any failure.
    guessed = _login(client, "carol", password="not carol's password", totp=code)
    assert guessed.json()["rule"] == "sign_in_must_match_a_user_and_password"


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    api_app: Application, client: TestClient
) -> None:
    person(api_app, "B001", Role.VIEWER, "victor", password=PASSWORD)
    before = audit_head(api_app)
    for attempt in range(5):
        wrong = _login(client, "victor", password=f"not the password {attempt}")
        assert wrong.status_code in (401, 429), wrong.text
    locked = _login(client, "victor")
    assert locked.status_code == 429
    assert locked.json()["rule"] == "account_must_not_be_locked"
    failures = [r for r in audit_records(api_app, before) if r.action == "access.sign_in_failed"]
    assert len(failures) == 6
    assert all("not the password" not in r.payload_json for r in failures)  # never stored
    unknown = _login(client, "nobody")
    assert unknown.status_code == 401
    assert unknown.json()["rule"] == "sign_in_must_match_a_user_and_password"


def test_a_missing_bad_or_expired_bearer_is_a_401_with_a_challenge(
    api_app: Application, client: TestClient
) -> None:
    user = person(api_app, "SIPF", Role.ANALYST)
    missing = client.get(f"{API}/warnings")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="clearwatch"'
    assert missing.json()["rule"] == "caller_must_be_authenticated"
    forged = client.get(f"{API}/warnings", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]
    expired = client.get(f"{API}/warnings", headers=bearer(api_app, user, minutes=-1))
    assert expired.status_code == 401
    assert expired.json()["rule"] == "token_must_be_valid"
    assert "expired" in expired.json()["detail"]
    assert client.get(f"{API}/warnings", headers=bearer(api_app, user)).status_code == 200


def test_a_machine_token_is_shown_once_scoped_audited_and_revocable(
    api_app: Application, client: TestClient
) -> None:
    officer = bearer(api_app, person(api_app, "B001", Role.OFFICER))
    machine = person(api_app, "B001", Role.SUBMITTER, "b001-reporting")
    made = client.post(f"{API}/tokens", headers=officer, json={"user_id": machine, "days": 30})
    assert made.status_code == 201, made.text
    token, token_id = made.json()["token"], made.json()["token_id"]
    assert token.startswith(f"cw_{token_id}_")
    listed = client.get(f"{API}/tokens", headers=officer)
    assert [t["token_id"] for t in listed.json()] == [token_id]
    assert token not in listed.text  # only its hash is kept
    as_machine = {"Authorization": f"Bearer {token}"}
    me = client.get(f"{API}/auth/whoami", headers=as_machine).json()
    assert (me["credential"], me["token_id"], me["scope"]) == ("api_token", token_id, "submit")
    before = audit_head(api_app)
    beyond_scope = client.get(f"{API}/users", headers=as_machine)
    assert beyond_scope.status_code == 403
    assert beyond_scope.json()["rule"] == "token_scope_must_allow_action"
    actions = [r.action for r in audit_records(api_app, before)]
    assert actions == ["access.token_used", "access.denied"]
    revoked = client.delete(f"{API}/tokens/{token_id}", headers=officer)
    assert revoked.json() == {"token_id": token_id, "revoked": True}
    after = client.get(f"{API}/auth/whoami", headers=as_machine)
    assert after.status_code == 401 and "revoked" in after.json()["detail"]
    again = client.delete(f"{API}/tokens/{token_id}", headers=officer)
    assert again.json() == {"token_id": token_id, "revoked": False}


def test_an_expired_machine_token_is_refused(api_app: Application, client: TestClient) -> None:
    machine = person(api_app, "K001", Role.SUBMITTER, "k001-reporting")
    made = make_token()
    now = api_app.real_clock.now()
    with api_app.uow() as uow:
        uow.credentials.add_token(
            ApiToken(
                token_id=made.token_id,
                user_id=machine,
                scope=TokenScope.SUBMIT,
                secret_sha256=made.secret_sha256,
                created_at=now - timedelta(days=2),
                created_by="test-fixture",
                expires_at=now - timedelta(seconds=1),
            )
        )
        uow.commit()
    refused = client.get(f"{API}/auth/whoami", headers={"Authorization": f"Bearer {made.text}"})
    assert refused.status_code == 401
    assert refused.json()["detail"].endswith("is expired")


def test_another_organisations_token_is_not_found_and_the_attempt_audited(
    api_app: Application, client: TestClient
) -> None:
    b001 = bearer(api_app, person(api_app, "B001", Role.OFFICER))
    b002 = bearer(api_app, person(api_app, "B002", Role.OFFICER))
    machine = person(api_app, "B001", Role.SUBMITTER, "b001-reporting")
    token_id = client.post(f"{API}/tokens", headers=b001, json={"user_id": machine}).json()[
        "token_id"
    ]
    before = audit_head(api_app)
    theirs = client.delete(f"{API}/tokens/{token_id}", headers=b002)
    unknown = client.delete(f"{API}/tokens/0123456789abcdef", headers=b002)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["rule"] == unknown.json()["rule"] == "token_must_exist"
    assert [r.action for r in audit_records(api_app, before)] == ["access.denied"] * 2
    viewer = bearer(api_app, person(api_app, "B001", Role.VIEWER))
    assert client.delete(f"{API}/tokens/{token_id}", headers=viewer).status_code == 403


def test_a_server_signs_the_audit_logs_head_when_it_stops(api_app: Application) -> None:
    person(api_app, "B001", Role.VIEWER, "walter", password=PASSWORD)
    checkpoints = api_app.settings.audit_checkpoints_dir
    with TestClient(create_app(api_app, anchor_every_seconds=None)) as client:
        assert _login(client, "walter").status_code == 200  # appends to the audit log
        assert not checkpoints.exists() or not list(checkpoints.glob("*.json"))
    assert list(checkpoints.glob("*.json"))  # signed at shutdown


def test_a_token_is_made_only_for_a_machine_and_never_tells_who_exists_elsewhere(
    api_app: Application, client: TestClient
) -> None:
    """An admin made a token for SIPF's analyst (a person) and read the whole monitor as them;
    and 403 or 404 for another organisation's user or nobody told who exists elsewhere."""
    admin = bearer(api_app, person(api_app, "SIPF", Role.ADMIN))
    analyst = person(api_app, "SIPF", Role.ANALYST, "sipf-analyst", password=PASSWORD)
    as_person = client.post(f"{API}/tokens", headers=admin, json={"user_id": analyst})
    assert as_person.status_code == 422, as_person.text
    assert as_person.json()["rule"] == "token_must_be_for_a_machine"
    officer = bearer(api_app, person(api_app, "B001", Role.OFFICER))
    elsewhere = client.post(f"{API}/tokens", headers=officer, json={"user_id": analyst})
    nobody = client.post(f"{API}/tokens", headers=officer, json={"user_id": "nobody-here"})
    assert elsewhere.status_code == nobody.status_code == 403
    assert elsewhere.json()["rule"] == nobody.json()["rule"]
