"""A bank is warned once per branch region, each warning routed to that region's bureau. Its
day's page shows each bureau its own warning and the bank both; before, the page showed the
day's first warning only, so the other region's bureau was told there was none (404)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from tests.api.support import approve_warnings, audit_head, audit_records, client_of
from tests.scenarios.test_cases_review import REVIEW_TIME, new_monitor
from tests.scenarios.test_monitor_day import DAY, clean_world
from tests.web.support import WEB, sign_in

PAGE = f"{WEB}/warnings/{DAY}/K001"


@pytest.fixture
def bank_day(web_app: Application, tmp_path: Path) -> Application:
    """K001 froze 10.00 in Shanghai and deducted 20.00 in Shenzhen without a document: one
    general warning (G4) for each region, both approved by a second analyst."""
    assert isinstance(web_app.clock, FixedClock)
    monitor = new_monitor(web_app, web_app.clock, tmp_path / "monitor")
    world = clean_world()
    world["K001"]["fund_actions.csv"] = [
        ["X1", "B001", "A1", "freeze", "10.00", "bank", "", "CN-SH"],
        ["X2", "B001", "A2", "deduct", "20.00", "bank", "", "CITY-SZ"],
    ]
    monitor.submit_world(world)
    monitor.run(REVIEW_TIME)
    web_app.clock.at = REVIEW_TIME
    assert approve_warnings(web_app, "K001") == 2
    return web_app


def _sections(app: Application, organisation: str, role: Role) -> list[str]:
    client = client_of(app)
    assert sign_in(client, app, organisation, role).status_code == 200
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    return [
        region
        for region in ("CN-SH", "CITY-SZ")
        if f'<section class="warning" id="warning-{region}">' in page.text
    ]


def test_each_bureau_sees_its_own_region_s_warning_of_a_bank(bank_day: Application) -> None:
    assert _sections(bank_day, "CN-SH", Role.BUREAU_ANALYST) == ["CN-SH"]
    assert _sections(bank_day, "CITY-SZ", Role.BUREAU_ANALYST) == ["CITY-SZ"]


def test_the_bank_sees_both_of_its_warnings(bank_day: Application) -> None:
    assert _sections(bank_day, "K001", Role.OFFICER) == ["CN-SH", "CITY-SZ"]


def test_a_bureau_of_neither_region_finds_no_warning_and_is_audited(bank_day: Application) -> None:
    client = client_of(bank_day)
    assert sign_in(client, bank_day, "CN-GD", Role.BUREAU_ANALYST).status_code == 200
    head = audit_head(bank_day)
    assert client.get(PAGE).status_code == 404
    assert [r.action for r in audit_records(bank_day, head)] == ["access.denied"]
