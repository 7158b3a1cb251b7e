"""Identities and the policy from the command line: `--as` resolves to a user, denials audited."""

from __future__ import annotations

import json
import subprocess
import sys


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_policy_decides_for_every_as_and_a_denial_is_audited(
    cli_env: dict[str, str],
) -> None:
    assert _cli(cli_env, "init").returncode == 0
    late = _cli(
        cli_env, "user", "add", "root", "--role", "admin", "--org", "BO:B001",
        "--at", "2026-11-20T09:00:00+08:00",
    )  # fmt: skip
    assert late.returncode == 3 and "at_must_not_set_security_time" in late.stderr
    assert (
        _cli(cli_env, "user", "add", "root", "--role", "admin", "--org", "BO:B001").returncode == 0
    )
    added = _cli(
        cli_env, "user", "add", "aud", "--role", "auditor", "--org", "BO:B001", "--as", "root"
    )
    assert added.returncode == 0, added.stderr
    other = _cli(
        cli_env, "intraday", "check", "--broker", "B002", "--date", "2026-11-20", "--as", "aud"
    )
    assert other.returncode == 3 and "policy_must_allow_action" in other.stderr
    ghost = _cli(
        cli_env, "intraday", "check", "--broker", "B001", "--date", "2026-11-20", "--as", "x"
    )
    assert ghost.returncode == 3 and "actor_must_be_registered" in ghost.stderr
    records = json.loads(_cli(cli_env, "audit", "show", "--json").stdout)
    denied = [(r["actor"], r["object_ref"]) for r in records if r["action"] == "access.denied"]
    assert sorted(denied) == [("aud", "action:intraday.check"), ("x", "action:intraday.check")]
