"""The pages over HTTP (no browser): sessions, CSRF, languages, and the policy on every page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.domain.access.credentials import ACCOUNT_LOCKED, SECOND_FACTOR_NEEDED
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases import CaseRule
from clearwatch.entrypoints.web.site import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from clearwatch.services.access.web_sessions import open_web_session
from tests.api.support import (
    PASSWORD,
    TestClient,
    approve_warnings,
    audit_records,
    load_world,
    person,
    row_counts,
    write_world,
)
from tests.web.support import WEB, csrf_of, registry_loaded, sign_in


def _files(directory: Path) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (path.name, path.read_bytes())) for path in sorted(directory.iterdir())]


def test_the_login_page_is_chinese_with_a_strict_policy_and_no_script(browser: TestClient) -> None:
    page = browser.get(f"{WEB}/login")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert (
        "script-src" not in CONTENT_SECURITY_POLICY
        and "default-src 'none'" in page.headers["content-security-policy"]
    )
    assert '<html lang="zh-CN">' in page.text and "登录" in page.text
    assert "<script" not in page.text and 'href="/web/static/web.css"' in page.text
    assert browser.get(f"{WEB}/static/web.css").headers["content-type"].startswith("text/css")
    # Every field of the form has its label.
    for field in ("user_id", "password", "totp"):
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text


def test_a_page_without_a_session_leads_to_the_login(browser: TestClient) -> None:
    answer = browser.get(f"{WEB}/sipf", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"{WEB}/login"
    assert browser.get("/", follow_redirects=False).headers["location"] == f"{WEB}/"


def test_the_session_cookie_holds_a_random_id_only_and_is_http_only_and_strict(
    browser: TestClient, web_app: Application
) -> None:
    landed = sign_in(browser, web_app, "B001", Role.OFFICER)
    assert landed.url.path == f"{WEB}/institution"
    cookie = next(c for c in browser.cookies.jar if c.name == SESSION_COOKIE)
    assert len(cookie.value) >= 43 and "b001" not in cookie.value.lower()
    header = next(
        h for h in landed.history[0].headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/web" in header
    # The store keeps the id's hash, never the id.
    with web_app.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT session_sha256 FROM web_sessions").all()
    assert len(rows) == 1 and rows[0][0] != cookie.value


def test_an_officer_uploads_a_package_and_sees_its_receipt(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    registry_loaded(web_app, tmp_path)
    page = sign_in(browser, web_app, "B001", Role.OFFICER)
    package = write_world(tmp_path / "world")["B001"]
    answer = browser.post(
        f"{WEB}/institution/packages", data={"csrf_token": csrf_of(page.text)},
        files=_files(package),
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert 'id="receipt-status" class="status accepted"' in answer.text
    home = browser.get(f"{WEB}/institution")
    assert "broker_daily" in home.text and "2026-11-20" in home.text and "北京时间" in home.text


def test_a_broken_package_gets_a_receipt_naming_file_line_and_column(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    registry_loaded(web_app, tmp_path)
    page = sign_in(browser, web_app, "B001", Role.OFFICER)
    package = write_world(tmp_path / "world")["B001"]
    funds = package / "client_funds.csv"
    lines = funds.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",12.345"  # three decimals: not an amount
    funds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    answer = browser.post(
        f"{WEB}/institution/packages", data={"csrf_token": csrf_of(page.text)},
        files=_files(package),
    )  # fmt: skip
    assert answer.status_code == 422
    errors = answer.text[answer.text.index('id="receipt-errors"') :]
    row = re.search(
        r"<tr><td><code>([a-z_]+)</code></td><td>([^<]+)</td><td class=\"num\">(\d+)", errors
    )
    assert row is not None, errors[:800]
    assert row.group(2) == "client_funds.csv" and row.group(3) == "2"


def test_a_post_without_its_csrf_token_is_refused_changes_nothing_and_is_audited(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    registry_loaded(web_app, tmp_path)
    sign_in(browser, web_app, "B001", Role.OFFICER)
    package = write_world(tmp_path / "world")["B001"]
    before = row_counts(web_app)
    head = max(r.seq for r in audit_records(web_app))
    for token in ({}, {"csrf_token": "forged"}):
        answer = browser.post(f"{WEB}/institution/packages", data=token, files=_files(package))
        assert answer.status_code == 403 and "csrf_token_must_match" in answer.text
    assert row_counts(web_app) == before
    forged = [r for r in audit_records(web_app, head) if r.action == "access.web_form_forged"]
    assert len(forged) == 2 and forged[0].actor == "b001-officer"
    # A logout without the token does not log out either.
    assert browser.post(f"{WEB}/logout", data={}).status_code == 403
    assert browser.get(f"{WEB}/institution").status_code == 200


def test_logout_deletes_the_session_and_its_cookie_no_longer_signs_in(
    browser: TestClient, web_app: Application
) -> None:
    page = sign_in(browser, web_app, "B001", Role.OFFICER)
    session_id = browser.cookies[SESSION_COOKIE]
    out = browser.post(f"{WEB}/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.url.path == f"{WEB}/login"
    with web_app.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM web_sessions").scalar() == 0
    browser.cookies.set(SESSION_COOKIE, session_id, path="/web")
    again = browser.get(f"{WEB}/institution", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == f"{WEB}/login"
    actions = [r.action for r in audit_records(web_app)]
    assert "access.web_session_opened" in actions and "access.web_session_closed" in actions


def test_a_session_past_its_end_on_the_real_clock_signs_nobody_in(
    browser: TestClient, web_app: Application
) -> None:
    user_id = person(web_app, "B001", Role.OFFICER, password=PASSWORD)
    long_ago = web_app.real_clock.now() - timedelta(days=1)
    opened = open_web_session(
        uow=web_app.uow(), tools=web_app.authentication, user_id=user_id, password=PASSWORD,
        code=None, at=long_ago,
    )  # fmt: skip
    browser.cookies.set(SESSION_COOKIE, opened.session_id, path="/web")
    answer = browser.get(f"{WEB}/institution", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"{WEB}/login"


def test_a_deciding_role_signs_in_only_with_its_code_and_failures_lock(
    browser: TestClient, web_app: Application
) -> None:
    user_id = person(web_app, "SIPF", Role.REVIEWER, password=PASSWORD)
    form = browser.get(f"{WEB}/login")
    fields = {"user_id": user_id, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    refused = browser.post(f"{WEB}/login", data=fields)
    assert refused.status_code == 401 and SECOND_FACTOR_NEEDED in refused.text
    for _ in range(6):  # the fifth failure locks; the sixth attempt is told so
        wrong = {
            **fields,
            "password": "not the password at all",
            "csrf_token": csrf_of(refused.text),
        }
        refused = browser.post(f"{WEB}/login", data=wrong)
    assert refused.status_code == 429 and ACCOUNT_LOCKED in refused.text
    assert SESSION_COOKIE not in browser.cookies


def test_a_login_form_without_its_token_is_refused(
    browser: TestClient, web_app: Application
) -> None:
    user_id = person(web_app, "B001", Role.OFFICER, password=PASSWORD)
    answer = browser.post(f"{WEB}/login", data={"user_id": user_id, "password": PASSWORD})
    assert answer.status_code == 403 and SESSION_COOKIE not in browser.cookies


def test_the_sipf_day_shows_the_grid_warnings_and_a_numeric_trend(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path)
    page = sign_in(browser, web_app, "SIPF", Role.ANALYST)
    assert page.url.path == f"{WEB}/sipf"
    day = browser.get(f"{WEB}/sipf", params={"date": "2026-11-20"}).text
    grid = day[day.index('id="submission-grid"') :]
    assert grid.count('data-status="on_time"') == 5 and "按时 / on time" in grid
    # B002's major warning: the amount with separators and two decimals, both languages' term.
    assert "重大预警 / major" in day and ">500.00<" in day and "CITY-SZ" in day
    bars = re.findall(r'data-label="2026-11-20" data-value="([^"]+)"', day)
    assert len(bars) == 2  # one bar in each trend chart
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", value) for value in bars)
    assert 'data-tick="0"' in day and 'data-unit="%"' in day


def test_the_switch_turns_a_page_into_english_and_back(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path)
    sign_in(browser, web_app, "SIPF", Role.ANALYST)
    english = browser.get(f"{WEB}/sipf", params={"date": "2026-11-20", "lang": "en"})
    assert '<html lang="en">' in english.text and "Submission grid" in english.text
    assert "major (重大预警)" in english.text
    assert browser.cookies["lang"] == "en"
    kept = browser.get(f"{WEB}/sipf", params={"date": "2026-11-20"})
    assert "Submission grid" in kept.text  # the cookie keeps the choice
    switch = re.search(r'id="lang-switch" href="([^"]+)"', kept.text)
    assert switch is not None and "lang=zh" in switch.group(1)
    back = browser.get(switch.group(1).replace("&amp;", "&"))
    assert "报送情况表" in back.text


def test_each_organisation_sees_only_its_own_pages(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path)
    sign_in(browser, web_app, "B001", Role.OFFICER)
    head = max(r.seq for r in audit_records(web_app))
    before = row_counts(web_app)
    refused = browser.get(f"{WEB}/sipf", params={"date": "2026-11-20"})
    assert refused.status_code == 403 and "policy_must_allow_action" in refused.text
    assert row_counts(web_app) == before
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]
    # B001's officer does not see B002's warning, which exists: answered as if it did not.
    assert browser.get(f"{WEB}/warnings/2026-11-20/B002").status_code == 404
    assert browser.get(f"{WEB}/warnings/2026-11-20/B009").status_code == 404


def test_a_bureau_sees_its_warnings_and_not_another_bureaus(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path)
    approve_warnings(web_app)
    landed = sign_in(browser, web_app, "CN-SH", Role.BUREAU_ANALYST)
    assert landed.url.path == f"{WEB}/bureau" and "B002" not in landed.text
    assert browser.get(f"{WEB}/warnings/2026-11-20/B002").status_code == 404
    browser.cookies.clear()
    landed = sign_in(browser, web_app, "CITY-SZ", Role.BUREAU_ANALYST)
    assert "B002" in landed.text and ">500.00<" in landed.text
    shown = browser.get(f"{WEB}/warnings/2026-11-20/B002")
    assert shown.status_code == 200 and "M2 G3" in shown.text


B002_WARNING_PAGE = f"{WEB}/warnings/2026-11-20/B002"
RECIPIENTS = (("CITY-SZ", Role.BUREAU_ANALYST), ("B002", Role.OFFICER), ("CSRC", Role.CSRC_VIEWER))


def test_a_proposed_warning_is_private_to_sipf_until_a_second_analyst_approves_it(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path)  # B002's major warning (M2 G3 → CITY-SZ, copy, CSRC): proposed
    sign_in(browser, web_app, "SIPF", Role.ANALYST)
    assert browser.get(B002_WARNING_PAGE).status_code == 200  # SIPF sees it proposed
    for organisation, role in RECIPIENTS:
        browser.cookies.clear()
        landed = sign_in(browser, web_app, organisation, role)
        head, before = max(r.seq for r in audit_records(web_app)), row_counts(web_app)
        # Answered as a warning that never was; the denial audited, nothing else changed.
        assert browser.get(B002_WARNING_PAGE).status_code == 404, organisation
        assert row_counts(web_app) == before
        assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]
        if organisation == "CITY-SZ":
            assert "B002" not in landed.text
            month = browser.get(f"{WEB}/bureau/month", params={"month": "2026-11"})
            assert "2026-11-20" not in month.text
    assert approve_warnings(web_app, "B002") == 1
    for organisation, role in RECIPIENTS:
        browser.cookies.clear()
        landed = sign_in(browser, web_app, organisation, role)
        shown = browser.get(B002_WARNING_PAGE)
        assert shown.status_code == 200 and "M2 G3" in shown.text, organisation
        if organisation == "CITY-SZ":
            assert "B002" in landed.text and ">500.00<" in landed.text
            month = browser.get(f"{WEB}/bureau/month", params={"month": "2026-11"})
            assert "2026-11-20" in month.text


def test_an_officer_explains_its_case_and_another_institution_cannot(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path)  # B002 is 500.00 short: a case for B002
    page = sign_in(browser, web_app, "B002", Role.OFFICER)
    found = re.search(r'id="case-(\d+)"', page.text)
    assert found is not None and "待说明 / open" in page.text
    case_id = found.group(1)
    for field in ("category", "text", "party", "attachments"):
        assert f'<label for="{field}-{case_id}">' in page.text
    explanation = {
        "csrf_token": csrf_of(page.text), "category": "data_error",
        "text": "客户资金明细漏报一笔", "responsible_party": "B002 清算部",
    }  # fmt: skip
    note = [("attachments", ("note.txt", b"the missing row"))]
    done = browser.post(f"{WEB}/institution/cases/{case_id}/explain", data=explanation, files=note)
    assert done.status_code == 200 and "已说明 / explained" in done.text
    empty = browser.post(
        f"{WEB}/institution/cases/{case_id}/explain",
        data={**explanation, "text": " "},
    )
    assert empty.status_code == 422 and CaseRule.TEXT_MUST_BE_GIVEN in empty.text
    browser.cookies.clear()
    other = sign_in(browser, web_app, "B001", Role.OFFICER)
    forged = browser.post(
        f"{WEB}/institution/cases/{case_id}/explain",
        data={**explanation, "csrf_token": csrf_of(other.text)},
    )
    assert forged.status_code == 404
