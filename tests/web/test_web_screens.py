"""The main page of each role in real Chromium (Debian's `chromium` through Playwright's
`executable_path`), saved as PNG: to a temporary folder, or to `docs/screens/` when
`CLEARWATCH_SCREENS_DIR` names it (`make screens`). One store serves every role: a reviewed
day with cases and warnings (B001 major → CN-SH approved and delivered, with its special report
to CSRC; B002 → CITY-SZ proposed) and a back office's batch, served in-process on a free
loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.credentials import needs_second_factor
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.entrypoints.api.app import create_app
from clearwatch.services.monitor.delivery import deliver_due
from clearwatch.services.monitor.delivery_approval import approve_warning, review_warnings
from tests.api.support import (
    API,
    PASSWORD,
    bearer,
    new_app,
    person,
    tar_of,
    totp_of,
    user_id_of,
)
from tests.backoffice_batches import static_batch
from tests.scenarios.test_cases_review import REVIEW_TIME, gap_world, new_monitor, overdraft_world

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
SCREENS_DIR = "CLEARWATCH_SCREENS_DIR"
VIEWPORT = {"width": 1280, "height": 900}
server_start_seconds_max = 60


@dataclass(frozen=True)
class Screen:
    """A role's main page: who signs in, the page shown, the PNG's name, a text it must show."""

    name: str
    organisation: str
    role: Role
    path: str
    shows: str


SCREENS = (
    Screen("sipf-analyst", "SIPF", Role.ANALYST, "/web/sipf?date=2026-11-20", "报送情况表"),
    Screen("sipf-reviewer", "SIPF", Role.REVIEWER, "/web/sipf/review", "B002"),
    Screen("bureau", "CN-SH", Role.BUREAU_ANALYST, "/web/bureau", "B001"),
    Screen("csrc", "CSRC", Role.CSRC_VIEWER, "/web/csrc", "B001"),
    Screen("institution-officer", "B001", Role.OFFICER, "/web/institution", "B001"),
    Screen("admin", "SIPF", Role.ADMIN, "/web/access", "sipf-admin"),
    Screen("backoffice-operator", "BO:B001", Role.OPERATOR, "/web/backoffice", "S1"),
    Screen("backoffice-checker", "BO:B001", Role.CHECKER, "/web/backoffice", "S1"),
)


@dataclass(frozen=True)
class Served:
    base: str
    codes: dict[str, pyotp.TOTP]  # user → second factor, for the roles that decide


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("screens")
    app = new_app(root / "home")
    assert isinstance(app.clock, FixedClock)
    monitor = new_monitor(app, app.clock, root)
    world = gap_world()
    world["B002"] = overdraft_world()["B002"]
    monitor.submit_world(world)
    monitor.run(REVIEW_TIME)
    app.clock.at = REVIEW_TIME
    users = {s.name: person(app, s.organisation, s.role, password=PASSWORD) for s in SCREENS}
    _approve_and_deliver_the_major_warning(app, users["sipf-reviewer"])
    codes = {
        users[s.name]: totp_of(app, users[s.name])
        for s in SCREENS
        if needs_second_factor(frozenset({s.role}))
    }
    port = _free_port()
    config = uvicorn.Config(
        create_app(app, anchor_every_seconds=None), host="127.0.0.1", port=port,
        log_level="warning",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + server_start_seconds_max
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        operator = bearer(app, users["backoffice-operator"])
        body = tar_of(static_batch(root / "static"))
        imported = httpx.post(
            f"{base}{API}/backoffice/batches", content=body, headers=operator, timeout=120
        )
        assert imported.status_code == 200, imported.text
        yield Served(base, codes)
    finally:
        server.handle_exit(signal.SIGINT, None)  # as Ctrl-C would: finish, then stop
        thread.join(timeout=30)
        app.dispose()


def _approve_and_deliver_the_major_warning(app: Application, reviewer_id: str) -> None:
    """B001's major warning approved and delivered (CSRC's page lists its special report);
    B002's stays proposed for the reviewer's page."""
    reviewer = app.gate(local_caller(reviewer_id))
    proposed = review_warnings(
        gate=reviewer, context=app.delivery_context(), status=WarningStatus.PROPOSED
    )
    major = next(w for w in proposed if w.special_report)
    approve_warning(warning_id=major.warning_id, gate=reviewer, context=app.delivery_context())
    done = deliver_due(context=app.delivery_context(), worker="test-worker")
    assert done.delivered == done.attempted > 0 and done.parked == 0


def _screens_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get(SCREENS_DIR)
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_each_roles_main_page_is_saved_whole_with_its_chinese_text(
    served: Served, tmp_path: Path
) -> None:
    folder = _screens_dir(tmp_path)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            for screen in SCREENS:
                _shoot(browser, served, screen, folder / f"{screen.name}.png")
        finally:
            browser.close()
    saved = sorted(path.name for path in folder.glob("*.png"))
    assert set(saved) >= {f"{screen.name}.png" for screen in SCREENS}


def _shoot(browser: object, served: Served, screen: Screen, png: Path) -> None:
    context = browser.new_context(base_url=served.base, viewport=VIEWPORT, locale="zh-CN")  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        user_id = user_id_of(screen.organisation, screen.role)
        page.goto("/web/login")
        page.get_by_label("用户").fill(user_id)
        page.get_by_label("密码").fill(PASSWORD)
        if user_id in served.codes:
            page.get_by_label("动态验证码").fill(served.codes[user_id].now())
        page.locator("#sign-in").click()
        page.wait_for_url(lambda url: "/web/login" not in url)
        answer = page.goto(screen.path)
        assert answer is not None and answer.status == 200, (screen.name, answer and answer.status)
        sync_api.expect(page.locator("main")).to_contain_text(screen.shows)
        # Nothing cut off sideways: the page fits the window's width.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{screen.name} is {overflow}px wider than the window"
        page.screenshot(path=str(png), full_page=True)
    finally:
        context.close()
    assert png.stat().st_size > 10_000  # a drawn page, not a blank one
