"""What the web tests share: signing in through the login form, reading its CSRF token."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pyotp

from clearwatch.bootstrap import Application
from clearwatch.domain.access.organisations import parse_organisation
from clearwatch.domain.access.roles import Role
from clearwatch.services.monitor.registry import load_registry
from tests.api.support import PASSWORD, TestClient, person, totp_of
from tests.scenarios.test_monitor_day import FILINGS, INSTITUTIONS
from tests.support.packages import write_registry

WEB = "/web"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, page[:500]
    return found.group(1)


def sign_in(
    client: TestClient | httpx.Client,
    app: Application,
    organisation: str,
    role: Role,
    user_id: str | None = None,
) -> httpx.Response:
    """A person with a password (and a second factor where the role decides), signed in
    through the login form; the client keeps the session cookie. The page it lands on."""
    parse_organisation(organisation)  # a typo in a test is an error, not a 403 later
    user_id = person(app, organisation, role, user_id, password=PASSWORD)
    form = client.get(f"{WEB}/login")
    fields = {"user_id": user_id, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    if role in (Role.REVIEWER, Role.ADMIN, Role.BUREAU_HEAD, Role.REGISTRY_OFFICER, Role.CHECKER):
        fields["totp"] = totp_of(app, user_id).now()
    return client.post(f"{WEB}/login", data=fields, follow_redirects=True)


def registry_loaded(app: Application, root: Path) -> None:
    """The test market's registry (B001, B002, K001, K002, C001), loaded."""
    registry = write_registry(root / "registry", INSTITUTIONS, FILINGS)
    loaded = load_registry(
        files=app.read_registry_files(registry),
        source=str(registry),
        actor="test-fixture",
        uow=app.uow(),
        clock=app.clock,
    )
    assert loaded.loaded, loaded.errors


def sign_in_in_browser(
    page: object, base: str, user_id: str, code: pyotp.TOTP | None = None
) -> None:
    """Through the login form in a Playwright page: the test password, and the authenticator's
    current code for who decides."""
    page.goto(f"{base}/web/login")  # type: ignore[attr-defined]
    page.get_by_label("用户").fill(user_id)  # type: ignore[attr-defined]
    page.get_by_label("密码").fill(PASSWORD)  # type: ignore[attr-defined]
    if code is not None:
        page.get_by_label("动态验证码").fill(code.now())  # type: ignore[attr-defined]
    page.locator("#sign-in").click()  # type: ignore[attr-defined]
