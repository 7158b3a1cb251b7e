"""Issue 18, the rest, as the CLI prints it: an alert named by its number (its key masked),
`intraday halts --json`, a break's evidence and `audit show` masked unless `--evidence` is
asked by whom the policy lets read it, and every allowed evidence read audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.chain import AuditRecord
from tests.e2e.test_breaks_cli import _cli, _ok
from tests.e2e.test_watch_alerts_cli import _raised, clearwatch
from tests.integration.backoffice.eod_days import DAY_1, inbox_day_1
from tests.integration.backoffice.test_reconciliation import write_statements
from tests.support.identities import signed_env

CLIENT = "F100001"  # the fixture's client: masked `***001`
KEY = f"withdrawal_burst/B001/2026-11-20/account:{CLIENT}"


def _audit(env: dict[str, str], after_seq: int = 0) -> list[AuditRecord]:
    app = build_application(Settings.from_environment(env))
    try:
        with app.read_uow() as uow:
            return list(uow.audit.records(after_seq=after_seq))
    finally:
        app.dispose()


def _head(env: dict[str, str]) -> int:
    return max((r.seq for r in _audit(env)), default=0)


def _evidence_reads(env: dict[str, str], after_seq: int) -> list[tuple[AuditRecord, Any]]:
    """The allowed evidence reads recorded after `after_seq`, each with its payload."""
    return [
        (r, json.loads(r.payload_json))
        for r in _audit(env, after_seq)
        if r.action == "access.evidence_read"
    ]


def _json(env: dict[str, str], *args: str) -> Any:
    done = clearwatch(env, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _refused(env: dict[str, str], action: str, *args: str) -> None:
    """Refused by the policy's `action` (exit 3, audited), nothing of the client shown."""
    head = _head(env)
    done = clearwatch(env, *args)
    assert done.returncode == 3 and action in done.stderr, done.stdout + done.stderr
    assert CLIENT not in done.stdout + done.stderr
    [denial] = _audit(env, head)
    assert (denial.action, denial.object_ref) == ("access.denied", f"action:{action}")


def test_an_alert_is_named_by_its_number_and_its_key_never_printed_whole(
    cli_env: dict[str, str],
) -> None:
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    checker = signed_env(cli_env, "BO:B001", Role.CHECKER)
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    assert _raised(Path(cli_env["CLEARWATCH_HOME"]), "B001", CLIENT) == KEY
    table = clearwatch(operator, "watch", "alerts", "list", "--wide")
    assert table.returncode == 0 and CLIENT not in table.stdout, table.stdout
    [shown] = _json(operator, "watch", "alerts", "list", "--json")
    assert (shown["number"], shown["key"]) == (1, "withdrawal_burst/B001/2026-11-20/account:***001")
    assert CLIENT not in json.dumps(shown)
    head = _head(operator)
    [whole] = _json(operator, "watch", "alerts", "list", "--json", "--evidence")
    assert (whole["number"], whole["key"]) == (1, KEY)
    [(read, said)] = _evidence_reads(operator, head)
    assert (read.actor, read.object_ref) == ("bo-b001-operator", "evidence:organisation:BO:B001")
    assert (said["action"], said["read"]) == ("broker.evidence", "watch alerts list")
    _refused(auditor, "broker.evidence", "watch", "alerts", "list", "--json", "--evidence")
    # Reviewed and halted by its number; every answer names the alert by it.
    confirmed = clearwatch(operator, "watch", "alerts", "review", "1", "confirm")
    assert confirmed.returncode == 0 and "alert #1" in confirmed.stdout, confirmed.stderr
    again = clearwatch(operator, "watch", "alerts", "review", "1", "confirm")
    assert again.returncode == 3 and "alert_must_be_reviewed_once" in again.stderr
    assert CLIENT not in again.stdout + again.stderr
    unknown = clearwatch(operator, "watch", "alerts", "review", "7", "confirm")
    assert unknown.returncode == 3 and "alert_must_exist" in unknown.stderr
    asked = clearwatch(operator, "watch", "alerts", "halt", "1", "--date", "2026-11-20")
    assert asked.returncode == 0 and CLIENT not in asked.stdout, asked.stdout + asked.stderr
    request_id = asked.stdout.split("#")[1].split()[0]
    approved = clearwatch(checker, "watch", "alerts", "halt", "--approve", request_id)
    assert approved.returncode == 0 and "halted" in approved.stdout, approved.stderr
    _intraday_halts_are_masked_unless_the_evidence_is_asked(operator, auditor)
    _audit_show_is_masked_unless_the_auditor_asks_for_the_evidence(cli_env)


def _intraday_halts_are_masked_unless_the_evidence_is_asked(
    operator: dict[str, str], auditor: dict[str, str]
) -> None:
    halts = ("intraday", "halts", "--date", "2026-11-20")
    for who in (operator, auditor):
        [halt] = _json(who, *halts, "--json")
        assert halt["fund_account"] == "***001" and CLIENT not in json.dumps(halt)
        assert halt["evidence"]["alert"] == "withdrawal_burst/B001/2026-11-20/account:***001"
        assert CLIENT not in clearwatch(who, *halts, "--wide").stdout
    head = _head(operator)
    [halt] = _json(operator, *halts, "--json", "--evidence")
    assert (halt["fund_account"], halt["evidence"]["alert"]) == (CLIENT, KEY)
    [(_, said)] = _evidence_reads(operator, head)
    assert said["read"] == "intraday halts 2026-11-20"
    _refused(auditor, "broker.evidence", *halts, "--json", "--evidence")


def _audit_show_is_masked_unless_the_auditor_asks_for_the_evidence(env: dict[str, str]) -> None:
    show = ("audit", "show", "--limit", "200", "--json")
    admin = signed_env(env, "BO:B001", Role.ADMIN)
    auditor = signed_env(env, "BO:B001", Role.AUDITOR)
    masked = _json(admin, *show)
    refs = {r["object_ref"] for r in masked}
    assert "client:B001/***001/2026-11-20" in refs  # the halted client
    assert "alert:withdrawal_burst/B001/2026-11-20/account:***001" in refs  # its review
    assert CLIENT not in json.dumps(masked)
    head = _head(auditor)
    whole = {r["object_ref"] for r in _json(auditor, *show, "--evidence")}
    assert {f"client:B001/{CLIENT}/2026-11-20", f"alert:{KEY}"} <= whole
    [(read, said)] = _evidence_reads(auditor, head)
    assert (read.actor, said["action"]) == ("bo-b001-auditor", "audit.evidence")
    # The admin runs the deployment and reads the log, masked: the evidence is refused.
    _refused(admin, "audit.evidence", *show, "--evidence")


def test_a_break_s_evidence_is_masked_unless_asked_and_an_allowed_read_audited(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    _ok(cli_env, "init")
    operator = signed_env(cli_env, "BO:B001", Role.OPERATOR)
    auditor = signed_env(cli_env, "BO:B001", Role.AUDITOR)
    inbox = inbox_day_1(tmp_path / "in")
    out = tmp_path / "out"
    _ok(operator, "broker", "eod", "--date", DAY_1, "--inbox", str(inbox), "--out", str(out))
    write_statements(out / "package", tmp_path / "statements", nudge={"F002": 1})
    for kind in ("bank_statement", "csdc_statement"):
        _ok(operator, "broker", "import", str(tmp_path / "statements" / kind))
    (out / "reconciliation.csv").unlink()
    _ok(operator, "broker", "eod", "--date", DAY_1, "--inbox", str(inbox), "--out", str(out))
    for shown in ("--json", "--wide"):
        printed = _ok(auditor, "broker", "breaks", shown)
        assert "F002" not in printed and "***02" in printed
    head = _head(operator)
    (whole,) = json.loads(_ok(operator, "broker", "breaks", "--json", "--evidence"))
    assert whole["subject"] == "F002" and whole["evidence"]["check"] == "client_vs_bank"
    [(_, said)] = _evidence_reads(operator, head)
    assert (said["read"], said["organisation"]) == ("broker breaks", "BO:B001")
    head = _head(auditor)
    refused = _cli(auditor, "broker", "breaks", "--wide", "--evidence")
    assert refused.returncode == 3 and "F002" not in refused.stdout + refused.stderr
    assert [r.action for r in _audit(auditor, head)] == ["access.denied"]
