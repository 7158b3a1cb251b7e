"""The access page over HTTP: an organisation's users (for its admin) and its machines' tokens,
made (shown once) and revoked; another organisation's token is not found."""

from __future__ import annotations

import re

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import ApprovalKind, ApprovalStatus
from clearwatch.domain.access.roles import Role
from clearwatch.domain.intraday.halt_lifts import HaltState
from clearwatch.entrypoints.web.i18n import Language, load_catalogues
from clearwatch.services.backoffice.breaks import RESOLUTIONS, BreakState
from clearwatch.services.backoffice.eod_progress import StepState
from clearwatch.services.backoffice.reconcile import (
    CLIENT_VS_BANK,
    MOVEMENT_VS_BANK,
    NET_SETTLEMENT_VS_CSDC,
    NODE_VS_CENTRAL,
    RESERVE_VS_CSDC,
    SPECIAL_VS_BANK,
)
from clearwatch.services.backoffice.run_eod import EodStep
from tests.api.support import (
    API,
    PASSWORD,
    TestClient,
    audit_records,
    client_of,
    person,
    row_counts,
)
from tests.web.support import WEB, csrf_of, sign_in

ACCESS = f"{WEB}/access"


def test_an_officer_makes_a_token_seen_once_and_revokes_it(
    browser: TestClient, web_app: Application
) -> None:
    machine = person(web_app, "B001", Role.SUBMITTER, "b001-system")
    page = sign_in(browser, web_app, "B001", Role.OFFICER)
    token = csrf_of(page.text)
    shown = browser.get(ACCESS)
    assert shown.status_code == 200 and 'id="users"' not in shown.text  # an officer lists none
    for field in ("token-user", "token-scope", "token-days"):
        assert f'<label for="{field}">' in shown.text
    form = {"user_id": machine, "scope": "submit", "days": "30"}
    before = row_counts(web_app)
    refused = browser.post(f"{ACCESS}/tokens", data=form)
    assert refused.status_code == 403 and "csrf_token_must_match" in refused.text
    assert row_counts(web_app)["access_api_tokens"] == before["access_api_tokens"]
    made = browser.post(f"{ACCESS}/tokens", data={**form, "csrf_token": token})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    found = re.search(r'<code id="token-text">([^<]+)</code>', made.text)
    assert found is not None
    text = found.group(1)
    headers = {"Authorization": f"Bearer {text}"}
    assert browser.get(f"{API}/auth/whoami", headers=headers).json()["user_id"] == machine
    listed = browser.get(ACCESS).text
    assert text not in listed and machine in listed  # shown once, never again
    token_id = re.search(r'id="revoke-([^"]+)"', listed)
    assert token_id is not None
    bad = browser.post(f"{ACCESS}/tokens", data={**form, "days": "999", "csrf_token": token})
    assert bad.status_code == 422 and "token_life_must_be_1_to_366_days" in bad.text

    other = TestClient(browser.app)
    other_page = sign_in(other, web_app, "B002", Role.OFFICER)
    head = max(r.seq for r in audit_records(web_app))
    stolen = other.post(
        f"{ACCESS}/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf_of(other_page.text)}
    )
    assert stolen.status_code == 404 and "page_must_exist" in stolen.text
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]
    assert machine not in other.get(ACCESS).text

    revoked = browser.post(
        f"{ACCESS}/tokens/{token_id.group(1)}/revoke", data={"csrf_token": token}
    )
    assert revoked.status_code == 200 and f'id="revoke-{token_id.group(1)}"' not in revoked.text
    assert browser.get(f"{API}/auth/whoami", headers=headers).status_code == 401


def test_an_admin_lands_on_its_organisations_users_and_a_viewer_is_refused(
    browser: TestClient, web_app: Application
) -> None:
    person(web_app, "B001", Role.OFFICER)
    landed = sign_in(browser, web_app, "SIPF", Role.ADMIN)
    assert landed.url.path == ACCESS
    users = landed.text[landed.text.index('id="users"') :]
    assert "sipf-admin" in users and "b001-officer" not in users
    browser.cookies.clear()
    sign_in(browser, web_app, "B001", Role.VIEWER)
    refused = browser.get(ACCESS)
    assert refused.status_code == 403 and "policy_must_allow_action" in refused.text


# -- the admin's forms and the approvals queue ------------------------------------------------

APPROVALS = f"{WEB}/approvals"


def _signed(
    app: Application, organisation: str, role: Role, user_id: str | None = None
) -> tuple[TestClient, str]:
    """A browser of its own, signed in as that person (with a code where the role decides),
    and its session's CSRF token."""
    client = client_of(app)
    page = sign_in(client, app, organisation, role, user_id)
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)


def _roles_of(app: Application, user_id: str) -> set[str]:
    with app.read_uow() as uow:
        user = uow.access.user(user_id)
    return set() if user is None else {role.value for role in user.roles}


def test_an_admin_registers_a_person_grants_a_role_and_is_refused_by_rule_name(
    web_app: Application,
) -> None:
    admin, token = _signed(web_app, "BO:B001", Role.ADMIN)
    page = admin.get(ACCESS).text
    for field in (
        "new-user-id",
        "new-user-password",
        "new-user-role-checker",
        "grant-user",
        "grant-role-name",
        "emergency-user",
        "emergency-hours",
        "emergency-reason",
    ):
        assert f'<label for="{field}">' in page, field
    assert 'value="analyst"' not in page  # only the roles a back office may hold
    form = {"user_id": "bo-b001-ops2", "password": PASSWORD, "roles": ["operator", "checker"]}
    before = row_counts(web_app)
    refused = admin.post(f"{ACCESS}/users", data=form)  # no CSRF token
    assert refused.status_code == 403 and "csrf_token_must_match" in refused.text
    short = admin.post(f"{ACCESS}/users", data={**form, "password": "short", "csrf_token": token})
    assert short.status_code == 422 and "password_must_have_12_characters" in short.text
    assert row_counts(web_app)["access_users"] == before["access_users"]
    made = admin.post(f"{ACCESS}/users", data={**form, "csrf_token": token})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    assert 'id="second-factor-uri">otpauth://' in made.text  # a checker decides: shown once
    assert _roles_of(web_app, "bo-b001-ops2") == {"operator", "checker"}
    assert "otpauth://" not in admin.get(ACCESS).text

    granted = admin.post(f"{ACCESS}/grants", data={"user_id": "bo-b001-ops2", "role": "auditor",
                                                   "csrf_token": token})  # fmt: skip
    assert granted.status_code == 200 and granted.url.path == ACCESS
    assert _roles_of(web_app, "bo-b001-ops2") == {"operator", "checker", "auditor"}
    wrong = admin.post(f"{ACCESS}/grants", data={"user_id": "bo-b001-ops2", "role": "analyst",
                                                 "csrf_token": token})  # fmt: skip
    assert wrong.status_code == 422 and "role_must_be_valid_in_organisation" in wrong.text

    elsewhere = person(web_app, "BO:B002", Role.OPERATOR)
    head = max(r.seq for r in audit_records(web_app))
    stolen = admin.post(f"{ACCESS}/grants", data={"user_id": elsewhere, "role": "checker",
                                                  "csrf_token": token})  # fmt: skip
    assert stolen.status_code == 404 and "page_must_exist" in stolen.text
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]
    assert _roles_of(web_app, elsewhere) == {"operator"}

    operator, operator_token = _signed(web_app, "BO:B001", Role.OPERATOR)
    head = max(r.seq for r in audit_records(web_app))
    denied = operator.post(f"{ACCESS}/users", data={**form, "user_id": "x-1",
                                                    "csrf_token": operator_token})  # fmt: skip
    assert denied.status_code == 403 and "policy_must_allow_action" in denied.text
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]
    assert _roles_of(web_app, "x-1") == set()


def test_an_emergency_grant_is_asked_by_the_admin_and_decided_by_a_checker_in_the_queue(
    web_app: Application,
) -> None:
    duty = person(web_app, "BO:B001", Role.OPERATOR, "bo-duty", password=PASSWORD)
    admin, token = _signed(web_app, "BO:B001", Role.ADMIN)
    ask = {"user_id": duty, "role": "checker", "reason": "the checker is ill", "csrf_token": token}
    too_long = admin.post(f"{ACCESS}/emergency-grants", data={**ask, "hours": "25"})
    assert too_long.status_code == 422 and "grant_must_not_exceed_hours_max" in too_long.text
    elsewhere = person(web_app, "BO:B002", Role.OPERATOR)
    head = max(r.seq for r in audit_records(web_app))
    other = admin.post(f"{ACCESS}/emergency-grants", data={**ask, "user_id": elsewhere,
                                                           "hours": "8"})  # fmt: skip
    assert other.status_code == 404
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]
    asked = admin.post(f"{ACCESS}/emergency-grants", data={**ask, "hours": "8"})
    assert asked.status_code == 200 and asked.url.path == APPROVALS
    queue = asked.text
    row = queue[queue.index('id="pending-requests"') :]
    assert duty in row and "动态授权 / emergency grant" in row
    assert 'id="approve-request-' not in queue  # the admin approves nothing
    assert 'id="nav-batches"' not in queue  # nor reads the books
    request_id = int(re.findall(r'id="request-(\d+)"', queue)[0])
    refused = admin.post(f"{APPROVALS}/{request_id}/approve", data={"csrf_token": token})
    assert refused.status_code == 403 and "policy_must_allow_action" in refused.text

    stranger, stranger_token = _signed(web_app, "BO:B002", Role.CHECKER)
    assert f'id="request-{request_id}"' not in stranger.get(APPROVALS).text
    head = max(r.seq for r in audit_records(web_app))
    foreign = stranger.post(
        f"{APPROVALS}/{request_id}/approve", data={"csrf_token": stranger_token}
    )
    assert foreign.status_code == 404 and "page_must_exist" in foreign.text
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]

    checker, checker_token = _signed(web_app, "BO:B001", Role.CHECKER)
    forged = checker.post(f"{APPROVALS}/{request_id}/approve", data={"csrf_token": "x"})
    assert forged.status_code == 403 and "csrf_token_must_match" in forged.text
    approved = checker.post(
        f"{APPROVALS}/{request_id}/approve", data={"csrf_token": checker_token},
        follow_redirects=True,
    )  # fmt: skip
    decided = approved.text[approved.text.index('id="decided-requests"') :]
    assert f'id="request-{request_id}"' in decided and "已批准 / approved" in decided
    assert "bo-b001-checker" in decided
    users = admin.get(ACCESS).text
    row = users[users.index(f'id="user-{duty}"') :].split("</tr>")[0]
    assert "复核 / checker" in row and "生效中" in row


def test_a_checker_signs_in_with_a_code_before_deciding_anything(web_app: Application) -> None:
    """Spec platform §2: a role that approves gives a second factor; without it no session."""
    checker = person(web_app, "BO:B001", Role.CHECKER, password=PASSWORD)
    client = client_of(web_app)
    form = client.get(f"{WEB}/login")
    answer = client.post(
        f"{WEB}/login",
        data={"user_id": checker, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
    )
    assert answer.status_code == 401 and "second_factor_must_be_given" in answer.text
    assert "cw_session" not in client.cookies
    assert client.get(APPROVALS, follow_redirects=False).headers["location"] == f"{WEB}/login"


def test_every_coded_label_of_the_admin_and_back_office_pages_is_in_both_languages() -> None:
    """Roles, approval kinds and states, end-of-day steps, breaks and halts: a value of the
    domain shown on these pages never shows its key, in Chinese or in English."""
    checks = (CLIENT_VS_BANK, NODE_VS_CENTRAL, SPECIAL_VS_BANK, MOVEMENT_VS_BANK,
              RESERVE_VS_CSDC, NET_SETTLEMENT_VS_CSDC, "execution_on_frozen_account",
              "execution_on_closed_account")  # fmt: skip
    coded = {
        *(f"role:{role.value}" for role in Role),
        *(f"approval:{kind.value}" for kind in ApprovalKind),
        *(f"approval-status:{status.value}" for status in ApprovalStatus),
        *(f"eod-step:{step.value}" for step in EodStep),
        *(f"eod-state:{state.value}" for state in StepState),
        *(f"break-state:{state.value}" for state in BreakState),
        *(f"break-check:{check}" for check in checks),
        *(f"resolution:{resolution}" for resolution in RESOLUTIONS),
        *(f"halt-state:{state.value}" for state in HaltState),
    }
    catalogues = load_catalogues()
    for language in Language:
        assert sorted(coded - set(catalogues[language])) == [], language
    assert catalogues[Language.ZH]["role:checker"] == "复核 / checker"
    assert catalogues[Language.EN]["approval:emergency_grant"] == "emergency grant (动态授权)"
