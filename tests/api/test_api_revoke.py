"""An admin takes a permanent role back (issue 13): over the API, the web and the CLI, audited,
never their own, never another organisation's, and in force from the holder's next request."""

from __future__ import annotations

import json
import subprocess
import sys

from clearwatch.bootstrap import Application, build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from clearwatch.services.access import approvals
from tests.api.support import (
    API,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    client_of,
    person,
    row_counts,
)
from tests.web.support import WEB, csrf_of, sign_in

OFFICE = "BO:B001"


def _roles_of(app: Application, user_id: str) -> set[str]:
    with app.read_uow() as uow:
        user = uow.access.user(user_id)
    assert user is not None
    return {role.value for role in user.roles}


def _pending(app: Application) -> int:
    maker = person(app, OFFICE, Role.OPERATOR)
    asked = approvals.request_approval_committed(
        uow=app.uow(), kind="override", subject_ref=f"revoke:{audit_head(app)}", payload={},
        maker=maker, at=app.real_clock.now(),
    )  # fmt: skip
    return asked.request_id


def test_a_revoked_role_counts_for_nothing_from_the_holders_next_request(
    api_app: Application, client: TestClient
) -> None:
    admin = person(api_app, OFFICE, Role.ADMIN)
    as_admin = bearer(api_app, admin)
    carl = person(api_app, OFFICE, Role.CHECKER, "carl")
    as_carl = bearer(api_app, carl)
    first = client.post(f"{API}/approvals/{_pending(api_app)}/approve", headers=as_carl)
    assert first.status_code == 200, first.text
    head = audit_head(api_app)
    revoked = client.delete(f"{API}/users/{carl}/roles/checker", headers=as_admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"user_id": carl, "role": "checker", "revoked": True}
    [record] = audit_records(api_app, head)
    assert (record.action, record.actor, record.object_ref) == ("user.role_revoked", admin,
                                                                "user:carl")  # fmt: skip
    assert json.loads(record.payload_json) == {"role": "checker", "organisation": OFFICE}
    # The same token, the next request: the role is gone.
    second = client.post(f"{API}/approvals/{_pending(api_app)}/approve", headers=as_carl)
    assert second.status_code == 403 and second.json()["rule"] == "policy_must_allow_action"
    head = audit_head(api_app)
    again = client.delete(f"{API}/users/{carl}/roles/checker", headers=as_admin)
    assert again.status_code == 200 and again.json()["revoked"] is False
    assert audit_records(api_app, head) == []  # nothing taken back, nothing recorded
    assert _roles_of(api_app, carl) == set()


def test_nobody_revokes_their_own_role_or_another_organisations(
    api_app: Application, client: TestClient
) -> None:
    admin = person(api_app, OFFICE, Role.ADMIN)
    own = client.delete(f"{API}/users/{admin}/roles/admin", headers=bearer(api_app, admin))
    assert own.status_code == 422 and own.json()["rule"] == "role_must_not_be_revoked_by_its_holder"
    assert _roles_of(api_app, admin) == {"admin"}
    other_admin = person(api_app, "BO:B002", Role.ADMIN)
    carl = person(api_app, OFFICE, Role.CHECKER, "carl")
    before, head = row_counts(api_app), audit_head(api_app)
    foreign = client.delete(f"{API}/users/{carl}/roles/checker",
                            headers=bearer(api_app, other_admin))  # fmt: skip
    assert foreign.status_code == 403 and foreign.json()["rule"] == "policy_must_allow_action"
    assert row_counts(api_app) == before
    assert [(r.action, r.actor) for r in audit_records(api_app, head)] == [
        ("access.denied", other_admin)
    ]
    checker = bearer(api_app, carl)
    assert client.delete(f"{API}/users/{admin}/roles/admin", headers=checker).status_code == 403
    unknown = client.delete(f"{API}/users/nobody/roles/checker", headers=bearer(api_app, admin))
    assert unknown.status_code == 404
    assert _roles_of(api_app, carl) == {"checker"}


def test_the_access_page_revokes_a_role_with_its_button(api_app: Application) -> None:
    browser = client_of(api_app)
    sign_in(browser, api_app, OFFICE, Role.ADMIN)
    auditor = person(api_app, OFFICE, Role.AUDITOR, "ada")
    page = browser.get(f"{WEB}/access")
    assert page.status_code == 200 and 'id="revoke-button"' in page.text
    assert "收回角色" in page.text
    answer = browser.post(
        f"{WEB}/access/revocations",
        data={"user_id": auditor, "role": "auditor", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert _roles_of(api_app, auditor) == set()
    forged = browser.post(f"{WEB}/access/revocations", data={"user_id": auditor, "role": "x"})
    assert forged.status_code == 403  # no CSRF token: refused before anything


def test_the_cli_revokes_a_role_beside_its_grant(cli_env: dict[str, str]) -> None:
    app = build_application(Settings.from_environment(cli_env))
    try:
        app.init_schema()
        admin = person(app, OFFICE, Role.ADMIN)
        carl = person(app, OFFICE, Role.CHECKER, "carl")
        token = bearer(app, admin)["Authorization"].removeprefix("Bearer ")
    finally:
        app.dispose()
    env = {**cli_env, "CLEARWATCH_TOKEN": token}
    ran = subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", "user", "revoke", carl, "checker"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "carl no longer holds checker" in ran.stdout
    app = build_application(Settings.from_environment(cli_env))
    try:
        assert _roles_of(app, carl) == set()
    finally:
        app.dispose()


def test_revoking_a_role_ends_an_emergency_grant_of_it_before_its_hours_are_out(
    api_app: Application, client: TestClient
) -> None:
    admin, checker = person(api_app, OFFICE, Role.ADMIN), person(api_app, OFFICE, Role.CHECKER)
    olga = person(api_app, OFFICE, Role.OPERATOR, "olga")
    now = api_app.real_clock.now()
    asked = approvals.request_emergency_grant_committed(
        uow=api_app.uow(), user_id=olga, role=Role.CHECKER, hours=8, reason="the checker is ill",
        maker=admin, at=now,
    )  # fmt: skip
    approvals.approve_committed(
        uow=api_app.uow(), request_id=asked.request_id, checker=checker, at=now
    )
    as_olga, as_admin = bearer(api_app, olga), bearer(api_app, admin)
    first = client.post(f"{API}/approvals/{_pending(api_app)}/approve", headers=as_olga)
    assert first.status_code == 200, first.text
    # The emergency is over: the admin takes the role back; olga never held it permanently.
    head = audit_head(api_app)
    revoked = client.delete(f"{API}/users/{olga}/roles/checker", headers=as_admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"user_id": olga, "role": "checker", "revoked": True}
    [record] = audit_records(api_app, head)
    with api_app.read_uow() as uow:
        [grant] = uow.access.grants_of(olga)
    assert json.loads(record.payload_json) == {
        "role": "checker", "organisation": OFFICE, "permanent": False,
        "grants_ended": [grant.grant_id],
    }  # fmt: skip
    assert grant.ended_at is not None and grant.ended_at < grant.expires_at
    # Her next request, with the same token, decides nothing.
    second = client.post(f"{API}/approvals/{_pending(api_app)}/approve", headers=as_olga)
    assert second.status_code == 403 and second.json()["rule"] == "policy_must_allow_action"
    # Its whole life stays listed: approved, ended, no longer in force; ended once only.
    listed = client.get(f"{API}/users", headers=as_admin).json()
    [shown] = [g for u in listed if u["user_id"] == olga for g in u["emergency_grants"]]
    assert shown["in_force"] is False and shown["ended_at"] is not None
    again = client.delete(f"{API}/users/{olga}/roles/checker", headers=as_admin)
    assert again.status_code == 200 and again.json()["revoked"] is False
