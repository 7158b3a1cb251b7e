"""Real identities from the command line: first admin, sign-in with a second factor, the token
file, denials audited, lockout, tokens for machines, and `--at` only in replay mode."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pyotp

PASSWORD = "correct horse battery staple"


def _cli(
    env: dict[str, str], *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env=env,
        input=None if password is None else password + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _totp_of(output: str) -> pyotp.TOTP:
    """The second factor shown once when a deciding user is registered."""
    found = re.search(r"otpauth://\S+secret=([A-Z2-7]+)", output)
    assert found, output
    return pyotp.TOTP(found.group(1))


def _add(env: dict[str, str], user: str, role: str, org: str) -> subprocess.CompletedProcess[str]:
    return _cli(
        env, "user", "add", user, "--role", role, "--org", org, "--password-stdin",
        password=PASSWORD,
    )  # fmt: skip


def _login(
    env: dict[str, str], user: str, code: str | None = None, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    totp = () if code is None else ("--totp", code)
    return _cli(env, "login", user, "--password-stdin", *totp, password=password)


def test_first_admin_signs_in_with_a_second_factor_and_the_token_file_is_private(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    first = _add(cli_env, "root", "admin", "BO:B001")
    assert first.returncode == 0, first.stderr
    assert PASSWORD not in first.stdout + first.stderr
    second_unsigned = _add(cli_env, "mallory", "admin", "BO:B001")
    assert second_unsigned.returncode == 3
    assert "caller_must_be_authenticated" in second_unsigned.stderr
    totp = _totp_of(first.stdout)
    without_code = _login(cli_env, "root")
    assert without_code.returncode == 3 and "second_factor_must_be_given" in without_code.stderr
    signed = _login(cli_env, "root", totp.now())
    assert signed.returncode == 0, signed.stderr
    token_file = tmp_path / "config" / "clearwatch" / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert token not in signed.stdout + signed.stderr  # kept, never shown
    reused = _login(cli_env, "root", totp.now())
    assert reused.returncode == 3  # a code counts once
    assert "root of BO:B001: admin (password)" in _cli(cli_env, "whoami").stdout
    token_file.chmod(0o644)
    exposed = _cli(cli_env, "whoami")
    assert exposed.returncode == 3 and "token_file_must_be_owner_only" in exposed.stderr
    token_file.chmod(0o600)
    assert _cli(cli_env, "logout").returncode == 0
    assert _cli(cli_env, "whoami").returncode == 3


def test_the_policy_decides_for_the_signed_in_user_and_a_denial_is_audited(
    cli_env: dict[str, str],
) -> None:
    root = _add(cli_env, "root", "admin", "BO:B001")
    assert _login(cli_env, "root", _totp_of(root.stdout).now()).returncode == 0
    assert _add(cli_env, "aud", "auditor", "BO:B001").returncode == 0
    assert _login(cli_env, "aud").returncode == 0  # no deciding role: no second factor
    other = _cli(cli_env, "intraday", "check", "--broker", "B002", "--date", "2026-11-20")
    assert other.returncode == 3 and "policy_must_allow_action" in other.stderr
    grant = _cli(cli_env, "user", "grant", "aud", "checker")
    assert grant.returncode == 3 and "policy_must_allow_action" in grant.stderr
    records = json.loads(_cli(cli_env, "audit", "show", "--json").stdout)
    denied = [(r["actor"], r["object_ref"]) for r in records if r["action"] == "access.denied"]
    assert sorted(denied) == [("aud", "action:intraday.check"), ("aud", "action:user.grant")]
    late = _cli(cli_env, "user", "list", "--at", "2026-11-20T09:00:00+08:00")
    assert late.returncode == 2  # no such option: security never takes a replay time


def test_failed_sign_ins_lock_the_account_for_a_growing_time(cli_env: dict[str, str]) -> None:
    root = _add(cli_env, "root", "admin", "SIPF")
    assert _login(cli_env, "root", _totp_of(root.stdout).now()).returncode == 0
    assert _add(cli_env, "ana", "analyst", "SIPF").returncode == 0
    for _ in range(5):
        wrong = _login(cli_env, "ana", password="not the password at all")
        assert wrong.returncode == 3 and "sign_in_must_match_a_user_and_password" in wrong.stderr
    locked = _login(cli_env, "ana")  # the right password, but locked now
    assert locked.returncode == 3 and "account_must_not_be_locked" in locked.stderr
    unknown = _login(cli_env, "nobody")
    assert unknown.returncode == 3 and "sign_in_must_match_a_user_and_password" in unknown.stderr


def test_a_machine_token_is_shown_once_scoped_and_revocable(cli_env: dict[str, str]) -> None:
    root = _add(cli_env, "root", "admin", "SIPF")
    assert _login(cli_env, "root", _totp_of(root.stdout).now()).returncode == 0
    assert _add(cli_env, "k-officer", "officer", "K001").returncode == 0
    machine = _cli(cli_env, "user", "add", "k-system", "--role", "submitter", "--org", "K001",
                   "--machine")  # fmt: skip
    assert machine.returncode == 0, machine.stderr
    assert _login(cli_env, "k-officer").returncode == 0
    made = _cli(cli_env, "token", "create", "--user", "k-system", "--scope", "submit")
    assert made.returncode == 0, made.stderr
    text = re.search(r"cw_[0-9a-f]{16}_\S+", made.stdout)
    assert text is not None
    token_id = text.group(0)[3:19]
    listed = _cli(cli_env, "token", "list", "--json")
    assert text.group(0) not in listed.stdout and token_id in listed.stdout
    as_machine = cli_env | {"CLEARWATCH_TOKEN": text.group(0)}
    assert "k-system of K001: submitter (api_token" in _cli(as_machine, "whoami").stdout
    beyond_scope = _cli(as_machine, "user", "list")
    assert beyond_scope.returncode == 3 and "token_scope_must_allow_action" in beyond_scope.stderr
    assert _cli(cli_env, "token", "revoke", token_id).returncode == 0
    revoked = _cli(as_machine, "whoami")
    assert revoked.returncode == 3 and "token_must_be_valid" in revoked.stderr
    shown = _cli(cli_env, "audit", "show", "--json")  # the officer, not an auditor or admin
    assert shown.returncode == 3 and "policy_must_allow_action" in shown.stderr


def test_at_is_refused_outside_replay_mode(cli_env: dict[str, str]) -> None:
    production = cli_env | {"CLEARWATCH_REPLAY": "0"}
    refused = _cli(
        production, "monitor", "run-day", "--date", "2026-11-20",
        "--at", "2026-11-23T10:00:00+08:00",
    )  # fmt: skip
    assert refused.returncode == 3 and "at_needs_replay_mode" in refused.stderr
