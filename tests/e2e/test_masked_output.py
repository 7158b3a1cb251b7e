"""Clients' accounts are masked in what is printed, table and `--json` alike; whole only as the
evidence asked for with `--evidence` by whom the policy lets read it (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.masking import mask
from tests.e2e.test_watch_cli import clearwatch
from tests.support.identities import signed_env


def test_watch_alerts_print_accounts_masked_and_the_evidence_only_when_asked_and_allowed(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    market = tmp_path / "m"
    made = clearwatch(
        cli_env, "sim", "day", "--out", str(market), "--brokers", "2", "--banks", "2",
        "--clients", "300", "--executions", "1500", "--days", "1",
        "--faults", "withdrawal_burst,node_divergence",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    evidence = clearwatch(
        operator, "watch", "replay", "--from", str(market), "--json", "--evidence"
    )
    assert evidence.returncode == 0, evidence.stderr
    alerts = json.loads(evidence.stdout)
    own = [a for a in alerts if a["broker_id"] == "B001"]
    accounts = {
        a["subject"].removeprefix("account:") for a in own if a["subject"].startswith("account:")
    }
    assert accounts, "the faults raise alerts about B001's accounts"
    # Another broker's alerts in the replayed market stay masked, even for B001's operator.
    assert all("***" in a["subject"] for a in alerts if a["subject"].startswith("account:")
               and a["broker_id"] != "B001")  # fmt: skip
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    for shown in ("--json", "--wide"):
        printed = clearwatch(auditor, "watch", "replay", "--from", str(market), shown)
        assert printed.returncode == 0, printed.stderr
        # The alert's key stays whole (the handle a review takes); nothing else names it.
        text = printed.stdout
        if shown == "--json":
            text = json.dumps([{**a, "key": ""} for a in json.loads(text)])
        for account in accounts:
            assert account not in text, account
        assert any(f"account:{mask(account)}" in text for account in accounts)
    refused = clearwatch(auditor, "watch", "replay", "--from", str(market), "--evidence")
    assert refused.returncode == 3 and "broker.evidence" in refused.stderr
    assert not any(account in refused.stdout for account in accounts)


def test_approval_requests_are_listed_with_their_client_masked_unless_asked_and_allowed(
    cli_env: dict[str, str],
) -> None:
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    checker = signed_env(cli_env, "BO:B001", Role.CHECKER)
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    payload = {"fund_account": "F100001", "amount": "-12.00", "reason": "a fee booked twice"}
    asked = clearwatch(operator, "approvals", "request", "manual_adjustment",
                       "account:B001:F100001", "--payload", json.dumps(payload))  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    for shown in ((), ("--wide",), ("--json",)):
        listed = clearwatch(auditor, "approvals", "list", *shown)
        assert listed.returncode == 0, listed.stderr
        assert "F100001" not in listed.stdout and "***001" in listed.stdout
    # The checker who decides it sees whom it is about, when asking for the evidence.
    whole = clearwatch(checker, "approvals", "list", "--json", "--evidence")
    [request] = json.loads(whole.stdout)
    assert (request["subject_ref"], request["payload"]) == ("account:B001:F100001", payload)
    refused = clearwatch(auditor, "approvals", "list", "--json", "--evidence")
    assert refused.returncode == 3 and "broker.evidence" in refused.stderr
    assert "F100001" not in refused.stdout
