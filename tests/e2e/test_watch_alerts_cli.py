"""`clearwatch watch alerts list|review|halt` as the risk desk drives it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from clearwatch.adapters.watch.alert_log import JsonlAlertLog
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.domain.watch.events import EventKind, WatchEvent
from tests.support.identities import signed_env

DAY = date(2026, 11, 20)


def clearwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "clearwatch.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def _raised(home: Path, broker: str, account: str) -> str:
    """An alert as `watch serve` records it in the home's alert log; its key."""
    at = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    events = tuple(
        WatchEvent(f"{broker}/2026-11-20/K-1/X{i}", EventKind.BANK_TRANSFER, DAY, broker,
                   account, -50_000_00, at + timedelta(minutes=i), "K001")
        for i in range(6)
    )  # fmt: skip
    alert = Alert(
        key=f"withdrawal_burst/{broker}/2026-11-20/account:{account}",
        rule="withdrawal_burst",
        level=WatchLevel.MAJOR,
        business_date=DAY,
        broker_id=broker,
        subject=f"account:{account}",
        summary=f"6 withdrawals from {account} in 5 minutes",
        amount_fen=300_000_00,
        raised_at=events[-1].occurred_at,
        rules_sha256="0" * 64,
        evidence=events,
    )
    JsonlAlertLog(home / "watch" / "alerts.jsonl").add(alert)
    return alert.key


def test_the_desk_confirms_an_alert_and_a_checker_s_approval_halts_the_client(
    cli_env: dict[str, str],
) -> None:
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    checker = signed_env(cli_env, "BO:B001", Role.CHECKER)
    home = Path(cli_env["CLEARWATCH_HOME"])
    key = _raised(home, "B001", "F100001")
    other = _raised(home, "B002", "F200002")
    listed = clearwatch(operator, "watch", "alerts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(a["number"], a["review"]) for a in json.loads(listed.stdout)] == [(1, "open")]
    table = clearwatch(operator, "watch", "alerts", "list")
    assert "F100001" not in table.stdout  # a table masks the client's account
    # `--json` too (the key as well: a review takes the alert's number), unless the evidence
    # is asked for by whom the policy lets read it: the operator, not the auditor.
    [shown] = json.loads(listed.stdout)
    assert (shown["subject"], shown["summary"]) == (
        "account:***001", "6 withdrawals from ***001 in 5 minutes")  # fmt: skip
    assert {e["account"] for e in shown["evidence"]} == {"***001"}
    whole = clearwatch(operator, "watch", "alerts", "list", "--json", "--evidence")
    assert [a["subject"] for a in json.loads(whole.stdout)] == ["account:F100001"]
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    refused = clearwatch(auditor, "watch", "alerts", "list", "--json", "--evidence")
    assert refused.returncode == 3 and "broker.evidence" in refused.stderr
    assert "F100001" not in refused.stdout
    bad = clearwatch(operator, "watch", "alerts", "review", key, "dismiss")
    assert bad.returncode == 3 and "dismissal_must_have_reason" in bad.stderr
    confirmed = clearwatch(operator, "watch", "alerts", "review", key, "confirm")
    assert confirmed.returncode == 0, confirmed.stderr
    asked = clearwatch(operator, "watch", "alerts", "halt", key, "--date", "2026-11-20")
    assert asked.returncode == 0 and "pending" in asked.stdout, asked.stderr
    assert "watch-halt:B001:***001:2026-11-20" in asked.stdout  # the request, masked
    request_id = asked.stdout.split("#")[1].split()[0]
    own = clearwatch(operator, "watch", "alerts", "halt", "--approve", request_id)
    assert own.returncode == 3 and "checker_must_not_be_maker" in own.stderr
    approved = clearwatch(checker, "watch", "alerts", "halt", "--approve", request_id)
    assert approved.returncode == 0 and "halted" in approved.stdout, approved.stderr
    halts = clearwatch(
        operator, "intraday", "halts", "--date", "2026-11-20", "--json", "--evidence"
    )
    assert halts.returncode == 0, halts.stderr
    [(halted, evidence)] = [(h["fund_account"], h["evidence"]) for h in json.loads(halts.stdout)]
    assert halted == "F100001" and evidence["alert"] == key
    everything = json.loads(
        clearwatch(operator, "watch", "alerts", "list", "--all", "--json").stdout
    )
    assert [(a["number"], a["review"]) for a in everything] == [(1, "confirmed")]
    outsider = clearwatch(operator, "watch", "alerts", "review", other, "confirm")
    assert outsider.returncode == 3 and "policy_must_allow_action" in outsider.stderr


def test_the_desk_halts_a_flow_a_checker_approves_it_and_a_lift_takes_two_people_too(
    cli_env: dict[str, str],
) -> None:
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    checker = signed_env(cli_env, "BO:B001", Role.CHECKER)
    key = _raised(Path(cli_env["CLEARWATCH_HOME"]), "B001", "F100001")
    assert clearwatch(operator, "watch", "alerts", "review", key, "confirm").returncode == 0
    unnamed = clearwatch(operator, "watch", "alerts", "halt-flow", key, "--account", "F9")
    assert unnamed.returncode == 3 and "halt_flow_must_be_named_by_the_alert" in unnamed.stderr
    asked = clearwatch(operator, "watch", "alerts", "halt-flow", key, "--account", "F100001",
                       "--to", "K001")  # fmt: skip
    assert asked.returncode == 0 and "pending" in asked.stdout, asked.stderr
    request_id = asked.stdout.split("#")[1].split()[0]
    approved = clearwatch(checker, "watch", "alerts", "halt-flow", "--approve", request_id)
    assert approved.returncode == 0 and "halted (flow halt #1)" in approved.stdout, approved.stderr
    flows = json.loads(clearwatch(operator, "watch", "alerts", "flows", "--json").stdout)
    assert [(f["account"], f["counterparty"], f["alert_key"]) for f in flows] == [
        ("***001", "***01", "withdrawal_burst/B001/2026-11-20/account:***001")
    ]  # the account, its other side and the alert naming it: masked unless asked
    flows = json.loads(
        clearwatch(operator, "watch", "alerts", "flows", "--json", "--evidence").stdout
    )
    assert [(f["halt_id"], f["account"], f["counterparty"], f["state"]) for f in flows] == [
        (1, "F100001", "K001", "in force")
    ]
    table = clearwatch(operator, "watch", "alerts", "flows")
    assert "F100001" not in table.stdout  # the table masks the account
    lift = clearwatch(operator, "watch", "alerts", "lift", "1", "--reason", "a new bank, verified")
    assert lift.returncode == 0 and "pending" in lift.stdout, lift.stderr
    lift_id = lift.stdout.split("#")[1].split()[0]
    lifted = clearwatch(checker, "watch", "alerts", "lift", "--approve", lift_id)
    assert lifted.returncode == 0 and "lifted" in lifted.stdout, lifted.stderr
    assert json.loads(clearwatch(operator, "watch", "alerts", "flows", "--json").stdout) == []
    again = clearwatch(operator, "watch", "alerts", "lift", "1", "--reason", "again")
    assert again.returncode == 3 and "flow_halt_must_be_in_force" in again.stderr


def test_a_flow_halt_and_its_lift_approved_in_the_generic_queue_take_effect_at_once(
    cli_env: dict[str, str],
) -> None:
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    checker = signed_env(cli_env, "BO:B001", Role.CHECKER)
    key = _raised(Path(cli_env["CLEARWATCH_HOME"]), "B001", "F100001")
    assert clearwatch(operator, "watch", "alerts", "review", key, "confirm").returncode == 0
    asked = clearwatch(operator, "watch", "alerts", "halt-flow", key, "--account", "F100001")
    assert asked.returncode == 0 and "pending" in asked.stdout, asked.stderr
    request_id = asked.stdout.split("#")[1].split()[0]
    approved = clearwatch(checker, "approvals", "approve", request_id)
    assert approved.returncode == 0 and "approved" in approved.stdout, approved.stderr
    flows = json.loads(
        clearwatch(operator, "watch", "alerts", "flows", "--json", "--evidence").stdout
    )
    assert [(f["halt_id"], f["account"], f["counterparty"], f["state"]) for f in flows] == [
        (1, "F100001", "*", "in force")
    ]  # without the operator asking again
    lift = clearwatch(operator, "watch", "alerts", "lift", "1", "--reason", "the client called")
    lift_id = lift.stdout.split("#")[1].split()[0]
    lifted = clearwatch(checker, "approvals", "approve", lift_id)
    assert lifted.returncode == 0 and "approved" in lifted.stdout, lifted.stderr
    assert json.loads(clearwatch(operator, "watch", "alerts", "flows", "--json").stdout) == []
