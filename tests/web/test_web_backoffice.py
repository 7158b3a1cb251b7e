"""A broker's back office page over HTTP: its own batches and their status, nobody else's."""

from __future__ import annotations

from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import API, TestClient, audit_records, bearer, person, tar_of
from tests.backoffice_batches import static_batch
from tests.web.support import WEB, sign_in


def test_a_back_office_sees_its_batches_and_no_one_elses(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    operator = bearer(web_app, person(web_app, "BO:B001", Role.OPERATOR))
    body = tar_of(static_batch(tmp_path / "static"))
    imported = browser.post(f"{API}/backoffice/batches", content=body, headers=operator)
    assert imported.status_code == 200, imported.text
    landed = sign_in(browser, web_app, "BO:B001", Role.AUDITOR)
    assert landed.url.path == f"{WEB}/backoffice"
    row = landed.text[landed.text.index('id="batch-S1"') :].split("</tr>")[0]
    assert "static" in row and "applied" in row
    browser.cookies.clear()
    other = sign_in(browser, web_app, "BO:B002", Role.OPERATOR)
    assert 'id="batch-S1"' not in other.text and 'id="batches"' not in other.text
    browser.cookies.clear()
    sign_in(browser, web_app, "B001", Role.OFFICER)
    head = max(r.seq for r in audit_records(web_app))
    refused = browser.get(f"{WEB}/backoffice")
    assert refused.status_code == 403 and "policy_must_allow_action" in refused.text
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]
