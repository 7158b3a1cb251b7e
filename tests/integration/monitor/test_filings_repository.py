"""Filings in the relational store, on SQLite and PostgreSQL: one decision each, append-only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.filings import FilingKind, FilingStatus
from clearwatch.domain.monitor.registry import RegistrySnapshot, SpecialAccountFiling
from clearwatch.domain.monitor.registry_files import RegistryContent
from clearwatch.services.monitor.filings_ports import (
    FilingConflict,
    NewFiling,
    NewFilingDecision,
)
from tests.integration.monitor.conftest import load
from tests.support.packages import write_registry

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
ACCOUNT = SpecialAccountFiling("U-9", "K001", "B001", "option_margin", "CN-SH", date(2026, 11, 2))


def _file(app: Application, account_no: str, kind: FilingKind = FilingKind.OPEN) -> int:
    with app.uow() as uow:
        uow.filings.lock()
        filing_id = uow.filings.add(
            NewFiling(
                kind,
                SpecialAccountFiling(
                    account_no, "K001", "B001", "option_margin", "CN-SH", date(2026, 11, 2)
                ),
                "B001",
                "branch closed" if kind is FilingKind.CLOSE else "",
                "b001-officer",
                AT,
            )
        )
        uow.commit()
    return filing_id


def test_filings_round_trip_and_their_status_is_their_decision(
    app: Application, tmp_path: Path
) -> None:
    assert load(app, write_registry(tmp_path / "registry")).loaded
    first, second = _file(app, "U-9"), _file(app, "U-10", FilingKind.CLOSE)
    with app.uow() as uow:
        assert uow.filings.pending_accounts() == {"U-9", "U-10"}
        version = uow.registry.save_version(
            _content(uow.registry.current()), loaded_at=AT, loaded_by="sipf-registry_officer"
        )
        uow.filings.decide(
            NewFilingDecision(first, FilingStatus.APPROVED, "sipf-ro", AT, "", version)
        )
        uow.commit()
    with app.read_uow() as uow:
        stored = uow.filings.get(first)
        assert stored is not None
        assert (stored.status, stored.registry_version, stored.decided_at) == (
            FilingStatus.APPROVED, version, AT,
        )  # fmt: skip
        assert (stored.account, stored.filed_at, stored.filed_by) == (ACCOUNT, AT, "b001-officer")
        assert uow.filings.pending_accounts() == {"U-10"}
        assert [f.filing_id for f in uow.filings.filings(status=FilingStatus.PENDING)] == [second]
        assert [f.filing_id for f in uow.filings.filings(institution_id="B001")] == [first, second]
        assert uow.filings.filings(institution_id="B002") == []
        assert uow.filings.get(999) is None


def _content(snapshot: RegistrySnapshot | None) -> RegistryContent:
    assert snapshot is not None
    return RegistryContent(snapshot.institutions, snapshot.special_accounts, snapshot.holidays)


def test_a_filing_is_decided_once_the_second_decision_is_a_conflict(app: Application) -> None:
    filing_id = _file(app, "U-9")
    with app.uow() as uow:
        uow.filings.decide(
            NewFilingDecision(filing_id, FilingStatus.REJECTED, "a", AT, "no such account", None)
        )
        with pytest.raises(FilingConflict):
            uow.filings.decide(
                NewFilingDecision(filing_id, FilingStatus.REJECTED, "b", AT, "again", None)
            )
        uow.commit()  # the first decision stands; the second left nothing behind
    with app.read_uow() as uow:
        decided = uow.filings.get(filing_id)
    assert decided is not None and decided.decided_by == "a"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE monitor_filings SET account_no = 'X'",
        "DELETE FROM monitor_filings",
        "UPDATE monitor_filing_decisions SET status = 'approved'",
        "DELETE FROM monitor_filing_decisions",
    ],
)
def test_filings_and_decisions_are_append_only_at_the_database(
    app: Application, statement: str
) -> None:
    filing_id = _file(app, "U-9")
    with app.uow() as uow:
        uow.filings.decide(
            NewFilingDecision(filing_id, FilingStatus.REJECTED, "a", AT, "no such account", None)
        )
        uow.commit()
    with pytest.raises(DBAPIError), app.uow() as uow:
        uow.connection.execute(text(statement))
