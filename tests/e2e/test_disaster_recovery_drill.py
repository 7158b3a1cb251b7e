"""`clearwatch drill disaster-recovery` passes: the day's result survives losing the home."""

from __future__ import annotations

from tests.e2e.test_cli_foundation import clearwatch


def test_the_disaster_recovery_drill_passes(cli_env: dict[str, str]) -> None:
    result = clearwatch(cli_env, "drill", "disaster-recovery")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "PASS"
    assert "the day's result is identical after recovery" in result.stdout
    assert "backup_object_must_match_hash" in result.stdout
