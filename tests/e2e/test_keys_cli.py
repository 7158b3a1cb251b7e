"""`clearwatch keys rotate`: an admin re-wraps the columnar store's data key; reads go on."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from clearwatch.bootstrap import build_application, new_master_key_file
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from tests.e2e.test_cli_foundation import clearwatch
from tests.support.identities import signed_env

ROWS = pa.table({"fund_account": ["FA0042"], "cash_fen": [5]})


def _encrypted_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    master = tmp_path / "escrow" / "master.key"
    new_master_key_file(master)
    return {
        **env,
        "CLEARWATCH_ENCRYPT_AT_REST": "1",
        "CLEARWATCH_MASTER_KEY_FILE": str(master),
    }


def _put(env: dict[str, str]) -> str:
    app = build_application(Settings.from_environment(env))
    try:
        return app.columnar.put_table(ROWS)
    finally:
        app.dispose()


def _read(env: dict[str, str], digest: str) -> pa.Table:
    app = build_application(Settings.from_environment(env))
    try:
        return app.columnar.read_table(digest)
    finally:
        app.dispose()


def test_an_admin_rotates_the_master_key_and_only_the_new_key_opens_the_store(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = _encrypted_env(cli_env, tmp_path)
    digest = _put(env)
    admin = signed_env(env, "BO:B001", Role.ADMIN)
    new_key = tmp_path / "escrow" / "master-2.key"
    rotated = clearwatch(admin, "keys", "rotate", "--new-key-file", str(new_key))
    assert rotated.returncode == 0, rotated.stderr
    assert "master key rotated" in rotated.stdout and "no object rewritten" in rotated.stdout
    assert f"CLEARWATCH_MASTER_KEY_FILE={new_key}" in rotated.stdout
    assert new_key.stat().st_mode & 0o777 == 0o600
    assert new_key.read_text().strip() not in rotated.stdout + rotated.stderr
    old = clearwatch(admin, "audit", "verify")  # any command that opens the store
    assert old.returncode == 2 and "does not open the data key" in old.stderr, old.stderr
    moved = {**env, "CLEARWATCH_MASTER_KEY_FILE": str(new_key)}
    assert _read(moved, digest).equals(ROWS)
    shown = clearwatch({**admin, **moved}, "audit", "show", "--json")
    assert "store.key_rotated" in shown.stdout, shown.stderr
    again = clearwatch({**admin, **moved}, "keys", "rotate", "--new-key-file", str(new_key))
    assert again.returncode == 3 and "new_master_key_must_differ" in again.stderr


def test_only_an_admin_rotates_and_a_plaintext_store_has_nothing_to_rotate(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = _encrypted_env(cli_env, tmp_path)
    _put(env)
    auditor = signed_env(env, "BO:B001", Role.AUDITOR)
    new_key = tmp_path / "escrow" / "never.key"
    refused = clearwatch(auditor, "keys", "rotate", "--new-key-file", str(new_key))
    assert refused.returncode == 3 and "policy_must_allow_action" in refused.stderr
    assert not new_key.exists()
    plain = signed_env(
        cli_env | {"CLEARWATCH_HOME": str(tmp_path / "plain")}, "BO:B001", Role.ADMIN
    )
    nothing = clearwatch(plain, "keys", "rotate", "--new-key-file", str(new_key))
    assert nothing.returncode == 3 and "columnar_store_must_be_encrypted" in nothing.stderr
