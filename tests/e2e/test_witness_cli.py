"""The regulator as witness, through the CLI: a back office reports day 1 with its signed audit
head, the monitor keeps it, and when the back office's log is rewritten behind the system's
back (its own checkpoints and key replaced, so its own `audit verify` sees nothing), the
consistency check against the monitor's kept head names the rewrite."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

from clearwatch.domain.access.roles import Role
from tests.backoffice_batches import BROKER
from tests.e2e.test_audit_cli import error_lines
from tests.e2e.test_cli_foundation import clearwatch
from tests.integration.backoffice.eod_days import DAY_1, DAY_2, inbox_day_1, inbox_day_2
from tests.integration.backoffice.test_package_to_monitor import _registry
from tests.support.identities import signed_env

AT = "2026-11-20T18:00:00+08:00"


def _rechain_with_edit(store: Path, seq: int) -> None:
    """A console user edits record `seq` and recomputes every later hash (triggers dropped)."""
    from clearwatch.domain.audit.chain import AuditEvent, HashAlgorithm, seal

    with sqlite3.connect(store) as connection:
        connection.execute("DROP TRIGGER audit_log_refuse_update")
        rows = connection.execute(
            "SELECT seq, actor, action, object_ref, payload_json, recorded_at, prev_hash "
            "FROM audit_log WHERE seq >= ? ORDER BY seq",
            (seq,),
        ).fetchall()
        prev = rows[0][6]
        for number, actor, action, object_ref, payload_json, recorded_at, _ in rows:
            payload = json.loads(payload_json)
            if number == seq:
                payload["rewritten"] = True
            event = AuditEvent(actor, action, object_ref, payload)
            forged = seal(
                event, seq=number, recorded_at=datetime.fromisoformat(recorded_at), prev_hash=prev,
                algorithm=HashAlgorithm.SHA256,
            )  # fmt: skip
            connection.execute(
                "UPDATE audit_log SET payload_json = ?, recorded_at = ?, prev_hash = ?, hash = ? "
                "WHERE seq = ?",
                (forged.payload_json, forged.recorded_at, prev, forged.hash, number),
            )
            prev = forged.hash


def test_a_rewrite_after_day_one_was_reported_is_named_against_the_monitors_head(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # Two stores, as deployed, each with its own users: the broker's back office, the monitor.
    back_office = {**cli_env, "CLEARWATCH_HOME": str(tmp_path / "back-office-home")}
    for env in (back_office, cli_env):
        assert clearwatch(env, "init").returncode == 0
    operator = signed_env(back_office, f"BO:{BROKER}", Role.OPERATOR)
    auditor = signed_env(back_office, f"BO:{BROKER}", Role.AUDITOR)
    registry_officer = signed_env(cli_env, "SIPF", Role.REGISTRY_OFFICER)
    submitter = signed_env(cli_env, BROKER, Role.SUBMITTER)
    analyst = signed_env(cli_env, "SIPF", Role.ANALYST)
    loaded = clearwatch(registry_officer, "monitor", "registry", "load", str(_registry(tmp_path)))
    assert loaded.returncode == 0, loaded.stderr
    out = Path(back_office["CLEARWATCH_HOME"]) / "out" / BROKER
    for day, inbox in ((DAY_1, inbox_day_1(tmp_path)), (DAY_2, inbox_day_2(tmp_path))):
        eod = clearwatch(
            operator, "broker", "eod", "--date", day, "--inbox", str(inbox), "--at", AT
        )
        assert eod.returncode == 0, eod.stderr
        submitted = clearwatch(submitter, "monitor", "submit", str(out / day / "package"))
        assert json.loads(submitted.stdout)["status"] == "accepted", submitted.stdout
    day_1_head = json.loads((out / DAY_1 / "package" / "manifest.json").read_text())["audit_head"]

    # The monitor keeps both heads; SIPF hands them to whoever checks the broker's log.
    listing = clearwatch(analyst, "monitor", "witness", "--institution", BROKER, "--date", DAY_1)
    assert listing.returncode == 0, listing.stderr
    assert day_1_head["checkpoint"]["tree_head"][:16] in listing.stdout
    assert clearwatch(submitter, "monitor", "witness", "--institution", BROKER).returncode == 3
    exported = clearwatch(analyst, "monitor", "witness", "--institution", BROKER, "--json")
    assert exported.returncode == 0, exported.stderr
    heads = tmp_path / "heads.json"
    heads.write_text(exported.stdout)
    assert json.loads(exported.stdout)["heads"][0]["head"] == day_1_head
    holds = clearwatch(auditor, "audit", "witness", str(heads))
    assert holds.returncode == 0, holds.stderr
    assert holds.stdout.count("holds") == 2

    # Behind the system's back: a record of day 1 edited and re-chained, the back office's own
    # checkpoints and key replaced, its triggers restored: its own verify sees nothing.
    home = Path(back_office["CLEARWATCH_HOME"])
    _rechain_with_edit(home / "clearwatch.sqlite3", day_1_head["checkpoint"]["seq"] - 3)
    shutil.rmtree(home / "audit-checkpoints")
    (home / "audit-key" / "ed25519.pem").unlink()
    assert clearwatch(back_office, "init").returncode == 0
    assert clearwatch(auditor, "audit", "verify").returncode == 0

    caught = clearwatch(auditor, "audit", "witness", str(heads))
    assert caught.returncode == 1
    errors = error_lines(caught.stderr)
    rewritten = [line for line in errors if "audit_log_rewritten_since_witnessed" in line]
    assert len(rewritten) == 2  # both kept heads cover the edited record
    assert f"{BROKER} {DAY_1} (package 1, seq {day_1_head['checkpoint']['seq']}" in rewritten[0]
    assert "witnessed_head_signed_by_another_key" in caught.stderr

    # And the monitor refuses a head under the new key: trust stays with the first key.
    again = clearwatch(
        operator, "broker", "eod", "--date", DAY_2, "--inbox", str(inbox_day_2(tmp_path)),
        "--out", str(tmp_path / "rerun"), "--at", AT,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    refused = clearwatch(submitter, "monitor", "submit", str(tmp_path / "rerun" / "package"))
    assert refused.returncode == 3
    assert "audit_head_key_must_be_pinned_key" in refused.stdout
