"""The approvals queue in real Chromium (Debian's `chromium` through Playwright's
`executable_path`) against `clearwatch serve`: a back office's admin asks for an emergency
grant in the browser; the admin finds no way to approve it; its checker signs in with a code
and approves it in the queue; the grant is in force on the access page."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from tests.api.support import PASSWORD, person, totp_of
from tests.api.test_api_serve import _env, serving
from tests.web.support import sign_in_in_browser

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
ADMIN, CHECKER, DUTY = "bo-b001-admin", "bo-b001-checker", "bo-b001-duty"


@dataclass(frozen=True)
class BackOffice:
    base: str
    admin: pyotp.TOTP
    checker: pyotp.TOTP


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackOffice]:
    """B001's back office with its admin, its checker and an operator on duty, served by
    `clearwatch serve` on a free port."""
    root = tmp_path_factory.mktemp("web-approvals")
    env = _env(root)
    app = build_application(Settings.from_environment(env))
    try:
        app.init_schema()
        person(app, "BO:B001", Role.ADMIN, ADMIN, password=PASSWORD)
        person(app, "BO:B001", Role.CHECKER, CHECKER, password=PASSWORD)
        person(app, "BO:B001", Role.OPERATOR, DUTY, password=PASSWORD)
        codes = totp_of(app, ADMIN), totp_of(app, CHECKER)
    finally:
        app.dispose()
    with serving(env, root / "serve.log") as base:
        yield BackOffice(base, *codes)


def _every_field_labelled(page: object) -> None:
    fields = page.locator("form input:not([type=hidden]), form select, form textarea")  # type: ignore[attr-defined]
    for field in fields.all():
        field_id = field.get_attribute("id")
        assert field_id and page.locator(f'label[for="{field_id}"]').count() == 1  # type: ignore[attr-defined]


def test_an_emergency_grant_asked_by_the_admin_is_approved_by_the_checker(
    served: BackOffice,
) -> None:
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_context(base_url=served.base).new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            sign_in_in_browser(page, served.base, ADMIN, served.admin)
            sync_api.expect(page).to_have_url(re.compile(r"/web/access$"))
            _every_field_labelled(page)
            page.locator("#emergency-user").select_option(DUTY)
            page.locator("#emergency-role").select_option("checker")
            page.locator("#emergency-hours").fill("4")
            page.locator("#emergency-reason").fill("值班复核人请假")
            page.locator("#emergency-button").click()
            sync_api.expect(page).to_have_url(re.compile(r"/web/approvals#request-\d+$"))
            row = page.locator("#pending-requests tr[id^=request-]")
            sync_api.expect(row).to_have_count(1)
            sync_api.expect(row).to_contain_text(DUTY)
            sync_api.expect(row).to_contain_text("动态授权")
            sync_api.expect(page.locator("[id^=approve-request-]")).to_have_count(0)
            page.locator("#logout").click()

            sign_in_in_browser(page, served.base, CHECKER, served.checker)
            page.goto(f"{served.base}/web/approvals")
            _every_field_labelled(page)
            page.locator("[id^=approve-request-]").click()
            sync_api.expect(page).to_have_url(re.compile(r"/web/approvals#request-\d+$"))
            sync_api.expect(page.locator("#pending-requests")).to_have_count(0)
            decided = page.locator("#decided-requests tr[id^=request-]")
            sync_api.expect(decided).to_contain_text("已批准")
            sync_api.expect(decided).to_contain_text(CHECKER)
            page.locator("#lang-switch").click()
            sync_api.expect(page.locator("h1")).to_contain_text("Approvals queue")
            sync_api.expect(decided).to_contain_text("approved (已批准)")
        finally:
            browser.close()
    assert problems == []  # no console errors (a CSP violation would be one)
