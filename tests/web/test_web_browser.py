"""The pages in real Chromium (Debian's `chromium`, driven by Playwright through its
`executable_path`; never a browser download) against `clearwatch serve` as a subprocess."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from tests.api.support import PASSWORD, approve_warnings, load_world, person, write_world
from tests.api.test_api_serve import _env, serving
from tests.web.support import sign_in_in_browser

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")


@dataclass(frozen=True)
class Served:
    base: str
    officer: str  # B001's officer
    analyst: str  # SIPF's analyst
    shanghai: str  # CN-SH's bureau analyst
    shenzhen: str  # CITY-SZ's bureau analyst
    package: Path  # a B001 package for the day, sequence 1, not yet submitted


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A store with the test market's day run (B001's package left for the browser to send),
    served by `clearwatch serve` on a free port."""
    root = tmp_path_factory.mktemp("web")
    env = _env(root)
    app = build_application(Settings.from_environment(env))
    try:
        load_world(app, root / "market")  # everyone's packages, the day run: B002 is warned
        approve_warnings(app)  # by a second analyst: only then does its bureau read it
        users = [
            person(app, "B002", Role.OFFICER, "b002-officer", password=PASSWORD),
            person(app, "SIPF", Role.ANALYST, password=PASSWORD),
            person(app, "CN-SH", Role.BUREAU_ANALYST, password=PASSWORD),
            person(app, "CITY-SZ", Role.BUREAU_ANALYST, password=PASSWORD),
        ]
    finally:
        app.dispose()
    # B002 sends its package again (the same content: a duplicate) from the browser.
    package = write_world(root / "again")["B002"]
    with serving(env, root / "serve.log") as base:
        yield Served(base, *users, package=package)


PROBLEMS: list[str] = []  # console errors of the running test's page


@pytest.fixture
def page(served: Served) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context(base_url=served.base)
            page = context.new_page()
            problems = PROBLEMS
            problems.clear()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            yield page
            assert problems == []  # no console errors (a CSP violation would be one)
        finally:
            browser.close()


def _sign_in(page: object, served: Served, user_id: str) -> None:
    sign_in_in_browser(page, served.base, user_id)


def test_an_officer_signs_in_uploads_a_package_and_sees_the_receipt(
    page: object, served: Served
) -> None:
    _sign_in(page, served, served.officer)
    sync_api.expect(page).to_have_url(re.compile(r"/web/institution$"))  # type: ignore[arg-type]
    files = [str(path) for path in sorted(served.package.iterdir())]
    page.locator("#files").set_input_files(files)  # type: ignore[attr-defined]
    page.locator("#upload").click()  # type: ignore[attr-defined]
    status = page.locator("#receipt-status")  # type: ignore[attr-defined]
    sync_api.expect(status).to_contain_text("duplicate")
    sync_api.expect(page.locator("dl.facts")).to_contain_text("B002")  # type: ignore[attr-defined]


def test_an_analyst_sees_the_grid_and_a_chart_on_a_numeric_axis_then_english(
    page: object, served: Served
) -> None:
    _sign_in(page, served, served.analyst)
    response = page.goto(f"{served.base}/web/sipf?date=2026-11-20")  # type: ignore[attr-defined]
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    grid = page.locator("#submission-grid")  # type: ignore[attr-defined]
    sync_api.expect(grid.locator("td[data-status]")).to_have_count(5)
    bars = page.locator("#trend-warnings rect.bar")  # type: ignore[attr-defined]
    sync_api.expect(bars).to_have_count(30)
    day = page.locator('#trend-warnings rect.bar[data-label="2026-11-20"]')  # type: ignore[attr-defined]
    assert day.get_attribute("data-value") == "1"  # B002's one warning
    ticks = page.locator("#trend-warnings text.tick").all_text_contents()  # type: ignore[attr-defined]
    assert ticks[0] == "0" and all(re.fullmatch(r"\d+(\.\d+)?", tick) for tick in ticks)
    assert [float(t) for t in ticks] == sorted(float(t) for t in ticks)
    page.locator("#lang-switch").click()  # type: ignore[attr-defined]
    sync_api.expect(page.locator("h2").first).to_have_text("Submission grid")  # type: ignore[attr-defined]
    sync_api.expect(page.locator("html")).to_have_attribute("lang", "en")  # type: ignore[attr-defined]
    page.locator("#lang-switch").click()  # type: ignore[attr-defined]
    sync_api.expect(page.locator("h2").first).to_have_text("报送情况表")  # type: ignore[attr-defined]


def test_a_post_without_the_csrf_token_is_refused(page: object, served: Served) -> None:
    _sign_in(page, served, served.officer)
    sync_api.expect(page).to_have_url(re.compile(r"/web/institution$"))  # type: ignore[arg-type]
    # The browser's own cookies, a form without the session's token: refused, still signed in.
    answer = page.request.post(f"{served.base}/web/logout", form={"x": "1"})  # type: ignore[attr-defined]
    assert answer.status == 403 and "csrf_token_must_match" in answer.text()
    again = page.goto(f"{served.base}/web/institution")  # type: ignore[attr-defined]
    assert again.status == 200 and again.url.endswith("/web/institution")


def test_a_bureau_cannot_see_another_bureaus_warning(page: object, served: Served) -> None:
    _sign_in(page, served, served.shanghai)
    sync_api.expect(page).to_have_url(re.compile(r"/web/bureau$"))  # type: ignore[arg-type]
    answer = page.goto(f"{served.base}/web/warnings/2026-11-20/B002")  # type: ignore[attr-defined]
    assert answer.status == 404
    PROBLEMS.remove(next(p for p in PROBLEMS if "404" in p))  # that very answer, as expected
    page.locator("#logout").click()  # type: ignore[attr-defined]
    sync_api.expect(page).to_have_url(re.compile(r"/web/login$"))  # type: ignore[arg-type]
    _sign_in(page, served, served.shenzhen)
    page.goto(f"{served.base}/web/warnings/2026-11-20/B002")  # type: ignore[attr-defined]
    sync_api.expect(page.locator("dl.facts")).to_contain_text("500.00")  # type: ignore[attr-defined]


# Every value the upload's <progress> takes, recorded in the page's window (which the receipt,
# replacing the document, leaves in place; a plain form post would start a new one).
_WATCH_PROGRESS = """() => {
  const bar = document.getElementById("upload-progress");
  window.progressSeen = {values: [], shown: false};
  new MutationObserver(() => {
    window.progressSeen.values.push(Number(bar.value));
    window.progressSeen.shown = window.progressSeen.shown || !bar.hidden;
  }).observe(bar, {attributes: true});
}"""


def test_the_upload_shows_its_progress_up_to_100_then_the_receipt(
    page: object, served: Served
) -> None:
    _sign_in(page, served, served.officer)
    sync_api.expect(page).to_have_url(re.compile(r"/web/institution$"))  # type: ignore[arg-type]
    progress = page.locator("#upload-progress")  # type: ignore[attr-defined]
    sync_api.expect(progress).to_be_hidden()
    page.evaluate(_WATCH_PROGRESS)  # type: ignore[attr-defined]
    files = [str(path) for path in sorted(served.package.iterdir())]
    page.locator("#files").set_input_files(files)  # type: ignore[attr-defined]
    page.locator("#upload").click()  # type: ignore[attr-defined]
    status = page.locator("#receipt-status")  # type: ignore[attr-defined]
    sync_api.expect(status).to_contain_text("duplicate")
    seen = page.evaluate("() => window.progressSeen")  # type: ignore[attr-defined]
    assert seen is not None, "the page was left: the form was posted without the script"
    assert seen["shown"] and seen["values"][-1] == 100
    assert seen["values"] == sorted(seen["values"])


def test_without_script_the_upload_form_posts_as_it_is(page: object, served: Served) -> None:
    browser = page.context.browser  # type: ignore[attr-defined]
    plain = browser.new_context(base_url=served.base, java_script_enabled=False).new_page()
    _sign_in(plain, served, served.officer)
    sync_api.expect(plain).to_have_url(re.compile(r"/web/institution$"))
    sync_api.expect(plain.locator("#upload-progress")).to_be_hidden()
    plain.locator("#files").set_input_files(sorted(str(p) for p in served.package.iterdir()))
    plain.locator("#upload").click()
    sync_api.expect(plain).to_have_url(re.compile(r"/web/institution/packages$"))
    sync_api.expect(plain.locator("#receipt-status")).to_contain_text("duplicate")


def test_a_broken_upload_shows_each_error_with_its_file_line_and_column(
    page: object, served: Served, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(served.package, broken)
    funds = broken / "client_funds.csv"
    lines = funds.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",12.345"  # three decimals: not an amount
    funds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _sign_in(page, served, served.officer)
    sync_api.expect(page).to_have_url(re.compile(r"/web/institution$"))  # type: ignore[arg-type]
    page.locator("#files").set_input_files([str(p) for p in sorted(broken.iterdir())])  # type: ignore[attr-defined]
    page.locator("#upload").click()  # type: ignore[attr-defined]
    sync_api.expect(page.locator("#receipt-status")).to_contain_text("rejected")  # type: ignore[attr-defined]
    # (The manifest's hash of the edited file no longer matches either: a row of its own.)
    row = page.locator("#receipt-errors tbody tr", has_text="amount_must_have").first  # type: ignore[attr-defined]
    cells = row.locator("td")
    sync_api.expect(cells.nth(1)).to_have_text("client_funds.csv")
    sync_api.expect(cells.nth(2)).to_have_text("2")
    sync_api.expect(cells.nth(3)).to_contain_text("balance")  # the column, by name and number
    PROBLEMS[:] = [p for p in PROBLEMS if "422" not in p]  # the rejected upload's own answer
