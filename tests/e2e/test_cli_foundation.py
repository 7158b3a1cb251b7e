"""The foundation commands as a newcomer drives them, in a subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from clearwatch import __version__
from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.cli.main import LAZY_COMMANDS, load_command
from tests.support.identities import signed_env


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_version_prints_the_package_version(cli_env: dict[str, str]) -> None:
    result = clearwatch(cli_env, "--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_help_explains_where_to_start(cli_env: dict[str, str]) -> None:
    result = clearwatch(cli_env, "--help")
    assert result.returncode == 0
    assert "clearwatch init" in result.stdout


def test_init_twice_then_verify_and_show(cli_env: dict[str, str]) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    again = clearwatch(cli_env, "init")
    assert again.returncode == 0, again.stderr
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    records = json.loads(clearwatch(auditor, "audit", "show", "--json").stdout)
    actions = [record["action"] for record in records]
    # The schema creation, recorded once; the rest registered the auditor (and the first admin).
    assert actions.count("store.schema_upgraded") == 1
    assert set(actions) == {"store.schema_upgraded", "user.added"}
    verify = clearwatch(auditor, "audit", "verify")
    assert verify.returncode == 0
    assert f"{len(records)} records verified" in verify.stdout
    shown = clearwatch(auditor, "audit", "show")
    assert "store.schema_upgraded" in shown.stdout


def test_verify_names_the_record_edited_behind_the_systems_back(cli_env: dict[str, str]) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    database = Path(cli_env["CLEARWATCH_HOME"]) / "clearwatch.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER audit_log_refuse_update")
        connection.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    result = clearwatch(auditor, "audit", "verify")
    assert result.returncode != 0
    assert "seq=1" in result.stderr
    assert "hash_must_match_content" in result.stderr


def test_sm3_can_be_chosen_for_the_chain(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "CLEARWATCH_AUDIT_HASH": "sm3"}
    assert clearwatch(env, "init").returncode == 0
    auditor = signed_env(env, "BO:B001", Role.AUDITOR)
    shown = clearwatch(auditor, "audit", "show", "--wide")  # the hash column is a wide one
    assert "sm3:" in shown.stdout and "sha256:" not in shown.stdout
    assert clearwatch(auditor, "audit", "verify").returncode == 0


def test_an_unknown_hash_algorithm_is_a_clear_error(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "CLEARWATCH_AUDIT_HASH": "md5"}
    result = clearwatch(env, "init")
    assert result.returncode != 0
    assert "CLEARWATCH_AUDIT_HASH" in result.stderr


# Fast start: a command imports only what it uses. Run in a fresh interpreter (this test
# process has long imported everything), then read what `sys.modules` holds.
ENGINES = ("ibis", "duckdb", "pyspark", "alembic", "pandas", "psycopg", "plotly")
IMPORTS_CHECK = """
import json, sys
from clearwatch.entrypoints.cli.main import app
code = None
try:
    app(args=sys.argv[1:], prog_name="clearwatch")
except SystemExit as done:
    code = done.code
print("EXIT=" + json.dumps(code))
print("LOADED=" + json.dumps(sorted(set(m.split(".")[0] for m in sys.modules))))
"""


def loaded_by(env: dict[str, str], *args: str) -> set[str]:
    """What the command imported; it must have succeeded (signed in and allowed, too)."""
    command = [sys.executable, "-c", IMPORTS_CHECK, *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "EXIT=0" in result.stdout.splitlines(), (args, result.stdout[-500:], result.stderr)
    [line] = [line for line in result.stdout.splitlines() if line.startswith("LOADED=")]
    return set(json.loads(line.removeprefix("LOADED=")))


def test_version_and_help_load_no_engine_and_no_store(cli_env: dict[str, str]) -> None:
    for args in (["--version"], ["--help"]):
        loaded = loaded_by(cli_env, *args)
        assert loaded.isdisjoint((*ENGINES, "sqlalchemy", "pyarrow")), (args, sorted(loaded))
    # A group's help imports that group (and the services it names), still no engine.
    assert loaded_by(cli_env, "monitor", "--help").isdisjoint(ENGINES)


def test_a_command_on_the_store_loads_no_comparison_engine(cli_env: dict[str, str]) -> None:
    assert clearwatch(cli_env, "init").returncode == 0
    admin = signed_env(cli_env, "SIPF", Role.ADMIN)  # audit and approvals of its organisation
    analyst = signed_env(cli_env, "SIPF", Role.ANALYST)  # the monitor's packages
    for env, args in (
        (admin, ["audit", "verify"]),
        (analyst, ["monitor", "packages"]),
        (admin, ["approvals", "list"]),
    ):
        loaded = loaded_by(env, *args)
        assert "sqlalchemy" in loaded  # it did open the store
        assert loaded.isdisjoint(ENGINES), (args, sorted(loaded & set(ENGINES)))


def test_each_group_listed_by_help_is_the_group_that_runs() -> None:
    """The help line `clearwatch --help` shows without importing a group is the group's own."""
    for name, lazy in LAZY_COMMANDS.items():
        command = load_command(name, lazy)
        assert command.name == name
        assert (command.help or "").startswith(lazy.help), name
