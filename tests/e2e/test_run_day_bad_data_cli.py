"""`run-day` on a day where one broker sent 13 accounts at the largest value: exit 0, and only
that broker is `could_not_compare` in the table, the JSON and the HTML report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.e2e.test_monitor_run_cli import clearwatch, load_registry, submit_world
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS, clean_world
from tests.support.identities import signed_env
from tests.support.packages import write_registry


def test_run_day_exits_0_and_marks_only_the_broker_beyond_the_limits(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "COLUMNS": "200"}
    assert clearwatch(env, "init").returncode == 0
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)
    assert load_registry(env, registry).returncode == 0
    world = clean_world()
    world["B002"]["client_funds.csv"] += [
        [f"X{n:02}", f"x{n}", "normal", "K002", "9999999999999999.99"] for n in range(13)
    ]
    world["B001"]["client_funds.csv"].append(["A9", "c9", "normal", "K001", "-30.00"])
    submit_world(env, tmp_path, world)
    out = tmp_path / "day.json"
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    ran = clearwatch(analyst, "monitor", "run-day", "--date", DAY.isoformat(), "--json", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "could_not_compare B002: figures_must_fit_a_64_bit_result" in ran.stdout
    document = json.loads(out.read_text())
    by_id = {i["institution_id"]: i for i in document["institutions"]}
    assert "could_not_compare" in by_id["B002"]
    assert [f["code"] for f in by_id["B001"]["findings"]] == ["F2"]
    assert by_id["B001"]["warnings"][0]["criteria"] == ["G3"]
    html_path = Path(re.search(r"HTML report: (\S+)", ran.stdout).group(1))  # type: ignore[union-attr]
    assert "Could not compare" in html_path.read_text(encoding="utf-8")
