"""Backup and restore on SQLite and PostgreSQL: a whole backup restores; a tampered one is named."""

from __future__ import annotations

import json
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.db.append_only import trigger_statements
from clearwatch.adapters.recovery.backup_folder import LocalBackupFolder
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.recovery.manifest import MANIFEST_NAME, SIGNATURE_NAME, RestoreRefused
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.audit.anchor import verify_anchored_audit
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.recovery.backup import back_up
from clearwatch.services.recovery.restore import restore

CLIENT_ROWS = pa.table({"client_id": ["C-0001", "C-0002"], "cash_fen": [100, 250]})


def _records(app: Application, count: int) -> None:
    for n in range(count):
        with app.uow() as uow:
            record_audit(
                uow,
                actor="alice",
                action="test.recorded",
                object_ref=f"thing:{n}",
                payload={"n": n},
                recorded_at=app.clock.now(),
            )
            uow.commit()


@pytest.fixture
def target_url(app: Application, tmp_path: Path) -> Iterator[str]:
    """Where the restore goes: a new SQLite home, or a new PostgreSQL database."""
    if app.settings.is_embedded:
        yield f"sqlite:///{tmp_path / 'restored' / 'clearwatch.sqlite3'}"
        return
    source = make_url(app.settings.database_url)
    name = f"cw_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(source.set(query={}), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _target(app: Application, tmp_path: Path, url: str, clock: FixedClock) -> Application:
    home = tmp_path / "restored"
    settings = Settings(
        home=home,
        database_url=url,
        columnar_root=str(home / "columnar"),
        audit_algorithm=HashAlgorithm.SHA256,
        engine_backend=EngineBackend.DUCKDB,
        audit_key=app.settings.audit_key_path,  # the key is escrowed, not in the backup
    )
    return build_application(settings, clock)


def _backed_up(app: Application, tmp_path: Path) -> tuple[Path, str]:
    digest = app.columnar.put_table(CLIENT_ROWS)
    _records(app, 3)
    receipt = back_up(site=app.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    return receipt.folder, digest


def test_a_backup_restores_into_a_new_home_with_its_objects_and_audit(
    app: Application, tmp_path: Path, target_url: str, clock: FixedClock
) -> None:
    folder, digest = _backed_up(app, tmp_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.rglob("*") if p.is_file())
    target = _target(app, tmp_path, target_url, clock)
    receipt = restore(site=target.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    assert receipt.audit_records >= 4
    assert target.columnar.read_table(digest).equals(CLIENT_ROWS)
    assert verify_anchored_audit(anchor=target.audit_anchor(), data=True).intact
    with pytest.raises(Refused, match="restore_target_must_be_empty"):
        restore(site=target.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    target.dispose()


def test_a_second_backup_copies_only_new_objects(app: Application, tmp_path: Path) -> None:
    _backed_up(app, tmp_path)
    app.columnar.put_table(pa.table({"client_id": ["C-0003"], "cash_fen": [7]}))
    again = back_up(site=app.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    assert (again.objects_copied, again.objects_kept) == (1, 1)


def _refusal(app: Application, tmp_path: Path, url: str, clock: FixedClock) -> RestoreRefused:
    target = _target(app, tmp_path, url, clock)
    try:
        with pytest.raises(RestoreRefused) as refused:
            restore(site=target.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
        # Nothing of the refused backup is left to be used, and the target can be restored later.
        assert target.recovery_site().store.is_empty()
        assert target.columnar.names() == []
    finally:
        target.dispose()
    return refused.value


def test_a_flipped_object_is_refused_by_name(
    app: Application, tmp_path: Path, target_url: str, clock: FixedClock
) -> None:
    _, digest = _backed_up(app, tmp_path)
    stored = LocalBackupFolder(tmp_path / "vault").object_path(digest)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    refusal = _refusal(app, tmp_path, target_url, clock)
    assert refusal.rule == "backup_object_must_match_hash"
    assert digest in str(refusal)


def test_a_missing_object_is_refused_by_name(
    app: Application, tmp_path: Path, target_url: str, clock: FixedClock
) -> None:
    _, digest = _backed_up(app, tmp_path)
    LocalBackupFolder(tmp_path / "vault").object_path(digest).unlink()
    refusal = _refusal(app, tmp_path, target_url, clock)
    assert (refusal.rule, digest in str(refusal)) == ("backup_object_must_exist", True)


def _cut_last_audit_record(dump: Path) -> None:
    """What a console user does to the dump: drop the triggers, delete, set them again."""
    connection = sqlite3.connect(dump)
    try:
        statements = trigger_statements("sqlite", "audit_log")
        for name in statements:
            connection.execute(f"DROP TRIGGER {name}")
        connection.execute("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
        for statement in statements.values():
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def test_an_audit_record_cut_from_the_dump_is_refused(
    sqlite_app: Application, tmp_path: Path, clock: FixedClock
) -> None:
    app = sqlite_app
    folder, _ = _backed_up(app, tmp_path)
    _cut_last_audit_record(folder / "store.sqlite")
    url = f"sqlite:///{tmp_path / 'restored' / 'clearwatch.sqlite3'}"
    refusal = _refusal(app, tmp_path, url, clock)
    assert (refusal.rule, "store.sqlite" in str(refusal)) == ("backup_object_must_match_hash", True)
    # Someone holding the audit key re-signs the manifest over the cut dump: the signed
    # checkpoint the backup carries still names the cut.
    manifest = (folder / MANIFEST_NAME).read_text("utf-8")
    old = LocalBackupFolder(tmp_path).hash_file(folder / "store.sqlite")
    assert old is not None
    document = json.loads(manifest)
    document["files"]["store.sqlite"] = old
    data = json.dumps(document, sort_keys=True, indent=1).encode()
    (folder / MANIFEST_NAME).write_bytes(data)
    (folder / SIGNATURE_NAME).write_text(app.recovery_site().signer.sign(data))
    refusal = _refusal(app, tmp_path, url, clock)
    assert refusal.rule == "audit_log_truncated"


def test_a_backup_signed_by_another_key_is_refused(
    sqlite_app: Application, tmp_path: Path, clock: FixedClock
) -> None:
    _backed_up(sqlite_app, tmp_path)
    home = tmp_path / "elsewhere"
    other = build_application(
        Settings(
            home=home,
            database_url=f"sqlite:///{home / 'clearwatch.sqlite3'}",
            columnar_root=str(home / "columnar"),
            audit_algorithm=HashAlgorithm.SHA256,
            engine_backend=EngineBackend.DUCKDB,
        ),
        clock,
    )
    with pytest.raises(Refused, match="backup_audit_key_must_be_present"):
        restore(site=other.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
