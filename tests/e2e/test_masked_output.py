"""Clients' accounts are masked in what is printed, whole in `--json` evidence (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path

from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.masking import mask
from tests.e2e.test_watch_cli import clearwatch
from tests.support.identities import signed_env


def test_watch_alerts_print_accounts_masked_and_json_keeps_the_evidence(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    market = tmp_path / "m"
    made = clearwatch(
        cli_env, "sim", "day", "--out", str(market), "--brokers", "2", "--banks", "2",
        "--clients", "300", "--executions", "1500", "--days", "1",
        "--faults", "withdrawal_burst,node_divergence",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    risk_desk = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    evidence = clearwatch(risk_desk, "watch", "replay", "--from", str(market), "--json")
    assert evidence.returncode == 0, evidence.stderr
    alerts = json.loads(evidence.stdout)
    accounts = {
        a["subject"].removeprefix("account:") for a in alerts if a["subject"].startswith("account:")
    }
    assert accounts, "the faults raise alerts about accounts"
    table = clearwatch(risk_desk, "watch", "replay", "--from", str(market), "--wide")
    assert table.returncode == 0, table.stderr
    for account in accounts:
        assert account not in table.stdout, account
    assert any(f"account:{mask(account)}" in table.stdout for account in accounts)
