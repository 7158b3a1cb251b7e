"""The anchored audit on SQLite and PostgreSQL: the attacks a console user can try are named."""

from __future__ import annotations

import json
import stat
from datetime import date

import pytest
from sqlalchemy import Connection, insert, inspect, text

from clearwatch.adapters.db.append_only import APPEND_ONLY_TABLES, trigger_statements
from clearwatch.adapters.db.backoffice.tables import bo_batches
from clearwatch.bootstrap import Application
from clearwatch.domain.audit.chain import AuditEvent, HashAlgorithm, seal
from clearwatch.services.audit.anchor import (
    AuditNotAnchored,
    checkpoint_audit,
    prove_consistency,
    prove_inclusion,
    restore_append_only,
    verify_anchored_audit,
)
from clearwatch.services.audit.audit_log import record_audit


def append_records(app: Application, count: int, prefix: str = "thing") -> None:
    for n in range(count):
        with app.uow() as uow:
            record_audit(
                uow,
                actor="alice",
                action="test.recorded",
                object_ref=f"{prefix}:{n}",
                payload={"n": n},
                recorded_at=app.clock.now(),
            )
            uow.commit()


def disable_audit_triggers(connection: Connection, table: str = "audit_log") -> None:
    """What a console user does first: SQLite drops the triggers, PostgreSQL disables them."""
    if connection.dialect.name == "sqlite":
        for name in trigger_statements("sqlite", table):
            connection.execute(text(f"DROP TRIGGER {name}"))
    else:
        connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def rules(app: Application, *, data: bool = False) -> list[str]:
    report = verify_anchored_audit(anchor=app.audit_anchor(), data=data)
    return [finding.rule for finding in report.findings]


def test_a_fresh_store_has_every_append_only_trigger(app: Application) -> None:
    """APPEND_ONLY_TABLES lists what the migrations set: nothing missing, nothing extra."""
    assert app.audit_anchor().guard.missing_triggers() == []
    with app.engine.connect() as connection:
        dialect = connection.dialect.name
    expected = {n for t in APPEND_ONLY_TABLES for n in trigger_statements(dialect, t)}
    with app.engine.connect() as connection:
        if dialect == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = (
                "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT tgisinternal AND n.nspname = current_schema()"
            )
        present = {row[0] for row in connection.execute(text(query))}
    assert expected <= present
    # A table with the full pair of generic triggers is append-only: it must be listed.
    pair = ("_refuse_update", "_refuse_delete") if dialect == "sqlite" else ("_refuse_change",)
    with app.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    guarded = {t for t in tables if all(f"{t}{suffix}" in present for suffix in pair)}
    assert guarded == set(APPEND_ONLY_TABLES)


def test_an_intact_log_verifies_against_its_checkpoint(app: Application) -> None:
    append_records(app, 5)
    signed = checkpoint_audit(anchor=app.audit_anchor())
    assert signed is not None
    report = verify_anchored_audit(anchor=app.audit_anchor())
    assert report.intact and report.latest == signed


def test_dropping_triggers_and_deleting_the_last_records_is_named_truncation(
    app: Application,
) -> None:
    append_records(app, 6)
    signed = checkpoint_audit(anchor=app.audit_anchor())
    assert signed is not None
    with app.engine.begin() as connection:
        disable_audit_triggers(connection)
        connection.execute(
            text("DELETE FROM audit_log WHERE seq > :s"), {"s": signed.checkpoint.seq - 2}
        )
    report = verify_anchored_audit(anchor=app.audit_anchor())
    assert report.chain.intact  # the chain alone cannot see a cut tail
    messages = [str(finding) for finding in report.findings]
    seq = signed.checkpoint.seq
    assert f"audit_log_truncated: checkpoint at seq {seq}, store ends at {seq - 2}" in messages
    assert any(m.startswith("append_only_trigger_missing: audit_log_refuse") for m in messages)
    with pytest.raises(AuditNotAnchored, match="audit_log_truncated"):
        checkpoint_audit(anchor=app.audit_anchor())


def test_editing_a_record_and_rechaining_is_named(app: Application) -> None:
    append_records(app, 7)
    checkpoint_audit(anchor=app.audit_anchor())
    with app.read_uow() as uow:
        records = list(uow.audit.records())
    with app.engine.begin() as connection:
        disable_audit_triggers(connection)
        prev = records[2].prev_hash
        for record in records[2:]:
            payload = json.loads(record.payload_json)
            if record.seq == records[2].seq:
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
                    "UPDATE audit_log SET payload_json = :p, recorded_at = :at, "
                    "prev_hash = :prev, hash = :h WHERE seq = :s"
                ),
                {
                    "p": forged.payload_json,
                    "at": forged.recorded_at,
                    "prev": forged.prev_hash,
                    "h": forged.hash,
                    "s": forged.seq,
                },
            )
            prev = forged.hash
    report = verify_anchored_audit(anchor=app.audit_anchor())
    assert report.chain.intact  # re-chained: every link holds
    assert "audit_log_rechained" in [finding.rule for finding in report.findings]
    # The next command's checkpoint refuses to bless the rewritten history.
    append_records(app, 1, prefix="later")
    with pytest.raises(AuditNotAnchored, match="prev_hash_must_link_previous"):
        checkpoint_audit(anchor=app.audit_anchor())


def test_a_missing_trigger_is_reported_and_init_restores_it(app: Application) -> None:
    with app.engine.begin() as connection:
        disable_audit_triggers(connection)
    assert rules(app) == ["append_only_trigger_missing"]
    restored = restore_append_only(anchor=app.audit_anchor())
    assert restored and all(name.startswith("audit_log_refuse") for name in restored)
    assert rules(app) == []
    with app.read_uow() as uow:
        assert uow.audit.latest(limit=1)[0].action == "store.triggers_restored"
    with pytest.raises(Exception, match="append-only"), app.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log"))


def test_inclusion_and_consistency_proofs_verify(app: Application) -> None:
    append_records(app, 3)
    first = checkpoint_audit(anchor=app.audit_anchor())
    append_records(app, 6)
    second = checkpoint_audit(anchor=app.audit_anchor())
    assert first is not None and second is not None
    old, new = first.checkpoint.seq, second.checkpoint.seq
    for seq in range(1, new + 1):
        assert prove_inclusion(anchor=app.audit_anchor(), seq=seq).verified
    proof = prove_consistency(anchor=app.audit_anchor(), old_seq=old, new_seq=new)
    assert proof.verified and proof.path


def test_a_forged_checkpoint_signature_is_named(app: Application) -> None:
    append_records(app, 2)
    signed = checkpoint_audit(anchor=app.audit_anchor())
    assert signed is not None
    path = app.settings.audit_checkpoints_dir / f"{signed.checkpoint.seq:012d}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(app.settings.audit_key_path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    document["checkpoint"]["tree_head"] = "00" * 32
    path.write_text(json.dumps(document))
    assert "audit_checkpoint_signature_invalid" in rules(app)


def test_data_check_names_an_edited_row_the_record_fingerprinted(app: Application) -> None:
    with app.engine.begin() as connection:
        connection.execute(
            insert(bo_batches).values(
                broker_id="B001",
                batch_id="X1",
                kind="trades",
                business_date=date(2026, 11, 20),
                content_sha256="ab" * 32,
                manifest_json="{}",
                received_at="2026-11-20T16:00:00+08:00",
            )
        )
    with app.uow() as uow:
        record = record_audit(
            uow,
            actor="importer",
            action="batch.imported",
            object_ref="batch:B001:X1",
            payload={},
            recorded_at=app.clock.now(),
        )
        uow.commit()
    assert "rows_sha256" in json.loads(record.payload_json)
    assert rules(app, data=True) == []
    with app.engine.begin() as connection:
        disable_audit_triggers(connection, "bo_batches")
        connection.execute(text("UPDATE bo_batches SET content_sha256 = :c"), {"c": "cd" * 32})
    assert "audit_rows_changed" in rules(app, data=True)


def test_deleted_checkpoints_are_named_and_never_re_anchored(app: Application) -> None:
    append_records(app, 2)
    checkpoint_audit(anchor=app.audit_anchor())
    for path in app.settings.audit_checkpoints_dir.glob("*.json"):
        path.unlink()
    assert "audit_checkpoints_missing" in rules(app)
    append_records(app, 1, prefix="later")
    with pytest.raises(AuditNotAnchored, match="audit_checkpoints_missing"):
        checkpoint_audit(anchor=app.audit_anchor())
