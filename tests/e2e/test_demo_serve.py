"""`clearwatch demo --serve` end to end on a small market: the logins it prints sign in over
HTTP, each person lands on their own page; a store the demo did not create gets no logins."""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import pyotp

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.cli.demo_people import DEMO_ADMIN
from tests.api.support import person
from tests.web.support import csrf_of

SMALL_MARKET = (
    "--brokers", "3", "--banks", "2", "--clients", "200", "--executions", "500", "--days", "1",
    "--faults", "misappropriation",
)  # fmt: skip
demo_seconds_max = 600
_LOGIN_ROW = re.compile(r"\s([a-z0-9-]+)\s+([A-Za-z0-9_-]{16})\s+([A-Z2-7]{32}|–)\s*$")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _logins(out: str) -> dict[str, tuple[str, str | None]]:
    """user → (password, TOTP secret) from the printed table."""
    found = (_LOGIN_ROW.search(line) for line in out.splitlines())
    return {m[1]: (m[2], None if m[3] == "–" else m[3]) for m in found if m}


def _wait_for_address(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + demo_seconds_max
    while time.monotonic() < deadline:
        found = re.search(r"clearwatch web on (http://\S+)/web/login", log.read_text("utf-8"))
        if found:
            try:
                if httpx.get(f"{found[1]}/health", timeout=2).status_code == 200:
                    return found[1]
            except httpx.TransportError:
                pass
        assert process.poll() is None, log.read_text("utf-8")[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"demo --serve did not come up: {log.read_text('utf-8')[-3000:]}")


def _sign_in(base: str, user_id: str, password: str, secret: str | None) -> httpx.Response:
    with httpx.Client(base_url=base) as client:
        fields = {"user_id": user_id, "password": password}
        fields["csrf_token"] = csrf_of(client.get("/web/login").text)
        if secret is not None:
            fields["totp"] = pyotp.TOTP(secret).now()
        return client.post("/web/login", data=fields, follow_redirects=True)


def test_demo_serve_prints_one_login_per_role_and_each_signs_in(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", "demo", *SMALL_MARKET,
               "--serve", "--port", str(_free_port())]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=cli_env, stdout=output, stderr=subprocess.STDOUT)
        try:
            base = _wait_for_address(log, process)
            logins = _logins(log.read_text("utf-8"))
            landed = {user: _sign_in(base, user, *login) for user, login in logins.items()}
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    assert base.startswith("http://127.0.0.1:")
    homes = {user: answer.url.path for user, answer in landed.items()}
    assert homes == {
        "demo-analyst": "/web/sipf", "demo-reviewer": "/web/sipf", "demo-web-admin": "/web/access",
        "city-sz-analyst": "/web/bureau", "csrc-viewer": "/web/csrc",
        "b001-officer": "/web/institution",
        "bo-b001-operator": "/web/backoffice", "bo-b001-checker": "/web/backoffice",
    }, log.read_text("utf-8")[-3000:]  # fmt: skip
    assert landed["demo-analyst"].status_code == 200 and "报送情况表" in landed["demo-analyst"].text
    # A code where the role decides (reviewer, admin, checker), random passwords all different.
    assert {u for u, (_, secret) in logins.items() if secret} == {
        "demo-reviewer",
        "demo-web-admin",
        "bo-b001-checker",
    }
    assert len({password for password, _ in logins.values()}) == len(logins)
    store = Path(cli_env["CLEARWATCH_HOME"]) / "clearwatch.sqlite3"
    with closing(sqlite3.connect(store)) as db:
        stored = {row[0] for row in db.execute("select password_hash from access_credentials")}
    assert not {password for password, _ in logins.values()} & stored  # hashed, never in clear


def test_demo_serve_refuses_a_store_the_demo_did_not_create(
    cli_env: dict[str, str],
) -> None:
    # A store set up by hand, its admin even named like the demo's: no marker, no logins.
    app = build_application(Settings.from_environment(cli_env))
    app.init_schema()
    person(app, "SIPF", Role.ADMIN, DEMO_ADMIN)
    app.dispose()
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", "demo", *SMALL_MARKET,
               "--serve", "--port", str(_free_port())]  # fmt: skip
    result = subprocess.run(command, env=cli_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "demo_serve_store_must_be_the_demos" in result.stderr
    assert "simulating" not in result.stdout  # refused before the demo ran
    app = build_application(Settings.from_environment(cli_env))
    with app.read_uow() as uow:
        assert [user.user_id for user in uow.access.users()] == [DEMO_ADMIN]
    app.dispose()
