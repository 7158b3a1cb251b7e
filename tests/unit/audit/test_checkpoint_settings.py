"""Where the audit key and checkpoints live: under the home by default, apart from the database."""

from __future__ import annotations

from pathlib import Path

from clearwatch.config import Settings


def test_key_and_checkpoints_default_under_the_home_outside_the_database(tmp_path: Path) -> None:
    settings = Settings.from_environment({"CLEARWATCH_HOME": str(tmp_path)})
    assert settings.audit_key_path == tmp_path / "audit-key" / "ed25519.pem"
    assert settings.audit_checkpoints_dir == tmp_path / "audit-checkpoints"
    assert str(settings.audit_key_path) not in settings.database_url


def test_the_environment_names_other_places(tmp_path: Path) -> None:
    settings = Settings.from_environment(
        {
            "CLEARWATCH_HOME": str(tmp_path / "home"),
            "CLEARWATCH_AUDIT_KEY": str(tmp_path / "keys" / "audit.pem"),
            "CLEARWATCH_AUDIT_CHECKPOINTS": str(tmp_path / "witness"),
        }
    )
    assert settings.audit_key_path == tmp_path / "keys" / "audit.pem"
    assert settings.audit_checkpoints_dir == tmp_path / "witness"
