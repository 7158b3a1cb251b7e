"""SIPF's warning approval in real Chromium (Debian's `chromium` through Playwright's
`executable_path`) against `clearwatch serve`: the proposer is refused by name, a second
reviewer signs in with a code and approves, and the warning leaves the list; the server's
delivery worker then brings it to the bureau's inbox and the institution's copy."""

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
from tests.api.support import PASSWORD, load_world, person, totp_of
from tests.api.test_api_serve import _env, serving
from tests.web.support import sign_in_in_browser

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
PROPOSER = "test-fixture"  # who ran the day (load_world), so who proposed its warnings
WORKER = "sipf-worker"  # the analyst `serve`'s delivery worker acts as
BUREAU = "city-sz-bureau"  # B002's major warning is routed to CITY-SZ
OFFICER = "b002-officer"
DELIVERY_WAIT_MS = 60_000  # the worker's rounds are a second apart; a PDF takes a few


@dataclass(frozen=True)
class Reviewers:
    base: str
    proposer: pyotp.TOTP
    reviewer: pyotp.TOTP


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reviewers]:
    """The test market's day run (B002's major warning proposed), two SIPF reviewers with
    their second factors, served by `clearwatch serve` on a free port."""
    root = tmp_path_factory.mktemp("web-review")
    # The server delivers what is approved, every second, as a SIPF analyst; no deadline sweep.
    env = _env(root, CLEARWATCH_SERVE_WORKER_USER=WORKER, CLEARWATCH_SERVE_DELIVER_SECONDS="1",
               CLEARWATCH_SERVE_SWEEP_SECONDS="0")  # fmt: skip
    app = build_application(Settings.from_environment(env))
    try:
        load_world(app, root / "market")
        proposer = person(app, "SIPF", Role.REVIEWER, PROPOSER, password=PASSWORD)
        reviewer = person(app, "SIPF", Role.REVIEWER, password=PASSWORD)
        person(app, "SIPF", Role.ANALYST, WORKER)
        person(app, "CITY-SZ", Role.BUREAU_ANALYST, BUREAU, password=PASSWORD)
        person(app, "B002", Role.OFFICER, OFFICER, password=PASSWORD)
        codes = totp_of(app, proposer), totp_of(app, reviewer)
    finally:
        app.dispose()
    with serving(env, root / "serve.log") as base:
        yield Reviewers(base, *codes)


def _sign_in(page: object, base: str, user_id: str, code: pyotp.TOTP) -> None:
    sign_in_in_browser(page, base, user_id, code)
    sync_api.expect(page).to_have_url(re.compile(r"/web/sipf$"))  # type: ignore[arg-type]


def test_a_second_reviewer_approves_the_warning_its_proposer_could_not(
    served: Reviewers,
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
            _sign_in(page, served.base, PROPOSER, served.proposer)
            page.locator("#review-link").click()
            row = page.locator("#proposed-warnings tr[id^=warning-]")
            sync_api.expect(row).to_have_count(1)
            sync_api.expect(row).to_contain_text("B002")
            sync_api.expect(row).to_contain_text(PROPOSER)
            page.locator("[id^=approve-warning-]").click()
            sync_api.expect(page.locator("code.rule")).to_have_text(
                "approver_must_not_be_the_proposer"
            )
            assert [p for p in problems if "422" not in p] == []  # that answer, as expected
            problems.clear()
            page.locator("#logout").click()
            _sign_in(page, served.base, "sipf-reviewer", served.reviewer)
            page.goto(f"{served.base}/web/sipf/review")
            # Every field of the review forms has its label.
            for field in page.locator("form input:not([type=hidden]), form textarea").all():
                field_id = field.get_attribute("id")
                assert field_id and page.locator(f'label[for="{field_id}"]').count() == 1
            page.locator("[id^=approve-warning-]").click()
            sync_api.expect(page).to_have_url(re.compile(r"/web/sipf/review"))
            sync_api.expect(page.locator("#proposed-warnings")).to_have_count(0)
            assert "没有待审批的预警" in page.content()
            page.locator("#logout").click()
            _sees_once_delivered(page, served.base, BUREAU, "/web/bureau/inbox")
            page.locator("#logout").click()
            _sees_once_delivered(page, served.base, OFFICER, "/web/institution/messages")
        finally:
            browser.close()
    assert problems == []  # no console errors (a CSP violation would be one)


def _sees_once_delivered(page: object, base: str, user_id: str, path: str) -> None:
    """Sign in without a second factor (neither role decides) and wait, reloading, until the
    delivery worker has brought B002's warning to the page."""
    sign_in_in_browser(page, base, user_id)
    page.goto(f"{base}{path}")  # type: ignore[attr-defined]
    inbox = page.locator("#inbox tbody tr")  # type: ignore[attr-defined]
    for _ in range(DELIVERY_WAIT_MS // 1000):
        if inbox.count():
            break
        page.wait_for_timeout(1000)  # type: ignore[attr-defined]
        page.reload()  # type: ignore[attr-defined]
    sync_api.expect(inbox.first).to_contain_text("B002")
    sync_api.expect(inbox.first).to_contain_text("重大预警")
