"""Web sessions that ended without a logout are swept (at anyone's sign-in, bounded, and by the
server now and then), a second-factor code spent on one sign-in is named as spent, but only
to one who gave the right password, and a change of password ends the sessions opened before."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import Caller, CredentialKind, local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.api.cases_jobs import serve_jobs
from clearwatch.services.access.passwords import set_password
from clearwatch.services.access.web_sessions import open_web_session, sweep_web_sessions
from tests.api.support import PASSWORD, TestClient, audit_records, client_of, person, totp_of
from tests.web.support import WEB, csrf_of, sign_in

CODE_USED = "second_factor_code_must_not_be_reused"
NEW_PASSWORD = "a quite different passphrase"


def _sessions_of(app: Application) -> dict[str, int]:
    with app.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT user_id, count(*) FROM web_sessions GROUP BY user_id"
        ).all()
    return {user_id: count for user_id, count in rows}


def _ended_sessions(app: Application, user_id: str, count: int, days_ago: int) -> None:
    """`count` sessions of `user_id` opened (and long ended) `days_ago` days ago."""
    at = app.real_clock.now() - timedelta(days=days_ago)
    for _ in range(count):
        open_web_session(
            uow=app.uow(), tools=app.authentication, user_id=user_id, password=PASSWORD,
            code=None, at=at,
        )  # fmt: skip


def test_ended_sessions_of_anyone_go_at_a_sign_in_and_in_the_servers_sweep(
    browser: TestClient, web_app: Application
) -> None:
    left = person(web_app, "B001", Role.OFFICER, password=PASSWORD)
    _ended_sessions(web_app, left, 2, days_ago=3)
    assert _sessions_of(web_app) == {left: 2}
    sign_in(browser, web_app, "B002", Role.OFFICER)  # someone else signs in
    assert _sessions_of(web_app) == {"b002-officer": 1}
    # Each opening sweeps what had ended by its time: the later one first, then two older.
    _ended_sessions(web_app, left, 1, days_ago=2)
    _ended_sessions(web_app, left, 2, days_ago=3)
    # Bounded, the oldest first: one round of one deletes one of the three-day-old ones.
    at = web_app.real_clock.now()
    assert sweep_web_sessions(uow=web_app.uow(), at=at, actor="test", limit=1) == 1
    assert _sessions_of(web_app) == {"b002-officer": 1, left: 2}
    [job] = [job for job in serve_jobs(web_app) if job.name == "sessions"]
    head = max(r.seq for r in audit_records(web_app))
    assert job.round() == "2 ended web session(s) deleted"
    assert _sessions_of(web_app) == {"b002-officer": 1}  # the live one stays
    assert job.round() == ""  # nothing more to sweep: nothing audited either
    [swept] = [r for r in audit_records(web_app, head)]
    assert swept.action == "access.web_sessions_swept" and swept.actor.startswith("serve:")
    assert json.loads(swept.payload_json)["swept"] == 2
    assert browser.get(f"{WEB}/institution").status_code == 200  # still signed in


def _login(client: TestClient, user_id: str, password: str, code: str) -> httpx.Response:
    form = client.get(f"{WEB}/login")
    fields = {"user_id": user_id, "password": password, "totp": code,
              "csrf_token": csrf_of(form.text)}  # fmt: skip
    return client.post(f"{WEB}/login", data=fields, follow_redirects=True)


def _failures(app: Application, user_id: str) -> int:
    with app.read_uow() as uow:
        stored = uow.credentials.credentials(user_id)
    assert stored is not None
    return stored.sign_ins.failures


def test_a_spent_code_is_named_only_to_whoever_gave_the_right_password(
    web_app: Application,
) -> None:
    reviewer = person(web_app, "SIPF", Role.REVIEWER, password=PASSWORD)
    code = totp_of(web_app, reviewer).now()
    first = _login(client_of(web_app), reviewer, PASSWORD, code)
    assert first.status_code == 200 and first.url.path == f"{WEB}/sipf"
    again = _login(client_of(web_app), reviewer, PASSWORD, code)  # a second browser, same code
    assert again.status_code == 401 and CODE_USED in again.text
    assert 'id="code-used"' in again.text and "请等待下一个验证码" in again.text
    english = client_of(web_app)
    english.get(f"{WEB}/login", params={"lang": "en"})
    said = _login(english, reviewer, PASSWORD, code)
    assert "This code was already used; wait for the next one." in said.text
    assert _failures(web_app, reviewer) == 0  # the right code twice is no guess
    guessed = _login(client_of(web_app), reviewer, "not the reviewer's password", code)
    assert guessed.status_code == 401 and "sign_in_must_match_a_user_and_password" in guessed.text
    assert CODE_USED not in guessed.text and 'id="code-used"' not in guessed.text
    assert _failures(web_app, reviewer) == 1
    reasons = [
        json.loads(r.payload_json)["why"]
        for r in audit_records(web_app)
        if r.action == "access.sign_in_failed"
    ]
    assert reasons == ["reused second-factor code"] * 2 + ["wrong password"]


def test_a_changed_password_ends_the_web_sessions_opened_before_it(
    web_app: Application,
) -> None:
    """Set by the person or reset by an admin: the old cookie signs nobody in, from the moment
    the change commits; another person's session stays; a new sign-in opens a new one."""
    officer_browser, other_browser = client_of(web_app), client_of(web_app)
    sign_in(officer_browser, web_app, "B001", Role.OFFICER)
    sign_in(other_browser, web_app, "B002", Role.OFFICER)
    officer = "b001-officer"
    assert officer_browser.get(f"{WEB}/institution").status_code == 200
    own = web_app.gate(Caller(officer, CredentialKind.PASSWORD))
    set_password(gate=own, uow=web_app.uow(), tools=web_app.authentication, user_id=officer,
                 password=NEW_PASSWORD)  # fmt: skip
    ended = officer_browser.get(f"{WEB}/institution", follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"] == f"{WEB}/login"
    assert other_browser.get(f"{WEB}/institution").status_code == 200
    form = officer_browser.get(f"{WEB}/login")
    fields = {"user_id": officer, "password": NEW_PASSWORD, "csrf_token": csrf_of(form.text)}
    assert officer_browser.post(f"{WEB}/login", data=fields).status_code == 200
    assert officer_browser.get(f"{WEB}/institution", follow_redirects=False).status_code == 200
    admin = web_app.gate(local_caller(person(web_app, "SIPF", Role.ADMIN)))
    set_password(gate=admin, uow=web_app.uow(), tools=web_app.authentication, user_id=officer,
                 password=PASSWORD)  # fmt: skip
    reset = officer_browser.get(f"{WEB}/institution", follow_redirects=False)
    assert reset.status_code == 303 and reset.headers["location"] == f"{WEB}/login"
