"""Accounts masked in the day's HTML report, `registry show` and the cases listings (issue 18);
`registry show --evidence` shows them whole to a caller `monitor.evidence` allows, and is
refused, audited, to one it does not."""

from __future__ import annotations

import json
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.e2e.test_monitor_run_cli import clearwatch, load_registry, submit_world
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS, clean_world
from tests.support.identities import signed_env
from tests.support.packages import write_registry

OVERDRAWN = "FA20261120777"  # B001's client overdrawn by 30.00: an F2 item, in the evidence
ACCOUNTS = [filing[0] for filing in FILINGS]  # SA-001 …: the special accounts filed


def _ran_day(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A day whose F2 names OVERDRAWN, run by SIPF's analyst; the analyst's environment."""
    assert clearwatch(env, "init").returncode == 0
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)
    assert load_registry(env, registry).returncode == 0
    world = clean_world()
    world["B001"]["client_funds.csv"].append([OVERDRAWN, "c9", "normal", "K001", "-30.00"])
    submit_world(env, tmp_path, world)
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    ran = clearwatch(analyst, "monitor", "run-day", "--date", DAY.isoformat(), "--evidence")
    assert ran.returncode == 0, ran.stderr
    return analyst


def test_the_html_report_shows_the_largest_items_masked(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "COLUMNS": "200"}
    analyst = _ran_day(env, tmp_path)
    report = Path(env["CLEARWATCH_HOME"]) / "reports" / "monitor" / f"{DAY.isoformat()}.html"
    text = report.read_text(encoding="utf-8")
    # Written by a run that asked for the evidence, still masked: the file stays in the home.
    assert "***0777 30.00" in text and OVERDRAWN not in text

    cases = clearwatch(analyst, "cases", "list", "--wide")
    listed = clearwatch(analyst, "cases", "list", "--json")
    assert cases.returncode == 0 and listed.returncode == 0, cases.stderr + listed.stderr
    found = json.loads(listed.stdout)
    assert "F2" in {case["finding_code"] for case in found}
    shown = [clearwatch(analyst, "cases", "show", str(c["case_id"])) for c in found]
    printed = cases.stdout + listed.stdout + "".join(s.stdout for s in shown)
    assert OVERDRAWN not in printed and "0777" not in printed  # cases name no account


def test_registry_show_masks_the_accounts_unless_a_permitted_caller_asks(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "COLUMNS": "200"}
    assert clearwatch(env, "init").returncode == 0
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)
    assert load_registry(env, registry).returncode == 0
    analyst = signed_env(env, "SIPF", Role.ANALYST)
    registry_officer = signed_env(env, "SIPF", Role.REGISTRY_OFFICER)

    table = clearwatch(analyst, "monitor", "registry", "show")
    document = json.loads(clearwatch(analyst, "monitor", "registry", "show", "--json").stdout)
    assert [a["account_no"] for a in document["special_accounts"]] == [
        "***001", "***002", "***003",
    ]  # fmt: skip
    assert "***003" in table.stdout
    assert not any(account in table.stdout for account in ACCOUNTS)

    asked = ("monitor", "registry", "show", "--json", "--evidence")
    whole = json.loads(clearwatch(analyst, *asked).stdout)
    assert [a["account_no"] for a in whole["special_accounts"]] == ACCOUNTS

    refused = clearwatch(registry_officer, *asked)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "monitor.evidence" in refused.stderr and not any(
        account in refused.stdout for account in ACCOUNTS
    )
    auditor = signed_env(env, "SIPF", Role.ADMIN)
    records = json.loads(clearwatch(auditor, "audit", "show", "--limit", "5", "--json").stdout)
    denied = [r for r in records if r["action"] == "access.denied"]
    assert denied and denied[0]["actor"] == "sipf-registry_officer"
    assert "monitor.evidence" in json.dumps(denied[0], ensure_ascii=False)


def test_filings_list_masks_the_accounts_unless_a_permitted_caller_asks(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`monitor filings list` masks as `registry show` does (issue 18); `--evidence` is for
    SIPF's analyst, reviewer and registry officer and an institution's officer (its own);
    others are refused, audited."""
    env = {**cli_env, "COLUMNS": "200"}
    assert clearwatch(env, "init").returncode == 0
    assert (
        load_registry(env, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)).returncode
        == 0
    )
    officer = signed_env(env, "B001", Role.OFFICER)
    closing = ("monitor", "filings", "close", "SA-002", "--reason", "moved to another bank")
    closed = clearwatch(officer, *closing)
    assert closed.returncode == 0 and "***002" in closed.stdout and "SA-002" not in closed.stdout
    analyst = signed_env(env, "SIPF", Role.ANALYST)

    table = clearwatch(analyst, "monitor", "filings", "list", "--wide")
    listed = json.loads(clearwatch(analyst, "monitor", "filings", "list", "--json").stdout)
    assert "***002" in table.stdout and "SA-002" not in table.stdout
    assert [f["account_no"] for f in listed] == ["***002"]
    asked = ("monitor", "filings", "list", "--json", "--evidence")
    assert [f["account_no"] for f in json.loads(clearwatch(analyst, *asked).stdout)] == ["SA-002"]

    # SIPF's registry officer decides the filing, so sees the number it approves; an
    # institution's officer sees its own filings whole, never another's.
    registry_officer = signed_env(env, "SIPF", Role.REGISTRY_OFFICER)
    decided = json.loads(clearwatch(registry_officer, *asked).stdout)
    assert [f["account_no"] for f in decided] == ["SA-002"]
    refused = clearwatch(officer, *asked, "--institution", "B002")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "monitor.filings.evidence" in refused.stderr and "SA-002" not in refused.stdout
    auditor = signed_env(env, "SIPF", Role.ADMIN)
    records = json.loads(clearwatch(auditor, "audit", "show", "--limit", "5", "--json").stdout)
    denied = [r for r in records if r["action"] == "access.denied"]
    assert {r["actor"] for r in denied} == {"b001-officer"}
    assert all("monitor.filings.evidence" in json.dumps(r, ensure_ascii=False) for r in denied)
