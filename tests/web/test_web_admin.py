"""The access page over HTTP: an organisation's users (for its admin) and its machines' tokens,
made (shown once) and revoked; another organisation's token is not found."""

from __future__ import annotations

import re

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import API, TestClient, audit_records, person, row_counts
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
