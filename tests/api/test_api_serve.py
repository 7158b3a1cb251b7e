"""`clearwatch serve` as a real server: TLS with a certificate made here and a client that
verifies it, and two servers on one PostgreSQL taking the same package at once."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from tests.api.support import API, bearer, person, tar_of, write_world
from tests.scenarios.test_monitor_day import FILINGS, INSTITUTIONS
from tests.support.packages import write_registry

server_start_seconds_max = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clearwatch test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@contextmanager
def serving(
    env: dict[str, str], log: Path, *args: str, verify: ssl.SSLContext | bool = True
) -> Iterator[str]:
    """`clearwatch serve` on a free loopback port until the block ends; its base URL."""
    port = _free_port()
    scheme = "https" if "--tls-cert" in args else "http"
    base = f"{scheme}://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "clearwatch.entrypoints.cli", "serve", "--port", str(port),
             *args],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_until_up(base, process, log, verify)
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(
    base: str, process: subprocess.Popen[bytes], log: Path, verify: ssl.SSLContext | bool
) -> None:
    deadline = time.monotonic() + server_start_seconds_max
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"{base}/health", verify=verify, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"serve did not come up: {log.read_text()}")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CLEARWATCH_")}
    env["CLEARWATCH_HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return {**env, **extra}


def test_serve_speaks_tls_with_the_given_certificate_and_logs_no_token(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    env = _env(tmp_path)
    app = build_application(Settings.from_environment(env))
    headers = bearer(app, person(app, "SIPF", Role.ANALYST))
    app.dispose()
    trusted = ssl.create_default_context(cafile=str(cert))
    log = tmp_path / "serve.log"
    with serving(env, log, "--tls-cert", str(cert), "--tls-key", str(key), verify=trusted) as base:
        with httpx.Client(base_url=base, verify=trusted) as client:
            me = client.get(f"{API}/auth/whoami", headers=headers)
            assert me.status_code == 200 and me.json()["user_id"] == "sipf-analyst"
            assert client.get(f"{API}/warnings", headers=headers).status_code == 200
        with pytest.raises(httpx.ConnectError):  # the system's trust store knows no such CA
            httpx.get(f"{base}/health", verify=ssl.create_default_context())
        with pytest.raises(httpx.HTTPError):  # plain HTTP to the TLS port gets no answer
            httpx.get(base.replace("https", "http") + "/health", timeout=5)
    output = log.read_text()
    assert "https://127.0.0.1" in output and "GET /api/v1/auth/whoami" in output
    token = headers["Authorization"].removeprefix("Bearer ")
    assert token not in output and "Authorization" not in output


def test_a_tls_certificate_without_its_key_is_a_usage_error(tmp_path: Path) -> None:
    cert, _ = _certificate(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", "serve", "--tls-cert", str(cert)],
        env=_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "--tls-cert and --tls-key go together" in result.stderr


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_take_the_same_package_once(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    env = _env(tmp_path, CLEARWATCH_DATABASE_URL=postgres_schema_url)
    app = build_application(Settings.from_environment(env))
    app.init_schema()
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)
    officer = bearer(app, person(app, "SIPF", Role.REGISTRY_OFFICER))
    submitter = bearer(app, person(app, "B001", Role.SUBMITTER))
    app.dispose()
    body = tar_of(write_world(tmp_path / "market")["B001"])
    with (
        serving(env, tmp_path / "one.log") as one,
        serving(env, tmp_path / "two.log") as two,
    ):
        loaded = httpx.post(f"{one}{API}/registry", content=tar_of(registry), headers=officer)
        assert loaded.status_code == 200, loaded.text
        answers: dict[str, httpx.Response] = {}
        start = threading.Barrier(2)

        def upload(base: str) -> None:
            start.wait()
            answers[base] = httpx.post(
                f"{base}{API}/packages", content=body, headers=submitter, timeout=120
            )

        threads = [threading.Thread(target=upload, args=(base,)) for base in (one, two)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses = sorted(answer.json()["status"] for answer in answers.values())
    assert statuses == ["accepted", "duplicate"], [a.text for a in answers.values()]
    ids = {answer.json()["package"]["package_id"] for answer in answers.values()}
    assert len(ids) == 1  # the duplicate names the package the other server accepted


def test_each_server_process_puts_its_start_up_heap_out_of_the_collectors_way(
    tmp_path: Path,
) -> None:
    """What `serve --workers N` builds in each process is frozen once built: the cyclic
    collector's full passes no longer walk it in the middle of requests."""
    env = {**os.environ, "CLEARWATCH_HOME": str(tmp_path / "home")}
    script = (
        "import gc; from clearwatch.entrypoints.api.app import app_from_environment; "
        "before = gc.get_freeze_count(); app_from_environment(); "
        "print(before, gc.get_freeze_count())"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    before, after = (int(n) for n in ran.stdout.split())
    assert before == 0 and after > 100_000, ran.stdout
