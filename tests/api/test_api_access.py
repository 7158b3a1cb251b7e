"""People and approvals over the API: registration with a password and a second factor shown
once, emergency grants capped on every path, maker-checker, and the body-size limit."""

from __future__ import annotations

import re

import pyotp

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import (
    API,
    PASSWORD,
    TestClient,
    audit_head,
    audit_records,
    bearer,
    person,
)


def test_an_admin_registers_a_checker_who_signs_in_with_the_factor_shown_once(
    api_app: Application, client: TestClient
) -> None:
    admin = bearer(api_app, person(api_app, "BO:B001", Role.ADMIN))
    head = audit_head(api_app)
    made = client.post(
        f"{API}/users",
        headers=admin,
        json={"user_id": "dora", "organisation": "BO:B001", "roles": ["checker"],
              "password": PASSWORD},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["roles"] == ["checker"]
    uri = made.json()["second_factor_uri"]
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)  # type: ignore[union-attr]
    assert PASSWORD not in made.text
    assert all(PASSWORD not in r.payload_json for r in audit_records(api_app, head))
    login = {"user_id": "dora", "password": PASSWORD, "totp": pyotp.TOTP(secret).now()}
    assert client.post(f"{API}/auth/login", json=login).status_code == 200
    listed = client.get(f"{API}/users", headers=admin).json()
    assert "second_factor_uri" not in listed[0]
    short = client.post(
        f"{API}/users",
        headers=admin,
        json={"user_id": "eve", "organisation": "BO:B001", "roles": ["operator"],
              "password": "too short"},
    )  # fmt: skip
    assert short.status_code == 422 and short.json()["rule"] == "password_must_have_12_characters"
    again = client.post(
        f"{API}/users",
        headers=admin,
        json={"user_id": "dora", "organisation": "BO:B001", "roles": ["operator"]},
    )
    assert again.status_code == 409 and again.json()["rule"] == "user_must_not_exist_already"


def test_an_emergency_grant_is_capped_on_every_path_and_approved_by_another_person(
    api_app: Application, client: TestClient
) -> None:
    admin = bearer(api_app, person(api_app, "BO:B001", Role.ADMIN))
    checker = bearer(api_app, person(api_app, "BO:B001", Role.CHECKER))
    grantee = person(api_app, "BO:B001", Role.OPERATOR)
    too_long = {"role": "checker", "hours": 25, "reason": "long leave"}
    capped = client.post(f"{API}/users/{grantee}/emergency-grants", json=too_long, headers=admin)
    assert capped.status_code == 422 and capped.json()["rule"] == "request_must_match_schema"
    subject = f"user:{grantee}/role:checker"
    for terms, rule in (
        ({"expires_at": "2099-01-01T00:00:00+08:00"}, "grant_must_not_exceed_hours_max"),
        ({"hours": 48}, "grant_must_not_exceed_hours_max"),
        ({}, "grant_terms_must_name_user_role_and_hours"),
    ):
        payload = {"user": grantee, "role": "checker", "reason": "x", **terms}
        generic = client.post(
            f"{API}/approvals",
            headers=admin,
            json={"kind": "emergency_grant", "subject_ref": subject, "payload": payload},
        )
        assert generic.status_code == 422 and generic.json()["rule"] == rule, generic.text
    asked = client.post(
        f"{API}/users/{grantee}/emergency-grants",
        json={"role": "checker", "hours": 8, "reason": "the checker is ill"},
        headers=admin,
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["request_id"]
    head = audit_head(api_app)
    by_admin = client.post(f"{API}/approvals/{request_id}/approve", headers=admin)
    assert by_admin.status_code == 403
    assert [r.action for r in audit_records(api_app, head)] == ["access.denied"]
    approved = client.post(f"{API}/approvals/{request_id}/approve", headers=checker)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    twice = client.post(f"{API}/approvals/{request_id}/approve", headers=checker)
    assert twice.status_code == 409 and twice.json()["rule"] == "request_must_be_pending"
    missing = client.post(f"{API}/approvals/424242/approve", headers=checker)
    assert missing.status_code == 404 and missing.json()["rule"] == "request_must_exist"
    users = {u["user_id"]: u for u in client.get(f"{API}/users", headers=admin).json()}
    [grant] = users[grantee]["emergency_grants"]
    assert grant["role"] == "checker" and grant["in_force"] is True
    listed = client.get(f"{API}/approvals", params={"status": "all"}, headers=checker).json()
    assert [(a["request_id"], a["status"]) for a in listed] == [(request_id, "approved")]


def test_a_json_body_past_its_limit_is_a_413_before_it_is_read(
    api_app: Application, client: TestClient
) -> None:
    admin = bearer(api_app, person(api_app, "BO:B001", Role.OPERATOR))
    huge = '{"kind": "override", "subject_ref": "x", "payload": {"p": "' + "x" * 2_000_000 + '"}}'
    declared = client.post(
        f"{API}/approvals", content=huge, headers={**admin, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["rule"] == "json_body_must_fit_limit"

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536].encode()

    streamed = client.post(
        f"{API}/approvals", content=chunks(), headers={**admin, "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["rule"] == "json_body_must_fit_limit"


def test_a_request_naming_a_client_is_listed_masked_unless_the_evidence_is_asked_for(
    api_app: Application, client: TestClient
) -> None:
    operator = bearer(api_app, person(api_app, "BO:B001", Role.OPERATOR))
    checker = bearer(api_app, person(api_app, "BO:B001", Role.CHECKER))
    auditor_id = person(api_app, "BO:B001", Role.AUDITOR)
    auditor = bearer(api_app, auditor_id)
    payload = {"fund_account": "F100001", "amount": "-12.00", "reason": "a fee booked twice"}
    body = {"kind": "manual_adjustment", "subject_ref": "account:B001:F100001", "payload": payload}
    asked = client.post(f"{API}/approvals", headers=operator, json=body)
    assert asked.status_code == 201, asked.text
    assert asked.json()["subject_ref"] == "account:B001:***001"  # the answer is printed
    [masked] = client.get(f"{API}/approvals", headers=auditor).json()
    assert (masked["subject_ref"], masked["payload"]["fund_account"]) == (
        "account:B001:***001", "***001"
    )  # fmt: skip
    assert masked["payload"]["amount"] == "-12.00"
    # The checker who approves it sees whom it is about, when asking for the evidence.
    [whole] = client.get(f"{API}/approvals?evidence=true", headers=checker).json()
    assert (whole["subject_ref"], whole["payload"]) == ("account:B001:F100001", payload)
    head = audit_head(api_app)
    refused = client.get(f"{API}/approvals?evidence=true", headers=auditor)
    assert refused.status_code == 403 and "F100001" not in refused.text
    [denial] = audit_records(api_app, head)
    assert (denial.action, denial.actor, denial.object_ref) == (
        "access.denied", auditor_id, "action:broker.evidence"
    )  # fmt: skip
