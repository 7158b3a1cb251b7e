"""`clearwatch keys encrypt-store`: a plaintext store encrypted in place, killed and run again.

The store holds a monitored day (packages, the day's results) written in plaintext. The
command is killed after one object is replaced and again halfway through writing another;
between runs every object still reads back as written and the day compared again finds what
it found. The run that completes leaves no plaintext, the day compares the same on the
encrypted store, and a package sent again is still found a duplicate.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from clearwatch.bootstrap import Application, build_application, new_master_key_file
from clearwatch.config import Settings
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.services.monitor.run_day import run_day
from clearwatch.services.monitor.submit_package import submit_package
from tests.api.support import DAY, load_world, person
from tests.e2e.test_cli_foundation import clearwatch
from tests.support.identities import as_user

ADMIN, AUDITOR = "sipf-admin", "sipf-auditor"  # written into the store by the fixture
ENCRYPTED_FOOTER = b"PARE"  # the last bytes of a Parquet file whose footer is encrypted


def _app(env: dict[str, str]) -> Application:
    return build_application(Settings.from_environment(env))


def _footers(columnar: Path) -> dict[str, bytes]:
    found = sorted(p for p in columnar.glob("*/*.parquet") if p.parent.name != "tmp")
    return {p.stem: p.read_bytes()[-4:] for p in found}


@pytest.fixture
def plaintext_day(cli_env: dict[str, str], tmp_path: Path) -> tuple[dict[str, str], dict]:
    """A monitored day in a plaintext store; the escrowed master key in the environment."""
    app = _app(cli_env)
    try:
        app.init_schema()
        packages = load_world(app, tmp_path / "market")
        person(app, "SIPF", Role.ADMIN), person(app, "SIPF", Role.AUDITOR)
        names = app.columnar.names()
        rows = {name: app.columnar.read_table(name) for name in names}
    finally:
        app.dispose()
    master = tmp_path / "escrow" / "master.key"
    new_master_key_file(master)
    assert len(rows) >= 3 and all(v == b"PAR1" for v in _footers(_columnar(cli_env)).values())
    return cli_env | {"CLEARWATCH_MASTER_KEY_FILE": str(master)}, {
        "rows": rows,
        "packages": packages,
    }


def _columnar(env: dict[str, str]) -> Path:
    return Path(Settings.from_environment(env).columnar_root)


def _reads_back(env: dict[str, str], rows: dict) -> None:
    app = _app(env)
    try:
        for name, table in rows.items():
            assert app.columnar.read_table(name).equals(table), name
            app.columnar.verify(name)
    finally:
        app.dispose()


def _same_day_again(env: dict[str, str]) -> None:
    """The day compared again finds exactly what it found on the plaintext store; on the
    PostgreSQL engine too when a test server is given."""
    engines = [{}]
    if url := os.environ.get("CLEARWATCH_TEST_POSTGRES_URL"):
        engines.append({"CLEARWATCH_ENGINE": "postgres", "CLEARWATCH_ENGINE_URL": url})
    for engine in engines:
        app = _app(env | engine)
        try:
            again = run_day(business_date=DAY, actor="test-fixture", context=app.run_day_context())
        finally:
            app.dispose()
        assert not again.recorded and again.result.institutions, engine  # no new version


def test_a_killed_run_leaves_every_object_readable_and_the_next_run_finishes(
    plaintext_day: tuple[dict[str, str], dict],
) -> None:
    env, day = plaintext_day
    admin = as_user(env, ADMIN)
    columnar = _columnar(env)

    killed = clearwatch(admin | {"CLEARWATCH_CRASH_AT": "columnar_encrypt_replaced"},
                        "keys", "encrypt-store")  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    footers = _footers(columnar)
    assert sorted(footers.values()).count(ENCRYPTED_FOOTER) == 1  # one object, whole
    _reads_back(env, day["rows"])  # a mixed store: each object read in its own form
    _same_day_again(env)  # and the engines scan both forms

    killed = clearwatch(admin | {"CLEARWATCH_CRASH_AT": "columnar_encrypt_written"},
                        "keys", "encrypt-store")  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert list((columnar / "tmp").iterdir())  # the half-done copy, never under a name
    _reads_back(env, day["rows"])

    done = clearwatch(admin, "keys", "encrypt-store")
    assert done.returncode == 0, done.stderr
    assert "store encrypted" in done.stdout and "1 already encrypted" in done.stdout
    assert set(_footers(columnar).values()) == {ENCRYPTED_FOOTER}
    assert not list((columnar / "tmp").iterdir())
    # No object can be read without the key. (Not a search of the bytes for an identifier:
    # the world's are two characters long, and ciphertext holds any two bytes by chance.)
    for stored in columnar.glob("*/*.parquet"):
        with pytest.raises(OSError):
            pq.read_table(stored)
    encrypted_env = env | {"CLEARWATCH_ENCRYPT_AT_REST": "1"}
    _reads_back(encrypted_env, day["rows"])
    _same_day_again(encrypted_env)
    shown = clearwatch(admin, "audit", "show", "--json")
    assert "store.encrypted_in_place" in shown.stdout, shown.stderr

    again = clearwatch(admin, "keys", "encrypt-store")  # converged: nothing left to do
    assert again.returncode == 0 and "0 objects encrypted now" in again.stdout, again.stderr

    app = _app(encrypted_env)
    try:
        gate = app.gate(local_caller(person(app, "B001", Role.SUBMITTER)))
        sent = submit_package(
            directory=str(day["packages"]["B001"]), context=app.submit_context(), gate=gate
        )
        assert sent.status.value == "duplicate", sent.to_json()
    finally:
        app.dispose()


def test_without_the_master_key_or_the_admin_role_nothing_is_encrypted(
    plaintext_day: tuple[dict[str, str], dict],
) -> None:
    env, _ = plaintext_day
    columnar = _columnar(env)
    before = _footers(columnar)
    keyless = {k: v for k, v in env.items() if k != "CLEARWATCH_MASTER_KEY_FILE"}
    refused = clearwatch(as_user(keyless, ADMIN), "keys", "encrypt-store")
    assert refused.returncode == 2 and "CLEARWATCH_MASTER_KEY_FILE" in refused.stderr
    denied = clearwatch(as_user(env, AUDITOR), "keys", "encrypt-store")
    assert denied.returncode == 3 and "policy_must_allow_action" in denied.stderr
    assert _footers(columnar) == before and not (columnar / "keyring.json").exists()
    # With the setting on and plaintext objects, the store refuses to start and says why.
    on = clearwatch(as_user(env | {"CLEARWATCH_ENCRYPT_AT_REST": "1"}, ADMIN),
                    "audit", "verify")  # fmt: skip
    assert on.returncode == 2 and "clearwatch keys encrypt-store" in on.stderr, on.stderr
    assert pq.ParquetFile(next(iter(columnar.glob("*/*.parquet")))).metadata is not None
