"""A standby on PostgreSQL: a backup restored into a second database serves in the first's stead.

The live store runs a market day on one PostgreSQL database and is backed up (`pg_dump`). The
backup is restored with `clearwatch restore` into a second database, and two `clearwatch
serve` processes are started on it, each with its own empty home: all they share is what the
environment names (the database, the columnar root, the checkpoints, the keys). Both answer
the same; the first is killed with SIGKILL; the second still answers the same and takes an
upload, which the restored store then holds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clearwatch.bootstrap import Application, build_application
from clearwatch.config import Settings
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.services.monitor.registry import load_registry
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.submit_package import submit_package
from clearwatch.services.recovery.backup import back_up
from tests.api.support import API, DAY, bearer, new_app, person, tar_of, write_world
from tests.api.test_api_serve import _free_port, _wait_until_up
from tests.scenarios.test_monitor_day import FILINGS, INSTITUTIONS
from tests.support.packages import write_registry

pytestmark = pytest.mark.postgres

HELD_BACK = "K002"  # its package reaches the store only through the standby, after failover
cli_seconds_max = 180


@pytest.fixture
def databases() -> Iterator[tuple[str, ...]]:
    """Two new, empty PostgreSQL databases on the test server: the live one, the standby."""
    base = os.environ.get("CLEARWATCH_TEST_POSTGRES_URL")
    if not base:
        # Only a machine without PostgreSQL configured skips; .ci/run always sets the URL.
        pytest.skip("CLEARWATCH_TEST_POSTGRES_URL is not set")
    server = make_url(base).set(drivername="postgresql+psycopg", query={})
    names = [f"cw_standby_{role}_{uuid.uuid4().hex[:8]}" for role in ("live", "copy")]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        live, standby = (
            server.set(database=n).render_as_string(hide_password=False) for n in names
        )
        yield live, standby
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _market_day(live: Application, root: Path) -> dict[str, Path]:
    """The registry, every package but HELD_BACK's, each by its own submitter; the day run."""
    registry = write_registry(root / "registry", INSTITUTIONS, FILINGS)
    loaded = load_registry(
        files=live.read_registry_files(registry),
        source=str(registry),
        actor="test-fixture",
        uow=live.uow(),
        clock=live.clock,
    )
    assert loaded.loaded, loaded.errors
    packages = write_world(root / "world")
    for institution, directory in packages.items():
        if institution == HELD_BACK:
            continue
        gate = live.gate(local_caller(person(live, institution, Role.SUBMITTER)))
        receipt = submit_package(directory=str(directory), context=live.submit_context(), gate=gate)
        assert receipt.status.value == "accepted", receipt.to_json()
    run_day(business_date=DAY, actor="test-fixture", context=live.run_day_context())
    return packages


def _standby_env(tmp_path: Path, database_url: str, keys: Path, home: str) -> dict[str, str]:
    """What a standby server is given: everything it shares is named here; its home is empty."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLEARWATCH_")}
    shared = tmp_path / "standby-shared"
    return env | {
        "CLEARWATCH_HOME": str(tmp_path / home),
        "XDG_CONFIG_HOME": str(tmp_path / home / "config"),
        "CLEARWATCH_DATABASE_URL": database_url,
        "CLEARWATCH_COLUMNAR_ROOT": str(shared / "columnar"),
        "CLEARWATCH_AUDIT_CHECKPOINTS": str(shared / "checkpoints"),
        "CLEARWATCH_AUDIT_KEY": str(keys / "audit-ed25519.pem"),
        "CLEARWATCH_ACCESS_KEY": str(keys / "access-token.key"),
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env=env, capture_output=True, text=True, timeout=cli_seconds_max,
    )  # fmt: skip


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "clearwatch.entrypoints.cli", "serve", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    _wait_until_up(base, process, log, True)
    return process, base


def _answers(base: str, headers: dict[str, str]) -> tuple[object, object, object]:
    """What a reader sees: the day's warnings, the packages received, the day's result."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        warnings = client.get(f"{API}/warnings")
        packages = client.get(f"{API}/packages")
        day = client.get(f"{API}/monitor/days/{DAY.isoformat()}")
    for answer in (warnings, packages, day):
        assert answer.status_code == 200, answer.text
    return warnings.json(), packages.json(), day.json()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_standby_restored_from_backup_serves_after_the_first_server_is_killed(
    tmp_path: Path, databases: tuple[str, ...]
) -> None:
    live_url, standby_url = databases
    keys = tmp_path / "key-escrow"  # kept apart from every home, as a site that fails over must
    live = new_app(
        tmp_path / "live-home",
        live_url,
        audit_key=keys / "audit-ed25519.pem",
        access_key=keys / "access-token.key",
    )
    try:
        packages = _market_day(live, tmp_path / "market")
        receipt = back_up(site=live.recovery_site(), folder=live.backup_folder(tmp_path / "vault"))
        assert receipt.manifest.store_kind == "postgresql"
    finally:
        live.dispose()

    one_env = _standby_env(tmp_path, standby_url, keys, "server-one")
    restored = _cli(one_env, "restore", str(tmp_path / "vault"))
    assert restored.returncode == 0, restored.stdout + restored.stderr

    standby = build_application(Settings.from_environment(one_env))
    try:
        analyst = bearer(standby, person(standby, "SIPF", Role.ANALYST))
        submitter = bearer(standby, person(standby, HELD_BACK, Role.SUBMITTER))
    finally:
        standby.dispose()

    two_env = _standby_env(tmp_path, standby_url, keys, "server-two")
    one, one_base = _serve(one_env, tmp_path / "one.log")
    try:
        two, two_base = _serve(two_env, tmp_path / "two.log")
        try:
            before = _answers(one_base, analyst)
            warnings, received, _ = before
            assert isinstance(warnings, list) and warnings, warnings  # B002 is 500.00 short
            assert isinstance(received, list) and len(received) == len(packages) - 1
            assert _answers(two_base, analyst) == before

            one.send_signal(signal.SIGKILL)  # the first server dies without a word
            one.wait(timeout=30)
            with pytest.raises(httpx.TransportError):
                httpx.get(f"{one_base}/health", timeout=5)
            assert _answers(two_base, analyst) == before

            body = tar_of(packages[HELD_BACK])
            upload = httpx.post(f"{two_base}{API}/packages", content=body, headers=submitter)
            assert upload.status_code in (200, 201), upload.text
            assert upload.json()["status"] == "accepted", upload.text
            again = httpx.post(f"{two_base}{API}/packages", content=body, headers=submitter)
            assert again.json()["status"] == "duplicate", again.text
        finally:
            _stop(two)
    finally:
        _stop(one)

    # The write went to the restored store, not to anything the server kept for itself.
    held = build_application(Settings.from_environment(one_env))
    try:
        with held.engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM monitor_packages")).scalar()
        assert count == len(packages)
    finally:
        held.dispose()
