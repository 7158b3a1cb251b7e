"""Everything a command creates holds client data or secrets: owner-only, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.support.identities import signed_env
from tests.support.packages import write_package, write_registry


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearwatch.entrypoints.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: os.umask(0o022),  # a permissive shell
    )


def test_the_store_keys_and_outputs_are_owner_only(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert _cli(cli_env, "init").returncode == 0
    officer = signed_env(cli_env, "SIPF", Role.REGISTRY_OFFICER)
    loaded = _cli(officer, "monitor", "registry", "load", str(write_registry(tmp_path / "reg")))
    assert loaded.returncode == 0, loaded.stderr
    package = write_package(tmp_path / "p", "broker_daily", "B001", "2026-11-20", {})
    submitter = signed_env(cli_env, "B001", Role.SUBMITTER)
    assert _cli(submitter, "monitor", "submit", str(package)).returncode == 0
    analyst = signed_env(cli_env, "SIPF", Role.ANALYST)
    ran = _cli(analyst, "monitor", "run-day", "--date", "2026-11-20")
    assert ran.returncode == 0, ran.stderr
    home = Path(cli_env["CLEARWATCH_HOME"])
    made = [home, *home.rglob("*")]
    assert any(path.suffix == ".parquet" for path in made)
    assert any(path.suffix == ".html" for path in made)
    exposed = [
        f"{path} {oct(stat.S_IMODE(path.stat().st_mode))}"
        for path in made
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    ]
    assert exposed == []
