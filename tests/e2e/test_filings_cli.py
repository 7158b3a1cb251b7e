"""`clearwatch monitor filings` as an institution's officer and SIPF's registry officer use it.

B001's officer files U-9 and asks to close SA-002; SIPF's registry officer approves the one
(registry version 2 holds U-9) and rejects the other with a reason; B002's officer, asking to
file B001's account, is refused by name (exit 3) and the denial is in the audit log.
"""

from __future__ import annotations

from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.e2e.test_cases_cli import as_json, clearwatch, ok
from tests.scenarios.test_monitor_day import FILINGS, INSTITUTIONS
from tests.support.identities import signed_env
from tests.support.packages import write_registry

U9 = (
    "U-9", "--bank", "K001", "--broker", "B001", "--purpose", "client_settlement",
    "--region", "CN-SH", "--filed-on", "2026-11-02",
)  # fmt: skip


def test_an_officer_files_and_closes_and_the_registry_officer_decides(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    ok(cli_env, "init")
    registry_officer = signed_env(cli_env, "SIPF", Role.REGISTRY_OFFICER)
    registry = write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)
    ok(registry_officer, "monitor", "registry", "load", str(registry))
    officer = signed_env(cli_env, "B001", Role.OFFICER)

    filed = as_json(officer, "monitor", "filings", "file", *U9)
    assert (filed["status"], filed["kind"], filed["filed_by"]) == (
        "pending",
        "open",
        "b001-officer",
    )
    closing = as_json(
        officer, "monitor", "filings", "close", "SA-002", "--reason", "moved to another bank"
    )
    listed = as_json(officer, "monitor", "filings", "list")
    assert [(f["account_no"], f["status"]) for f in listed] == [
        ("***9", "pending"), ("***002", "pending"),
    ]  # fmt: skip
    table = ok(officer, "monitor", "filings", "list").stdout
    assert "***9" in table and "***002" in table and "pending" in table
    assert "U-9" not in table and "SA-002" not in table
    # Its own institution's accounts, whole, when its officer asks (`monitor.filings.evidence`).
    whole = as_json(officer, "monitor", "filings", "list", "--evidence")
    assert [f["account_no"] for f in whole] == ["U-9", "SA-002"]
    # The registry officer sees the number they approve, when asking for it; the registry
    # itself stays out of their evidence (`monitor.evidence`: refused, audited).
    queue = as_json(registry_officer, "monitor", "filings", "list", "--status", "pending",
                    "--evidence")  # fmt: skip
    assert [f["account_no"] for f in queue] == ["U-9", "SA-002"]
    registry_whole = clearwatch(registry_officer, "monitor", "registry", "show", "--evidence")
    assert registry_whole.returncode == 3 and "monitor.evidence" in registry_whole.stderr

    approved = ok(registry_officer, "monitor", "filings", "approve", str(filed["filing_id"]))
    assert "approved, registry version 2" in approved.stdout
    refused = clearwatch(
        registry_officer, "monitor", "filings", "reject", str(closing["filing_id"]), "--reason", ""
    )
    assert refused.returncode == 3 and "refused: reason_must_be_given" in refused.stderr
    rejected = as_json(
        registry_officer, "monitor", "filings", "reject", str(closing["filing_id"]),
        "--reason", "the account still holds client money",
    )  # fmt: skip
    assert (rejected["status"], rejected["registry_version"]) == ("rejected", None)
    shown = as_json(registry_officer, "monitor", "registry", "show")
    assert shown["version"] == 2
    # Masked unless asked for with `--evidence` by someone `monitor.evidence` allows (issue 18).
    assert [a["account_no"] for a in shown["special_accounts"]] == [
        "***001",
        "***002",
        "***003",
        "***9",
    ]
    decided = as_json(registry_officer, "monitor", "filings", "list", "--status", "approved")
    assert [(f["account_no"], f["registry_version"]) for f in decided] == [("***9", 2)]

    other = signed_env(cli_env, "B002", Role.OFFICER)
    denied = clearwatch(other, "monitor", "filings", "file", "U-10", *U9[1:])
    assert denied.returncode == 3, denied.stdout + denied.stderr
    assert "refused: filing_must_be_for_own_institution" in denied.stderr
    twice = clearwatch(officer, "monitor", "filings", "file", *U9)
    assert twice.returncode == 3 and "account_must_not_be_filed_twice" in twice.stderr
    auditor = signed_env(cli_env, "SIPF", Role.ADMIN)
    records = as_json(auditor, "audit", "show", "--limit", "10")
    actions = [(r["actor"], r["action"]) for r in records]
    assert ("b002-officer", "access.denied") in actions
