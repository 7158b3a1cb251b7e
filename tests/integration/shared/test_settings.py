"""Settings: every variable a typed field, bad values refused by name, and wired once."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from clearwatch.adapters.engine.monitor.backends import (
    DuckDBFindingsEngine,
    PostgresFindingsEngine,
    SparkFindingsEngine,
)
from clearwatch.bootstrap import build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.shared.errors import ConfigurationError

PG = "postgresql://u:secret@db.example:5432/cw"
PACKAGED_RULES = resources.files("clearwatch.rules").joinpath("monitoring.toml")


def test_defaults_are_the_embedded_store_under_the_home(tmp_path: Path) -> None:
    settings = Settings.from_environment({"CLEARWATCH_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'clearwatch.sqlite3'}"
    assert settings.columnar_root == str(tmp_path / "columnar")
    assert settings.audit_algorithm is HashAlgorithm.SHA256
    assert settings.engine_backend is EngineBackend.DUCKDB
    assert settings.spark_master == "local[2]"
    assert settings.engine_accounts_per_pass is None
    assert settings.monitor_rules is settings.crash_at is settings.eod_stop_after is None
    assert settings.is_embedded


def test_every_variable_reaches_its_field(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("")
    settings = Settings.from_environment(
        {
            "CLEARWATCH_HOME": str(tmp_path),
            "CLEARWATCH_DATABASE_URL": PG,
            "CLEARWATCH_COLUMNAR_ROOT": "s3://bucket/cw",
            "CLEARWATCH_AUDIT_HASH": "sm3",
            "CLEARWATCH_ENGINE": "spark",
            "CLEARWATCH_ENGINE_URL": "postgresql://engine/cw",
            "CLEARWATCH_ENGINE_MEMORY_LIMIT": "6GB",
            "CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS": "2_000_000",
            "CLEARWATCH_SPARK_MASTER": "spark://master:7077",
            "CLEARWATCH_MONITOR_RULES": str(rules),
            "CLEARWATCH_CRASH_AT": "before_commit",
            "CLEARWATCH_EOD_STOP_AFTER": "settle_csdc",
        }
    )
    assert (settings.database_url, settings.columnar_root) == (PG, "s3://bucket/cw")
    assert settings.audit_algorithm is HashAlgorithm.SM3
    assert settings.engine_backend is EngineBackend.SPARK
    assert settings.engine_database_url == "postgresql://engine/cw"
    assert settings.engine_memory_limit == "6GB"
    assert settings.engine_accounts_per_pass == 2_000_000
    assert settings.spark_master == "spark://master:7077"
    assert settings.monitor_rules == rules
    assert (settings.crash_at, settings.eod_stop_after) == ("before_commit", "settle_csdc")
    assert not settings.is_embedded


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLEARWATCH_DATABASE_URL", "mysql://x/y"),
        ("CLEARWATCH_AUDIT_HASH", "md5"),
        ("CLEARWATCH_ENGINE", "polars"),
        ("CLEARWATCH_ENGINE_URL", "oracle://x"),
        ("CLEARWATCH_ENGINE_MEMORY_LIMIT", "lots"),
        ("CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS", "many"),
        ("CLEARWATCH_ENGINE_ACCOUNTS_PER_PASS", "0"),
        ("CLEARWATCH_SPARK_MASTER", "local[two]"),
        ("CLEARWATCH_MONITOR_RULES", "/nowhere/rules.toml"),
        ("CLEARWATCH_CRASH_AT", "Before Commit"),
        ("CLEARWATCH_EOD_STOP_AFTER", "settle csdc"),
        ("CLEARWATCH_REPLAY", "maybe"),
        ("CLEARWATCH_ACCESS_TOKEN_MINUTES", "4"),
        ("CLEARWATCH_ACCESS_TOKEN_MINUTES", "721"),
        ("CLEARWATCH_ACCESS_TOKEN_MINUTES", "an hour"),
        ("CLEARWATCH_UPLOAD_LIMIT_MB", "0"),
    ],
)
def test_a_bad_value_is_refused_by_its_variables_name(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_environment({"CLEARWATCH_HOME": str(tmp_path), variable: value})


def test_the_sign_in_settings_reach_their_fields_and_the_token_stays_out_of_repr(
    tmp_path: Path,
) -> None:
    settings = Settings.from_environment(
        {
            "CLEARWATCH_HOME": str(tmp_path),
            "CLEARWATCH_ACCESS_KEY": str(tmp_path / "k"),
            "CLEARWATCH_ACCESS_TOKEN_MINUTES": "15",
            "CLEARWATCH_REPLAY": "on",
            "CLEARWATCH_TOKEN": "cw_secret_value",
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "CLEARWATCH_UPLOAD_LIMIT_MB": "64",
        }
    )
    assert settings.access_key_path == tmp_path / "k"
    assert (settings.access_token_minutes, settings.replay, settings.upload_limit_mb) == (
        15,
        True,
        64,
    )
    assert settings.token_file_path == tmp_path / "cfg" / "clearwatch" / "token"
    assert settings.token == "cw_secret_value" and "cw_secret_value" not in repr(settings)
    default = Settings.from_environment({"CLEARWATCH_HOME": str(tmp_path)})
    assert default.access_key_path == tmp_path / "keys" / "access-token.key"
    assert not default.replay and default.token is None


def test_the_postgres_engine_needs_a_postgres_url(tmp_path: Path) -> None:
    environment = {"CLEARWATCH_HOME": str(tmp_path), "CLEARWATCH_ENGINE": "postgres"}
    with pytest.raises(ConfigurationError, match="CLEARWATCH_ENGINE_URL"):
        Settings.from_environment(environment)
    both = Settings.from_environment(environment | {"CLEARWATCH_DATABASE_URL": PG})
    assert both.engine_database_url == PG


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    settings = Settings.from_environment(
        {"CLEARWATCH_HOME": str(tmp_path), "CLEARWATCH_ENGINE": "", "CLEARWATCH_ENGINE_URL": ""}
    )
    assert settings.engine_backend is EngineBackend.DUCKDB
    assert settings.engine_url is None


def test_the_run_day_context_follows_the_settings(tmp_path: Path) -> None:
    """One context for `monitor run-day` and the demo: the engine URL, the Spark master and
    the rules file named by the environment all reach it."""
    home = {"CLEARWATCH_HOME": str(tmp_path)}
    packaged = build_application(Settings.from_environment(home)).run_day_context()
    assert isinstance(packaged.engine, DuckDBFindingsEngine)
    local = tmp_path / "local-rules.toml"
    data = PACKAGED_RULES.read_bytes() + b"\n# a local copy\n"
    local.write_bytes(data)

    on_postgres = build_application(
        Settings.from_environment(
            home
            | {
                "CLEARWATCH_ENGINE": "postgres",
                "CLEARWATCH_ENGINE_URL": "postgresql://engine/cw",
                "CLEARWATCH_MONITOR_RULES": str(local),
            }
        )
    ).run_day_context()
    assert isinstance(on_postgres.engine, PostgresFindingsEngine)
    assert on_postgres.engine._url == "postgresql://engine/cw"
    assert on_postgres.rules.content_sha256 == hashlib.sha256(data).hexdigest()
    assert on_postgres.rules.content_sha256 != packaged.rules.content_sha256

    environment = home | {"CLEARWATCH_ENGINE": "spark", "CLEARWATCH_SPARK_MASTER": "local[1]"}
    on_spark = build_application(Settings.from_environment(environment)).run_day_context()
    assert isinstance(on_spark.engine, SparkFindingsEngine)
    assert on_spark.engine._master == "local[1]"


def test_the_application_builds_each_engine_and_tool_once(tmp_path: Path) -> None:
    app = build_application(Settings.from_environment({"CLEARWATCH_HOME": str(tmp_path)}))
    assert app.run_day_context().engine is app.run_day_context().engine
    assert app.backoffice_tools is app.backoffice_tools


def test_the_shown_database_url_hides_the_password_and_only_it() -> None:
    settings = Settings.from_environment({"CLEARWATCH_DATABASE_URL": PG})
    assert settings.shown_database_url == "postgresql://u:***@db.example:5432/cw"
    assert settings.database_url == PG
    no_password = "postgresql://u@db.example/cw"
    assert Settings.from_environment(
        {"CLEARWATCH_DATABASE_URL": no_password}
    ).shown_database_url == (no_password)
