"""SIPF's registry page and the run of a day from the day page, over HTTP: the same use cases
as `registry show` and `monitor run-day`, asked of the policy, special accounts masked."""

from __future__ import annotations

from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.masking import mask
from tests.api.support import DAY, FILINGS, TestClient, audit_records, load_world
from tests.web.support import WEB, csrf_of, sign_in


def _latest_version(app: Application) -> int | None:
    with app.read_uow() as uow:
        run = uow.monitor_runs.latest(DAY)
    return None if run is None else run.result_version


def test_an_analyst_runs_the_day_from_its_page_and_a_bureau_cannot(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path / "market", run=False)  # every package in, the day not run
    before = _latest_version(web_app)
    assert before is None
    bureau = sign_in(browser, web_app, "CITY-SZ", Role.BUREAU_ANALYST)
    refused = browser.post(
        f"{WEB}/sipf/days/{DAY}/run", data={"csrf_token": csrf_of(bureau.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 403
    assert _latest_version(web_app) == before
    assert any(r.action == "access.denied" for r in audit_records(web_app))
    browser.post(f"{WEB}/logout", data={"csrf_token": csrf_of(bureau.text)})
    day = sign_in(browser, web_app, "SIPF", Role.ANALYST)
    assert f'action="/web/sipf/days/{DAY}/run"' in browser.get(f"{WEB}/sipf?date={DAY}").text
    forged = browser.post(f"{WEB}/sipf/days/{DAY}/run", data={}, follow_redirects=False)
    assert forged.status_code == 403 and _latest_version(web_app) == before
    ran = browser.post(
        f"{WEB}/sipf/days/{DAY}/run", data={"csrf_token": csrf_of(day.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert ran.status_code == 303, ran.text
    assert ran.headers["location"] == f"{WEB}/sipf?date={DAY}&ran=1"
    assert _latest_version(web_app) == 1
    assert "B002" in browser.get(f"{WEB}/sipf?date={DAY}").text  # its warning, graded


def test_the_registry_page_shows_special_accounts_masked_to_sipf_only(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    load_world(web_app, tmp_path / "market", run=False)
    sign_in(browser, web_app, "SIPF", Role.ANALYST)
    page = browser.get(f"{WEB}/sipf/registry")
    assert page.status_code == 200
    accounts = page.text[page.text.index('id="registry-accounts"') :]
    for filing in FILINGS:
        number = filing[0]
        assert mask(number) in accounts and number not in page.text
    assert 'id="registry-versions"' in page.text
    browser.cookies.clear()
    sign_in(browser, web_app, "B001", Role.OFFICER)
    assert browser.get(f"{WEB}/sipf/registry").status_code == 403
