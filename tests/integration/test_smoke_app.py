"""The shared `app` fixture gives a migrated store on each database."""

from clearwatch.bootstrap import Application
from clearwatch.domain.audit.chain import AuditEvent


def test_each_database_starts_with_an_empty_chain_and_appends(app: Application) -> None:
    with app.uow() as uow:
        record = uow.audit.append(
            AuditEvent("tester", "smoke.append", "smoke:1", {"n": 1}), recorded_at=app.clock.now()
        )
        uow.commit()
    assert record.seq == 1
