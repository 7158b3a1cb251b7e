"""A first command without `clearwatch init`: the embedded store is made on first use; a server
database that was never initialised gets one line saying to run `clearwatch init`."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from clearwatch.adapters.db.migrate import MIGRATIONS_DIR
from clearwatch.bootstrap import build_application
from clearwatch.config import Settings

EXIT_USAGE = 2
STORE_COMMANDS = (
    ("monitor", "registry", "show"),
    ("monitor", "packages"),
    ("monitor", "warnings"),
    ("broker", "batches"),
    ("approvals", "list"),
    ("intraday", "halts", "--date", "2026-11-20"),
)


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def audit_actions(home: Path) -> list[str]:
    with sqlite3.connect(home / "clearwatch.sqlite3") as connection:
        return [row[0] for row in connection.execute("SELECT action FROM audit_log ORDER BY seq")]


def as_an_older_version_left_it(env: dict[str, str]) -> None:
    """A store initialised, then one migration branch taken back, as an older version had it."""
    from alembic import command
    from alembic.config import Config

    app = build_application(Settings.from_environment(env))
    app.init_schema()
    with app.engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.downgrade(config, "0400_access_intraday@-1")
    app.dispose()


def test_every_command_works_on_a_fresh_embedded_home(cli_env: dict[str, str]) -> None:
    home = Path(cli_env["CLEARWATCH_HOME"])
    assert not home.exists()
    for args in STORE_COMMANDS:
        result = clearwatch(cli_env, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    # The store was made once, by the first command, and the audit log says so once.
    assert audit_actions(home) == ["store.schema_upgraded"]
    verify = clearwatch(cli_env, "audit", "verify")
    assert verify.returncode == 0, verify.stderr


def test_an_embedded_store_of_an_older_version_is_upgraded_on_first_use(
    cli_env: dict[str, str],
) -> None:
    home = Path(cli_env["CLEARWATCH_HOME"])
    as_an_older_version_left_it(cli_env)
    result = clearwatch(cli_env, "approvals", "list")  # reads a table the older store lacks
    assert result.returncode == 0, result.stderr
    assert audit_actions(home) == ["store.schema_upgraded", "store.schema_upgraded"]


def test_a_postgres_store_never_initialised_says_run_init(
    cli_env: dict[str, str], postgres_schema_url: str
) -> None:
    env = cli_env | {"CLEARWATCH_DATABASE_URL": postgres_schema_url}
    for args in (("audit", "verify"), ("monitor", "packages"), ("approvals", "list")):
        result = clearwatch(env, *args)
        assert result.returncode == EXIT_USAGE, (args, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert "was never initialised: run `clearwatch init`" in line
        assert "Traceback" not in result.stderr
    assert clearwatch(env, "init").returncode == 0
    after = clearwatch(env, "audit", "verify")
    assert after.returncode == 0, after.stderr
    assert "1 records verified" in after.stdout


def test_a_postgres_store_of_an_older_version_says_run_init_to_upgrade(
    cli_env: dict[str, str], postgres_schema_url: str
) -> None:
    env = cli_env | {"CLEARWATCH_DATABASE_URL": postgres_schema_url}
    as_an_older_version_left_it(env)
    result = clearwatch(env, "approvals", "list")
    assert result.returncode == EXIT_USAGE, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "has an older schema: run `clearwatch init` to upgrade it" in line
    assert clearwatch(env, "init").returncode == 0
    assert clearwatch(env, "approvals", "list").returncode == 0


def test_init_never_prints_the_database_password(
    cli_env: dict[str, str], postgres_schema_url: str
) -> None:
    from sqlalchemy.engine import make_url

    # The server trusts loopback, so a password in the URL is accepted and must stay unshown.
    with_password = make_url(postgres_schema_url).set(password="s3cret-do-not-show")
    env = cli_env | {"CLEARWATCH_DATABASE_URL": with_password.render_as_string(False)}
    result = clearwatch(env, "init")
    assert result.returncode == 0, result.stderr
    assert "s3cret-do-not-show" not in result.stdout + result.stderr
    assert ":***@" in result.stdout
