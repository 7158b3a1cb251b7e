"""The audit table on SQLite and PostgreSQL: append-only, chained, tamper found."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearwatch.bootstrap import Application
from clearwatch.services.audit.audit_log import record_audit, verify_audit


def append_records(app: Application, count: int) -> None:
    for n in range(count):
        with app.uow() as uow:
            record_audit(
                uow,
                actor="alice",
                action="test.recorded",
                object_ref=f"thing:{n}",
                payload={"n": n, "amount": "1.00"},
                recorded_at=app.clock.now(),
            )
            uow.commit()


def schema_events(app: Application) -> int:
    with app.read_uow() as uow:
        return sum(1 for r in uow.audit.records() if r.action == "store.schema_upgraded")


def test_records_chain_in_order_and_verify(app: Application) -> None:
    append_records(app, 3)
    verdict = verify_audit(uow=app.read_uow())
    assert verdict.intact
    assert verdict.records_checked == 3 + schema_events(app)


def test_a_change_rolled_back_leaves_no_audit_record(app: Application) -> None:
    before = verify_audit(uow=app.read_uow()).records_checked
    with app.uow() as uow:
        record_audit(
            uow,
            actor="a",
            action="never.committed",
            object_ref="x",
            payload={},
            recorded_at=app.clock.now(),
        )
    assert verify_audit(uow=app.read_uow()).records_checked == before


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"]
)
def test_update_and_delete_are_refused_by_the_database(app: Application, statement: str) -> None:
    append_records(app, 1)
    with pytest.raises(DBAPIError, match="append-only"), app.engine.begin() as connection:
        connection.execute(text(statement))


def drop_triggers(app: Application) -> None:
    with app.engine.begin() as connection:
        if app.engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_refuse_update"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_refuse_change ON audit_log"))


def test_an_edit_behind_the_systems_back_is_named_by_verify(app: Application) -> None:
    append_records(app, 5)
    first = schema_events(app)
    target_seq = first + 3
    drop_triggers(app)
    with app.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET payload_json = :p WHERE seq = :s"),
            {"p": '{"amount":"1000000.00","n":2}', "s": target_seq},
        )
    verdict = verify_audit(uow=app.read_uow())
    assert verdict.first_break is not None
    assert verdict.first_break.seq == target_seq
    assert verdict.first_break.reason == "hash_must_match_content"
