"""The kept heads against the back office's log, on SQLite and PostgreSQL: a log that still
extends them proves it; one rewritten or cut after it reported is named, even when its own
checkpoints and key were replaced so that `audit verify` alone sees nothing."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime

from sqlalchemy import text

from clearwatch.bootstrap import Application
from clearwatch.domain.audit.chain import AuditEvent, HashAlgorithm, seal
from clearwatch.domain.audit.witness import KeptHead
from clearwatch.services.audit.anchor import restore_append_only, verify_anchored_audit
from clearwatch.services.audit.witness import check_witnessed_heads, publish_head
from tests.integration.audit.test_anchored_audit import append_records, disable_audit_triggers


def report_head(app: Application, package_id: int) -> KeptHead:
    """What the monitor keeps of a package whose manifest carried the log's head now."""
    head = publish_head(anchor=app.audit_anchor())
    assert head is not None
    return KeptHead("B001", date(2026, 11, 20), package_id, datetime.now(UTC), head)


def rechain_with_edit(app: Application, seq: int) -> None:
    """Edit record `seq`'s payload and recompute every later hash: the chain still links."""
    with app.read_uow() as uow:
        records = [r for r in uow.audit.records() if r.seq >= seq]
    with app.engine.begin() as connection:
        disable_audit_triggers(connection)
        prev = records[0].prev_hash
        for record in records:
            payload = json.loads(record.payload_json)
            if record.seq == seq:
                payload["n"] = 999
            event = AuditEvent(record.actor, record.action, record.object_ref, payload)
            forged = seal(
                event,
                seq=record.seq,
                recorded_at=app.clock.now(),
                prev_hash=prev,
                algorithm=HashAlgorithm.SHA256,
            )
            connection.execute(
                text(
                    "UPDATE audit_log SET payload_json = :p, recorded_at = :at, prev_hash = :v, "
                    "hash = :h WHERE seq = :s"
                ),
                {
                    "p": forged.payload_json,
                    "at": forged.recorded_at,
                    "v": prev,
                    "h": forged.hash,
                    "s": record.seq,
                },
            )
            prev = forged.hash


def start_afresh(app: Application) -> None:
    """Cover the tracks: the broker's own anchor removed, key and all, the triggers set again,
    and the rewritten log signed anew."""
    shutil.rmtree(app.settings.audit_checkpoints_dir)
    app.settings.audit_key_path.unlink()
    restore_append_only(anchor=app.audit_anchor())
    assert publish_head(anchor=app.audit_anchor()) is not None


def test_kept_heads_the_log_still_extends_are_proven_consistent(app: Application) -> None:
    append_records(app, 5)
    day_1 = report_head(app, 1)
    append_records(app, 4, prefix="day2")
    day_2 = report_head(app, 2)
    append_records(app, 3, prefix="day3")
    report = check_witnessed_heads(anchor=app.audit_anchor(), kept=[day_2, day_1])
    assert report.findings == ()
    assert [c.kept.package_id for c in report.checks] == [1, 2]
    assert all(c.path for c in report.checks)  # a proof from each kept tree to today's


def test_a_rewrite_after_reporting_is_named_even_with_a_fresh_key(app: Application) -> None:
    append_records(app, 5)
    day_1 = report_head(app, 1)
    rewritten_seq = day_1.head.checkpoint.seq + 2
    append_records(app, 4, prefix="day2")
    day_2 = report_head(app, 2)
    append_records(app, 2, prefix="day3")
    rechain_with_edit(app, rewritten_seq)
    start_afresh(app)
    assert verify_anchored_audit(anchor=app.audit_anchor()).intact  # the broker's own view
    report = check_witnessed_heads(anchor=app.audit_anchor(), kept=[day_1, day_2])
    by_package = {c.kept.package_id: [f.rule for f in c.findings] for c in report.checks}
    assert by_package == {
        1: ["witnessed_head_signed_by_another_key"],
        2: ["witnessed_head_signed_by_another_key", "audit_log_rewritten_since_witnessed"],
    }
    [rewrite] = [f for f in report.findings if f.rule == "audit_log_rewritten_since_witnessed"]
    first, last = day_1.head.checkpoint.seq + 1, day_2.head.checkpoint.seq
    assert f"a record in {first}..{last} was changed" in rewrite.detail
    assert "package 2" in rewrite.detail


def test_a_tail_cut_after_reporting_is_named(app: Application) -> None:
    append_records(app, 6)
    kept = report_head(app, 1)
    with app.engine.begin() as connection:
        disable_audit_triggers(connection)
        cut = kept.head.checkpoint.seq - 2
        connection.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": cut})
    report = check_witnessed_heads(anchor=app.audit_anchor(), kept=[kept])
    assert [f.rule for f in report.findings] == ["audit_log_truncated_since_witnessed"]
    assert f"the store ends at {cut}" in report.findings[0].detail
