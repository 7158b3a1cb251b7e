"""`clearwatch backup` and `clearwatch restore` as an operator drives them."""

from __future__ import annotations

import stat
from pathlib import Path

import pyarrow as pa

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from tests.e2e.test_cli_foundation import clearwatch
from tests.support.identities import signed_env


def _escrowed(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Keys kept apart from the home, as a site that must survive losing its home keeps them."""
    keys = tmp_path / "key-escrow"
    return {
        **env,
        "CLEARWATCH_AUDIT_KEY": str(keys / "audit.pem"),
        "CLEARWATCH_ACCESS_KEY": str(keys / "access-token.key"),
    }


def _object(env: dict[str, str]) -> str:
    app = build_application(Settings.from_environment(env))
    try:
        return app.columnar.put_table(pa.table({"client_id": ["C-9"], "cash_fen": [1]}))
    finally:
        app.dispose()


def test_an_admin_backs_up_and_the_backup_restores_into_a_new_home(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = _escrowed(cli_env, tmp_path)
    admin = signed_env(env, "BO:B001", Role.ADMIN)
    digest = _object(env)
    made = clearwatch(admin, "backup", str(tmp_path / "vault"))
    assert made.returncode == 0, made.stderr
    assert "1 objects (1 copied, 0 already there)" in made.stdout
    assert stat.S_IMODE((tmp_path / "vault").stat().st_mode) == 0o700
    again = clearwatch(admin, "backup", str(tmp_path / "vault"))
    assert "(0 copied, 1 already there)" in again.stdout, again.stderr
    restored = clearwatch(env, "restore", str(tmp_path / "vault"), "--to", str(tmp_path / "new"))
    assert restored.returncode == 0, restored.stderr
    moved = {**admin, "CLEARWATCH_HOME": str(tmp_path / "new")}
    verified = clearwatch(moved, "audit", "verify", "--data")
    assert verified.returncode == 0, verified.stderr
    assert (tmp_path / "new" / "columnar" / digest[:2] / f"{digest}.parquet").is_file()


def test_only_an_admin_backs_up(cli_env: dict[str, str], tmp_path: Path) -> None:
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    refused = clearwatch(auditor, "backup", str(tmp_path / "vault"))
    assert refused.returncode == 3
    assert "policy_must_allow_action" in refused.stderr
    assert not (tmp_path / "vault").exists()


def test_a_flipped_object_is_refused_in_one_line_naming_it(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = _escrowed(cli_env, tmp_path)
    digest = _object(env)
    assert (
        clearwatch(signed_env(env, "BO:B001", Role.ADMIN), "backup", str(tmp_path / "v")).returncode
        == 0
    )
    stored = tmp_path / "v" / "objects" / digest[:2] / f"{digest}.parquet"
    data = bytearray(stored.read_bytes())
    data[-20] ^= 0xFF
    stored.write_bytes(bytes(data))
    refused = clearwatch(env, "restore", str(tmp_path / "v"), "--to", str(tmp_path / "new"))
    assert refused.returncode == 3
    assert f"error: refused: backup_object_must_match_hash: object {digest}" in refused.stderr
