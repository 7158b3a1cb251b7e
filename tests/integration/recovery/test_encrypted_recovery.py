"""Recovery of an encrypted columnar store: the wrapped data key travels with the backup, the
master key never does; a site without it, or set to encrypt a plaintext backup, refuses."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from clearwatch.adapters.recovery.backup_folder import LocalBackupFolder
from clearwatch.bootstrap import Application, build_application, new_master_key_file
from clearwatch.config import Settings
from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.entrypoints.cli.recovery_drill import DisasterRecoverySites
from clearwatch.services.drills.disaster_recovery import run_disaster_recovery_drill
from clearwatch.services.recovery.backup import KEYRING_NAME, back_up
from clearwatch.services.recovery.restore import restore

CLIENTS = pa.table({"fund_account": ["FA88000017"], "client_id": ["C-31415926"], "cash_fen": [7]})


def _site(tmp_path: Path, home: str, *, master: Path | None, encrypt: bool = True) -> Application:
    environment = {"CLEARWATCH_AUDIT_KEY": str(tmp_path / "escrow" / "audit.pem")}
    if master is not None:
        environment["CLEARWATCH_MASTER_KEY_FILE"] = str(master)
        environment["CLEARWATCH_ENCRYPT_AT_REST"] = "1" if encrypt else "0"
    return build_application(Settings.from_environment(environment, home=tmp_path / home))


def _master(tmp_path: Path) -> Path:
    path = tmp_path / "escrow" / "master.key"
    new_master_key_file(path)
    return path


def _vault_bytes(vault: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(vault.rglob("*")) if p.is_file())


def test_the_disaster_recovery_drill_passes_on_an_encrypted_store(tmp_path: Path) -> None:
    sites = DisasterRecoverySites(tmp_path, encrypted=True)
    try:
        report = run_disaster_recovery_drill(site=sites)
    finally:
        sites.close()
    assert report.passed, report
    vault = sites.vault
    [keyring] = list(vault.glob(f"backups/*/{KEYRING_NAME}"))
    master = (tmp_path / "key-escrow" / "columnar-master.key").read_bytes().strip()
    assert master not in _vault_bytes(vault)  # the master key never goes into a backup
    assert b'"master_key_id"' in keyring.read_bytes()


def test_an_encrypted_backup_restores_with_the_master_key_and_holds_no_identifier(
    tmp_path: Path,
) -> None:
    master = _master(tmp_path)
    live = _site(tmp_path, "live", master=master)
    digest = live.columnar.put_table(CLIENTS)
    receipt = back_up(site=live.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    assert receipt.manifest.encrypted
    stored = _vault_bytes(tmp_path / "vault")
    assert b"FA88000017" not in stored and b"C-31415926" not in stored
    # Restored with the master key alone (the keyring came with the backup), encryption off.
    target = _site(tmp_path, "new", master=master, encrypt=False)
    restore(site=target.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    assert target.columnar.read_table(digest).equals(CLIENTS)


def test_a_site_without_the_master_key_refuses_the_restore_by_name(tmp_path: Path) -> None:
    live = _site(tmp_path, "live", master=_master(tmp_path))
    live.columnar.put_table(CLIENTS)
    back_up(site=live.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    target = _site(tmp_path, "new", master=None)
    with pytest.raises(ConfigurationError, match="CLEARWATCH_MASTER_KEY_FILE"):
        restore(site=target.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    assert not list((tmp_path / "new" / "columnar").rglob("*.parquet"))  # nothing left behind
    assert not (tmp_path / "new" / "columnar" / "keyring.json").exists()


def test_a_plaintext_backup_is_not_restored_into_a_site_set_to_encrypt(tmp_path: Path) -> None:
    live = _site(tmp_path, "live", master=None)
    live.columnar.put_table(CLIENTS)
    back_up(site=live.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
    target = _site(tmp_path, "new", master=_master(tmp_path))
    with pytest.raises(ConfigurationError, match="CLEARWATCH_ENCRYPT_AT_REST=1"):
        restore(site=target.recovery_site(), folder=LocalBackupFolder(tmp_path / "vault"))
