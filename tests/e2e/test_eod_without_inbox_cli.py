"""`clearwatch broker eod --date D` as the spec writes it: the day's batches came by `broker
import`, so the end of day needs no inbox, only the broker's name; its package is the very
one an end of day over an inbox of the same batches writes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.integration.backoffice.eod_days import DAY_1, inbox_day_1
from tests.support.identities import signed_env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _ok(env: dict[str, str], *args: str) -> str:
    done = _cli(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _package_digests(out: Path) -> dict[str, str]:
    package = out / "package"
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(package.iterdir())
        if path.suffix == ".csv"
    }


def test_eod_without_an_inbox_ends_the_day_of_the_batches_already_imported(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    inbox = inbox_day_1(tmp_path / "in")
    imported = {**cli_env, "CLEARWATCH_HOME": str(tmp_path / "imported")}
    _ok(imported, "init")
    operator = signed_env(imported, "BO:B001", Role.OPERATOR)
    for kind in ("static", "trading", "bank"):  # the order an end of day applies them in
        _ok(operator, "broker", "import", str(inbox / kind))
    unnamed = _cli(operator, "broker", "eod", "--date", DAY_1)
    assert unnamed.returncode != 0
    assert "inbox_must_hold_one_broker_or_name_it" in unnamed.stdout + unnamed.stderr
    out = tmp_path / "out-imported"
    _ok(operator, "broker", "eod", "--date", DAY_1, "--broker", "B001", "--out", str(out))
    # The same batches through the inbox, in a home of their own.
    through_inbox = {**cli_env, "CLEARWATCH_HOME": str(tmp_path / "inbox")}
    _ok(through_inbox, "init")
    other = signed_env(through_inbox, "BO:B001", Role.OPERATOR)
    out_inbox = tmp_path / "out-inbox"
    _ok(other, "broker", "eod", "--date", DAY_1, "--inbox", str(inbox), "--out", str(out_inbox))
    assert _package_digests(out) == _package_digests(out_inbox)
    assert "client_funds.csv" in _package_digests(out)
