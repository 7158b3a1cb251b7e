"""A first command without `clearwatch init`: the embedded store is made on first use; a server
database that was never initialised gets one line saying to run `clearwatch init`."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyotp

from clearwatch.adapters.db.migrate import MIGRATIONS_DIR
from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from tests.support.identities import as_user, signed_env, token_for

EXIT_USAGE = 2
PASSWORD = "correct horse battery staple"
# The listings of each kind of store, each read by a user who may read it: the monitor's by an
# analyst of SIPF (its approvals by SIPF's admin), a back office's by its auditor. One store never
# holds users of both (each broker's back office is its own store): each gets its own fresh home.
MONITOR_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("monitor", "registry", "show"),
    ("monitor", "packages"),
    ("monitor", "warnings"),
    ("approvals", "list"),
)
BACK_OFFICE_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("broker", "batches"),
    ("approvals", "list"),
    ("intraday", "halts", "--date", "2026-11-20"),
)


def clearwatch(
    env: dict[str, str], *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(
        command,
        env=env,
        input=None if password is None else password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def works(env: dict[str, str], *args: str, password: str | None = None) -> str:
    """The stdout of a command that must succeed without a traceback."""
    result = clearwatch(env, *args, password=password)
    assert result.returncode == 0, (args, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def audit_actions(home: Path) -> list[str]:
    with sqlite3.connect(home / "clearwatch.sqlite3") as connection:
        return [row[0] for row in connection.execute("SELECT action FROM audit_log ORDER BY seq")]


def as_an_older_version_left_it(env: dict[str, str]) -> None:
    """A store initialised, then the newest migration taken back, as an older version had it.

    Down to the newest migration's (first) parent by name: a step relative to a branch is
    ambiguous for Alembic once that migration merges branches."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    app = build_application(Settings.from_environment(env))
    app.init_schema()
    with app.engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        script = ScriptDirectory.from_config(config)
        newest = script.get_revision(max(script.get_heads()))  # ids start with their number
        assert newest is not None
        parent = newest.down_revision
        assert parent, newest.revision
        command.downgrade(config, parent if isinstance(parent, str) else parent[0])
    app.dispose()


def test_every_command_works_on_a_fresh_embedded_home(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # The monitor's store: the first command registers SIPF's first admin (unsigned, the one
    # act allowed on an empty store), who signs in and registers an analyst.
    home = Path(cli_env["CLEARWATCH_HOME"])
    assert not home.exists()
    added = works(cli_env, "user", "add", "root", "--role", "admin", "--org", "SIPF",
                  "--password-stdin", password=PASSWORD)  # fmt: skip
    # The store was made once, by the first command, and the audit log says so once.
    assert audit_actions(home) == ["store.schema_upgraded", "user.added"]
    secret = re.search(r"otpauth://\S+secret=([A-Z2-7]+)", added)
    assert secret is not None, added
    code = pyotp.TOTP(secret.group(1)).now()
    works(cli_env, "login", "root", "--password-stdin", "--totp", code, password=PASSWORD)
    assert "root of SIPF: admin" in works(cli_env, "whoami")
    works(cli_env, "token", "list")
    works(cli_env, "user", "add", "ana", "--role", "analyst", "--org", "SIPF", "--machine")
    analyst = as_user(cli_env, "ana")
    signed_up = audit_actions(home)
    for args in MONITOR_COMMANDS:
        works(cli_env if args[0] == "approvals" else analyst, *args)  # approvals: its admin
    assert audit_actions(home) == signed_up  # the listings made and recorded nothing more
    assert signed_up.count("store.schema_upgraded") == 1
    works(cli_env, "audit", "verify")

    # A back office's store: its own home, its own first admin and auditor.
    back_office = {
        **cli_env,
        "CLEARWATCH_HOME": str(tmp_path / "back-office-home"),
        "XDG_CONFIG_HOME": str(tmp_path / "back-office-config"),
    }
    bo_home = Path(back_office["CLEARWATCH_HOME"])
    assert not bo_home.exists()
    works(back_office, "user", "add", "bo-root", "--role", "admin", "--org", "BO:B001",
          "--machine")  # fmt: skip
    assert audit_actions(bo_home) == ["store.schema_upgraded", "user.added"]
    works(as_user(back_office, "bo-root"), "user", "add", "bo-aud", "--role", "auditor",
          "--org", "BO:B001", "--machine")  # fmt: skip
    auditor = as_user(back_office, "bo-aud")
    for args in BACK_OFFICE_COMMANDS:
        works(auditor, *args)
    assert audit_actions(bo_home) == ["store.schema_upgraded", "user.added", "user.added"]
    works(auditor, "audit", "verify")


def test_an_embedded_store_of_an_older_version_is_upgraded_on_first_use(
    cli_env: dict[str, str],
) -> None:
    home = Path(cli_env["CLEARWATCH_HOME"])
    signed = signed_env(cli_env, "BO:B001", Role.AUDITOR)  # registered before the downgrade
    as_an_older_version_left_it(cli_env)
    before = audit_actions(home)
    result = clearwatch(signed, "approvals", "list")  # reads a table the older store lacks
    assert result.returncode == 0, result.stderr
    assert before.count("store.schema_upgraded") == 1
    assert audit_actions(home) == [*before, "store.schema_upgraded"]


def test_a_postgres_store_never_initialised_says_run_init(
    cli_env: dict[str, str], postgres_schema_url: str
) -> None:
    env = cli_env | {"CLEARWATCH_DATABASE_URL": postgres_schema_url}
    # Tokens signed with this home's key (its users live in the embedded store): the server's
    # store is asked for them first, and says it was never initialised.
    admin = token_for(cli_env, "SIPF", Role.ADMIN)  # audit and approvals of its organisation
    analyst = token_for(cli_env, "SIPF", Role.ANALYST)  # the monitor's packages
    commands: tuple[tuple[dict[str, str], tuple[str, ...]], ...] = (
        (env, ("login", "root", "--password-stdin")),  # a newcomer's first command
        (env | {"CLEARWATCH_TOKEN": admin}, ("audit", "verify")),
        (env | {"CLEARWATCH_TOKEN": analyst}, ("monitor", "packages")),
        (env | {"CLEARWATCH_TOKEN": admin}, ("approvals", "list")),
    )
    for signed, args in commands:
        result = clearwatch(signed, *args, password=PASSWORD)
        assert result.returncode == EXIT_USAGE, (args, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert "was never initialised: run `clearwatch init`" in line
        assert "Traceback" not in result.stderr
    assert clearwatch(env, "init").returncode == 0
    on_server = signed_env(env, "BO:B001", Role.AUDITOR)
    after = clearwatch(on_server, "audit", "verify")
    assert after.returncode == 0, after.stderr
    shown = clearwatch(on_server, "audit", "show", "--json")
    actions = [record["action"] for record in json.loads(shown.stdout)]
    # The schema creation, recorded once; the rest registered the auditor (and the first admin).
    assert actions.count("store.schema_upgraded") == 1
    assert set(actions) == {"store.schema_upgraded", "user.added"}
    assert f"{len(actions)} records verified" in after.stdout


def test_a_postgres_store_of_an_older_version_says_run_init_to_upgrade(
    cli_env: dict[str, str], postgres_schema_url: str
) -> None:
    env = cli_env | {"CLEARWATCH_DATABASE_URL": postgres_schema_url}
    assert clearwatch(env, "init").returncode == 0
    signed = signed_env(env, "BO:B001", Role.AUDITOR)  # registered before the downgrade
    as_an_older_version_left_it(env)
    result = clearwatch(signed, "approvals", "list")
    assert result.returncode == EXIT_USAGE, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "has an older schema: run `clearwatch init` to upgrade it" in line
    assert clearwatch(env, "init").returncode == 0
    assert clearwatch(signed, "approvals", "list").returncode == 0


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
