"""`run-day --json` writes the findings' client accounts masked; `--evidence` writes them whole
for an analyst (the refusal of `monitor.evidence` is tested through the API)."""

from __future__ import annotations

import json
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.e2e.test_monitor_run_cli import clearwatch, load_registry, submit_world
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS, clean_world
from tests.support.identities import signed_env
from tests.support.packages import write_registry


def _f2_refs(path: Path) -> list[str]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return [
        item["ref"]
        for institution in document["institutions"]
        for finding in institution["findings"]
        if finding["code"] == "F2"
        for item in finding["evidence"]["largest"]
    ]


def test_run_day_json_masks_the_client_unless_the_analyst_asks_for_the_evidence(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "COLUMNS": "200"}
    assert clearwatch(env, "init").returncode == 0
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)
    assert load_registry(env, registry).returncode == 0
    world = clean_world()
    world["B001"]["client_funds.csv"].append(["FA20261120777", "c9", "normal", "K001", "-30.00"])
    submit_world(env, tmp_path, world)
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    day = ("monitor", "run-day", "--date", DAY.isoformat())

    masked = tmp_path / "masked.json"
    ran = clearwatch(analyst, *day, "--json", str(masked))
    assert ran.returncode == 0, ran.stderr
    assert _f2_refs(masked) == ["***0777"]
    assert "FA20261120777" not in masked.read_text(encoding="utf-8") + ran.stdout

    whole = tmp_path / "evidence.json"
    assert clearwatch(analyst, *day, "--json", str(whole), "--evidence").returncode == 0
    assert _f2_refs(whole) == ["FA20261120777"]
