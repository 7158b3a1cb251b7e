"""Special-account filings end to end through the use cases: file, decide, the next run.

An account a bank reports but nobody filed is F5 (UNFILED_ACCOUNT); once its broker's officer
files it and SIPF's registry officer approves, the registry's next version holds it and the
next run of the day no longer finds it. Each refusal is named; a denial changes nothing and is
audited.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.filings import FilingKind, FilingRule, FilingStatus
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.monitor.filings import (
    approve_filing,
    close_account,
    file_account,
    list_filings,
    reject_filing,
)
from clearwatch.services.monitor.filings_ports import FilingsContext, NewFiling
from tests.api.support import audit_head, audit_records, row_counts
from tests.integration.monitor.conftest import load
from tests.scenarios.test_monitor_day import (
    FILINGS,
    INSTITUTIONS,
    Monitor,
    amounts,
    clean_world,
)
from tests.support.identities import gate_of
from tests.support.packages import write_registry

U9 = SpecialAccountFiling("U-9", "K001", "B001", "client_settlement", "CN-SH", date(2026, 11, 2))


@pytest.fixture
def monitor(app: Application, clock: FixedClock, tmp_path: Path) -> Iterator[Monitor]:
    """The monitor on SQLite and on PostgreSQL (when configured), its registry loaded."""
    result = load(app, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS))
    assert result.loaded, result.errors
    yield Monitor(app, clock, tmp_path / "packages")


def context(app: Application) -> FilingsContext:
    return FilingsContext(clock=app.real_clock, uow_factory=app.uow, read_uow_factory=app.read_uow)


def registered_accounts(app: Application) -> tuple[int, list[str]]:
    with app.read_uow() as uow:
        registry = uow.registry.current()
    assert registry is not None
    return registry.version, [a.account_no for a in registry.special_accounts]


def unfiled_world() -> dict[str, dict[str, list[list[str]]]]:
    """K001 reports U-9, which nobody filed, and not SA-002, which B001 filed."""
    world = clean_world()
    world["K001"]["special_account_balances.csv"] = [
        ["SA-001", "B001", "client_settlement", "CN-SH", "900.00"],
        ["U-9", "B001", "client_settlement", "CN-SH", "7.00"],
    ]
    return world


def test_an_approved_filing_makes_a_version_and_the_next_run_finds_no_unfiled_account(
    monitor: Monitor,
) -> None:
    app = monitor.app
    monitor.submit_world(unfiled_world())
    assert amounts(monitor.run(), "B001")["F5"] == "7.00"
    filed = file_account(account=U9, gate=gate_of(app, "B001", Role.OFFICER), context=context(app))
    assert (filed.status, filed.kind, filed.institution_id) == (
        FilingStatus.PENDING, FilingKind.OPEN, "B001",
    )  # fmt: skip
    assert registered_accounts(app) == (1, ["SA-001", "SA-002", "SA-003"])  # pending: no change
    officer = gate_of(app, "SIPF", Role.REGISTRY_OFFICER)
    head = audit_head(app)
    approved = approve_filing(filing_id=filed.filing_id, gate=officer, context=context(app))
    assert (approved.status, approved.registry_version) == (FilingStatus.APPROVED, 2)
    assert registered_accounts(app) == (2, ["SA-001", "SA-002", "SA-003", "U-9"])
    with app.read_uow() as uow:
        stored = uow.filings.get(filed.filing_id)
    assert stored == approved  # the version records the filing that made it
    actions = [(r.action, r.object_ref) for r in audit_records(app, head)]
    assert actions == [
        ("monitor.registry.load", "registry:2"),
        ("monitor.filing.approved", f"filing:{filed.filing_id}"),
    ]
    assert "F5" not in amounts(monitor.run(), "B001")


def test_an_approved_closing_makes_a_version_without_the_account(monitor: Monitor) -> None:
    app = monitor.app
    monitor.submit_world(unfiled_world())
    assert amounts(monitor.run(), "B001")["F9"] == "1"  # SA-002 filed, not reported
    closing = close_account(
        account_no="SA-002",
        reason="the credit business moved to another bank",
        gate=gate_of(app, "B001", Role.OFFICER),
        context=context(app),
    )
    assert closing.kind is FilingKind.CLOSE and closing.account.purpose == "credit_guarantee"
    approved = approve_filing(
        filing_id=closing.filing_id,
        gate=gate_of(app, "SIPF", Role.REGISTRY_OFFICER),
        context=context(app),
    )
    assert approved.registry_version == 2
    assert registered_accounts(app) == (2, ["SA-001", "SA-003"])
    assert "F9" not in amounts(monitor.run(), "B001")


def test_a_bank_files_its_own_accounts_by_bank_id(monitor: Monitor) -> None:
    app = monitor.app
    filed = file_account(account=U9, gate=gate_of(app, "K001", Role.OFFICER), context=context(app))
    assert filed.institution_id == "K001"
    other_bank = replace(U9, account_no="U-10", bank_id="K002")
    with pytest.raises(PolicyDenied) as denied:
        file_account(
            account=other_bank, gate=gate_of(app, "K001", Role.OFFICER), context=context(app)
        )
    assert denied.value.rule == FilingRule.FILING_MUST_BE_FOR_OWN_INSTITUTION


@pytest.mark.parametrize(
    ("organisation", "role", "rule"),
    [
        ("B002", Role.OFFICER, "filing_must_be_for_own_institution"),
        ("B001", Role.VIEWER, "policy_must_allow_action"),
        ("SIPF", Role.REGISTRY_OFFICER, "policy_must_allow_action"),
        ("CN-SH", Role.BUREAU_HEAD, "policy_must_allow_action"),
    ],
)
def test_filing_for_an_account_not_ones_own_is_denied_changes_nothing_and_is_audited(
    monitor: Monitor, organisation: str, role: Role, rule: str
) -> None:
    app = monitor.app
    gate = gate_of(app, organisation, role)
    before, head = row_counts(app), audit_head(app)
    with pytest.raises(PolicyDenied) as denied:
        file_account(account=U9, gate=gate, context=context(app))
    assert denied.value.rule == rule
    # Closing another's account is answered as an account never filed (an owner is private);
    # one who may close nothing is denied outright. Audited either way.
    with pytest.raises((PolicyDenied, Refused)) as closing:
        close_account(account_no="SA-001", reason="closing", gate=gate, context=context(app))
    if rule == "filing_must_be_for_own_institution":
        assert closing.value.rule == "closing_needs_a_filed_account"
        assert "B001" not in str(closing.value)
    assert row_counts(app) == before
    records = audit_records(app, head)
    assert [(r.action, r.actor) for r in records] == [("access.denied", gate.user_id)] * 2
    assert json.loads(records[0].payload_json)["rule"] == rule


def test_each_broken_rule_of_a_filing_is_refused_by_name(monitor: Monitor) -> None:
    app = monitor.app
    officer = gate_of(app, "B001", Role.OFFICER)
    file_account(account=U9, gate=officer, context=context(app))
    cases = [
        (U9, FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE),  # pending already
        (replace(U9, account_no="SA-001"), FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE),
        (replace(U9, account_no="U-11", purpose="savings"), FilingRule.PURPOSE_MUST_BE_KNOWN),
        (replace(U9, account_no="U-12", branch_region="SH"), FilingRule.REGION_MUST_BE_KNOWN),
        (replace(U9, account_no="U-13", bank_id="B002"), FilingRule.BANK_MUST_BE_REGISTERED),
    ]
    before = row_counts(app)
    for account, rule in cases:
        with pytest.raises(Refused) as refusal:
            file_account(account=account, gate=officer, context=context(app))
        assert refusal.value.rule == rule, account
    with pytest.raises(Refused) as refusal:
        close_account(account_no="U-9", reason="no", gate=officer, context=context(app))
    assert refusal.value.rule == FilingRule.CLOSING_NEEDS_A_FILED_ACCOUNT
    with pytest.raises(Refused) as refusal:
        close_account(account_no="SA-001", reason=" ", gate=officer, context=context(app))
    assert refusal.value.rule == FilingRule.REASON_MUST_BE_GIVEN
    assert row_counts(app) == before


def test_a_filing_needs_a_registry(sqlite_app: Application) -> None:
    with pytest.raises(Refused) as refusal:
        file_account(
            account=U9, gate=gate_of(sqlite_app, "B001", Role.OFFICER), context=context(sqlite_app)
        )
    assert refusal.value.rule == FilingRule.REGISTRY_MUST_BE_LOADED


def test_a_rejection_needs_a_reason_keeps_the_registry_and_is_final(monitor: Monitor) -> None:
    app = monitor.app
    filed = file_account(account=U9, gate=gate_of(app, "B001", Role.OFFICER), context=context(app))
    officer = gate_of(app, "SIPF", Role.REGISTRY_OFFICER)
    with pytest.raises(Refused) as refusal:
        reject_filing(filing_id=filed.filing_id, reason="", gate=officer, context=context(app))
    assert refusal.value.rule == FilingRule.REASON_MUST_BE_GIVEN
    head = audit_head(app)
    rejected = reject_filing(
        filing_id=filed.filing_id,
        reason="the bank has no such account",
        gate=officer,
        context=context(app),
    )
    assert (rejected.status, rejected.registry_version) == (FilingStatus.REJECTED, None)
    assert registered_accounts(app)[0] == 1
    [record] = audit_records(app, head)
    assert (record.action, json.loads(record.payload_json)["reason"]) == (
        "monitor.filing.rejected", "the bank has no such account",
    )  # fmt: skip
    for decide in (approve_filing, reject_filing):
        with pytest.raises(Refused) as refusal:
            kwargs = {"reason": "again"} if decide is reject_filing else {}
            decide(filing_id=filed.filing_id, gate=officer, context=context(app), **kwargs)
        assert refusal.value.rule == FilingRule.FILING_MUST_BE_PENDING
    with pytest.raises(Refused) as refusal:
        approve_filing(filing_id=999, gate=officer, context=context(app))
    assert refusal.value.rule == FilingRule.FILING_MUST_EXIST
    # Rejected, the account may be filed again.
    file_account(account=U9, gate=gate_of(app, "B001", Role.OFFICER), context=context(app))


def test_only_the_registry_officer_decides_and_never_on_their_own_filing(
    monitor: Monitor,
) -> None:
    app = monitor.app
    filed = file_account(account=U9, gate=gate_of(app, "B001", Role.OFFICER), context=context(app))
    for organisation, role in (
        ("SIPF", Role.ANALYST),
        ("SIPF", Role.ADMIN),
        ("B001", Role.OFFICER),
    ):
        gate = gate_of(app, organisation, role)
        before = row_counts(app)
        with pytest.raises(PolicyDenied):
            approve_filing(filing_id=filed.filing_id, gate=gate, context=context(app))
        assert row_counts(app) == before
    officer = gate_of(app, "SIPF", Role.REGISTRY_OFFICER)
    # A filing recorded in the registry officer's own name (as a hand-made row would be).
    with app.uow() as uow:
        own_id = uow.filings.add(
            NewFiling(
                FilingKind.OPEN,
                replace(U9, account_no="U-20"),
                "B001",
                "",
                officer.user_id,
                datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
        uow.commit()
    with pytest.raises(Refused) as refusal:
        approve_filing(filing_id=own_id, gate=officer, context=context(app))
    assert refusal.value.rule == FilingRule.FILER_MUST_NOT_DECIDE_OWN_FILING


def test_each_sees_the_filings_of_its_scope(monitor: Monitor) -> None:
    app = monitor.app
    file_account(account=U9, gate=gate_of(app, "B001", Role.OFFICER), context=context(app))
    mine = replace(U9, account_no="Z-9", bank_id="K002", broker_id="B002", branch_region="CITY-SZ")
    file_account(account=mine, gate=gate_of(app, "B002", Role.OFFICER), context=context(app))

    def seen(organisation: str, role: Role) -> list[str]:
        found = list_filings(gate=gate_of(app, organisation, role), context=context(app))
        return [f.account.account_no for f in found]

    assert seen("SIPF", Role.ANALYST) == ["U-9", "Z-9"]
    assert seen("B001", Role.VIEWER) == ["U-9"]
    assert seen("B002", Role.OFFICER) == ["Z-9"]
    assert seen("K001", Role.OFFICER) == []
    gate_of(app, "CN-SH", Role.BUREAU_ANALYST)  # registered (and audited) first
    head = audit_head(app)
    with pytest.raises(PolicyDenied):
        seen("CN-SH", Role.BUREAU_ANALYST)
    assert [r.action for r in audit_records(app, head)] == ["access.denied"]
    pending = list_filings(
        gate=gate_of(app, "SIPF", Role.ANALYST), context=context(app), status=FilingStatus.PENDING
    )
    assert len(pending) == 2
