"""The rules of special-account filings, without a store: whose account, values, decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from clearwatch.domain.monitor.filings import (
    Filing,
    FilingKind,
    FilingRule,
    FilingStatus,
    check_decidable,
    check_new_account,
    check_own_institution,
    checked_reason,
    filed_account,
    registry_after,
)
from clearwatch.domain.monitor.registry import (
    Institution,
    InstitutionKind,
    RegistrySnapshot,
    SpecialAccountFiling,
)
from clearwatch.domain.shared.errors import Refused

REGISTRY = RegistrySnapshot(
    version=3,
    institutions=(
        Institution("B001", InstitutionKind.BROKER, "上海证券", "CN-SH"),
        Institution("B002", InstitutionKind.BROKER, "深圳证券", "CITY-SZ"),
        Institution("K001", InstitutionKind.BANK, "第一银行", "CN-BJ"),
        Institution("C001", InstitutionKind.CSDC, "中国结算", "CN-BJ"),
    ),
    special_accounts=(
        SpecialAccountFiling(
            "SA-001", "K001", "B001", "client_settlement", "CN-SH", date(2026, 1, 5)
        ),
    ),
    holidays=(date(2026, 10, 1),),
)
NEW = SpecialAccountFiling("SA-777", "K001", "B001", "option_margin", "CN-SH", date(2026, 11, 2))
AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def refused_rule(call: object, *args: object) -> str:
    assert callable(call)
    with pytest.raises(Refused) as refusal:
        call(*args)
    return refusal.value.rule


def test_a_broker_files_by_broker_id_and_a_bank_by_bank_id() -> None:
    check_own_institution("B001", REGISTRY, NEW)
    check_own_institution("K001", REGISTRY, NEW)
    rule = FilingRule.FILING_MUST_BE_FOR_OWN_INSTITUTION
    assert refused_rule(check_own_institution, "B002", REGISTRY, NEW) == rule
    # A broker named as the bank is not the broker of the account.
    swapped = replace(NEW, bank_id="B002", broker_id="B001")
    assert refused_rule(check_own_institution, "B002", REGISTRY, swapped) == rule


def test_csdc_and_institutions_the_registry_lacks_file_nothing() -> None:
    rule = FilingRule.FILING_MUST_BE_FOR_OWN_INSTITUTION
    assert refused_rule(check_own_institution, "C001", REGISTRY, NEW) == rule
    assert (
        refused_rule(check_own_institution, "B009", REGISTRY, replace(NEW, broker_id="B009"))
        == rule
    )


@pytest.mark.parametrize(
    ("changed", "rule"),
    [
        ({"account_no": "  "}, FilingRule.ACCOUNT_NO_MUST_BE_GIVEN),
        ({"account_no": "X" * 65}, FilingRule.ACCOUNT_NO_MUST_BE_GIVEN),
        ({"purpose": "savings"}, FilingRule.PURPOSE_MUST_BE_KNOWN),
        ({"branch_region": "CN-GUANGDONG"}, FilingRule.REGION_MUST_BE_KNOWN),
        ({"bank_id": "K999"}, FilingRule.BANK_MUST_BE_REGISTERED),
        ({"bank_id": "B002"}, FilingRule.BANK_MUST_BE_REGISTERED),
        ({"broker_id": "K001"}, FilingRule.BROKER_MUST_BE_REGISTERED),
        ({"account_no": "SA-001"}, FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE),
    ],
)
def test_a_new_account_breaking_a_rule_is_refused_by_name(
    changed: dict[str, str], rule: FilingRule
) -> None:
    assert refused_rule(check_new_account, replace(NEW, **changed), REGISTRY, ()) == rule


def test_an_account_with_a_pending_filing_is_not_filed_again() -> None:
    assert check_new_account(replace(NEW, account_no=" SA-777 "), REGISTRY, ()) == NEW
    rule = FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE
    assert refused_rule(check_new_account, NEW, REGISTRY, {"SA-777"}) == rule
    assert refused_rule(filed_account, "SA-001", REGISTRY, {"SA-001"}) == rule


def test_closing_needs_an_account_the_registry_holds() -> None:
    assert filed_account("SA-001", REGISTRY, ()).broker_id == "B001"
    rule = FilingRule.CLOSING_NEEDS_A_FILED_ACCOUNT
    assert refused_rule(filed_account, "SA-777", REGISTRY, ()) == rule


def test_a_reason_is_needed_and_limited() -> None:
    assert checked_reason("  the branch closed  ", "closing") == "the branch closed"
    for reason in (None, "", "   ", "x" * 2001):
        assert refused_rule(checked_reason, reason, "closing") == FilingRule.REASON_MUST_BE_GIVEN


def filing(kind: FilingKind, account: SpecialAccountFiling) -> Filing:
    return Filing(7, kind, account, "B001", "", "b001-officer", AT)


def test_nobody_decides_their_own_filing_and_only_a_pending_one() -> None:
    pending = filing(FilingKind.OPEN, NEW)
    check_decidable(pending, "sipf-registry_officer")
    rule = FilingRule.FILER_MUST_NOT_DECIDE_OWN_FILING
    assert refused_rule(check_decidable, pending, "b001-officer") == rule
    decided = replace(pending, status=FilingStatus.APPROVED)
    rule = FilingRule.FILING_MUST_BE_PENDING
    assert refused_rule(check_decidable, decided, "sipf-registry_officer") == rule


def test_an_approved_filing_adds_or_removes_exactly_its_account() -> None:
    opened = registry_after(filing(FilingKind.OPEN, NEW), REGISTRY)
    assert [a.account_no for a in opened.special_accounts] == ["SA-001", "SA-777"]
    assert opened.institutions == REGISTRY.institutions
    assert opened.holidays == REGISTRY.holidays
    closed = registry_after(filing(FilingKind.CLOSE, REGISTRY.special_accounts[0]), REGISTRY)
    assert closed.special_accounts == ()
    assert closed.content_sha256 != opened.content_sha256


def test_an_approval_checks_the_registry_again_as_it_is_now() -> None:
    # A whole-registry load filed the account meanwhile: the approval cannot add it twice.
    already = replace(REGISTRY, special_accounts=(*REGISTRY.special_accounts, NEW))
    rule = FilingRule.ACCOUNT_MUST_NOT_BE_FILED_TWICE
    assert refused_rule(registry_after, filing(FilingKind.OPEN, NEW), already) == rule
    gone = replace(REGISTRY, special_accounts=())
    closing = filing(FilingKind.CLOSE, REGISTRY.special_accounts[0])
    assert refused_rule(registry_after, closing, gone) == FilingRule.CLOSING_NEEDS_A_FILED_ACCOUNT
