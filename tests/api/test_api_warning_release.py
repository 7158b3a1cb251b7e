"""A warning leaves SIPF only once a second analyst approves it (spec platform §3, §5).

The test market's day warns B002 (M2 G3, major: to CITY-SZ, a copy to B002, a special report
to CSRC). Run-day leaves it proposed: the bureau, the institution and CSRC read none of it,
nor the case behind it, through any listing or by asking for it; SIPF reads it all along.
Approved, each recipient reads it; withdrawn, none ever does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.services.monitor.delivery_approval import review_warnings, withdraw_warning
from tests.api.support import (
    API,
    TestClient,
    approve_warnings,
    audit_head,
    audit_records,
    bearer,
    load_world,
    person,
    row_counts,
)

RECIPIENTS = (("CITY-SZ", Role.BUREAU_ANALYST), ("B002", Role.OFFICER), ("CSRC", Role.CSRC_VIEWER))
SIPF = (("SIPF", Role.ANALYST), ("SIPF", Role.REVIEWER))


def _get(client: TestClient, app: Application, path: str, organisation: str, role: Role) -> Any:
    headers = bearer(app, person(app, organisation, role))
    return client.get(f"{API}{path}", headers=headers)


def _warnings(client: TestClient, app: Application, organisation: str, role: Role) -> list[Any]:
    answer = _get(client, app, "/warnings", organisation, role)
    assert answer.status_code == 200, answer.text
    return [w for w in answer.json() if w["institution_id"] == "B002"]


def _reviewed(client: TestClient, app: Application, organisation: str, role: Role) -> list[Any]:
    answer = _get(client, app, "/warnings/review", organisation, role)
    assert answer.status_code == 200, answer.text
    return [w for w in answer.json() if w["institution_id"] == "B002"]


def _b002_case(app: Application) -> int:
    with app.read_uow() as uow:
        [case] = [c for c in uow.cases.cases() if c.institution_id == "B002"]
    return case.case_id


def _bureau_cases(client: TestClient, app: Application) -> list[Any]:
    answer = _get(client, app, "/cases", "CITY-SZ", Role.BUREAU_ANALYST)
    assert answer.status_code == 200, answer.text
    return [c for c in answer.json() if c["institution_id"] == "B002"]


def _assert_private_to_sipf(client: TestClient, app: Application) -> None:
    for organisation, role in RECIPIENTS:
        assert _warnings(client, app, organisation, role) == [], organisation
        assert _reviewed(client, app, organisation, role) == [], organisation
    assert _bureau_cases(client, app) == []
    # Asked for by its id, the case behind it is answered as one that does not exist.
    headers = bearer(app, person(app, "CITY-SZ", Role.BUREAU_ANALYST))
    before, head = row_counts(app), audit_head(app)
    shown = client.get(f"{API}/cases/{_b002_case(app)}", headers=headers)
    assert shown.status_code == 404, shown.text
    assert row_counts(app) == before
    assert [r.action for r in audit_records(app, head)] == ["access.denied"]
    for organisation, role in SIPF:
        [seen] = _warnings(client, app, organisation, role)
        assert seen["released"] is False and seen["special_report"] is True


def test_recipients_read_a_warning_and_its_case_only_once_a_second_analyst_approves_it(
    client: TestClient, api_app: Application, tmp_path: Path
) -> None:
    load_world(api_app, tmp_path)
    _assert_private_to_sipf(client, api_app)
    assert approve_warnings(api_app, "B002") == 1
    for organisation, role in RECIPIENTS + SIPF:
        [seen] = _warnings(client, api_app, organisation, role)
        assert seen["released"] is True, organisation
        [reviewed] = _reviewed(client, api_app, organisation, role)
        assert reviewed["status"] == "approved", organisation
    assert [c["case_id"] for c in _bureau_cases(client, api_app)] == [_b002_case(api_app)]
    shown = _get(client, api_app, f"/cases/{_b002_case(api_app)}", "CITY-SZ", Role.BUREAU_ANALYST)
    assert shown.status_code == 200, shown.text
    # Another bureau still reads none of it.
    assert _warnings(client, api_app, "CN-SH", Role.BUREAU_ANALYST) == []


def test_a_withdrawn_warning_never_leaves_sipf(
    client: TestClient, api_app: Application, tmp_path: Path
) -> None:
    load_world(api_app, tmp_path)
    reviewer = api_app.gate(local_caller(person(api_app, "SIPF", Role.REVIEWER, "second")))
    context = api_app.delivery_context()
    [warning] = [
        w for w in review_warnings(gate=reviewer, context=context) if w.institution_id == "B002"
    ]
    withdraw_warning(
        warning_id=warning.warning_id, reason="a data error", gate=reviewer, context=context
    )
    _assert_private_to_sipf(client, api_app)
    for organisation, role in SIPF:
        [reviewed] = _reviewed(client, api_app, organisation, role)
        assert reviewed["status"] == "withdrawn"
