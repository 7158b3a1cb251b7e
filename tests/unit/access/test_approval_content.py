"""The hash a request carries is of exactly what it approves, in one canonical spelling."""

from __future__ import annotations

from datetime import datetime

import pytest

from clearwatch.domain.access.approvals import (
    AccessRefused,
    AccessRejection,
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    check_content,
    content_sha256,
)
from clearwatch.domain.shared.calendar import SHANGHAI

ADJUSTMENT = ApprovalKind.MANUAL_ADJUSTMENT
MINUS_ONE = {"fund_account": "F001", "amount": "-1.00", "reason": "manual"}
AT = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)


def test_the_same_content_gives_the_same_hash_however_it_is_ordered() -> None:
    files = [["b.csv", "22", 2], ["a.csv", "11", 1]]
    one = content_sha256(ApprovalKind.CORRECTION_BATCH, {"corrects_batch_id": "T1", "files": files})
    other = content_sha256(
        ApprovalKind.CORRECTION_BATCH, {"files": files[::-1], "corrects_batch_id": "T1"}
    )
    assert one is not None and one == other


def test_another_amount_account_or_kind_gives_another_hash() -> None:
    base = content_sha256(ADJUSTMENT, MINUS_ONE)
    assert base != content_sha256(ADJUSTMENT, MINUS_ONE | {"amount": "-4000000.00"})
    assert base != content_sha256(ADJUSTMENT, MINUS_ONE | {"fund_account": "F002"})
    assert base != content_sha256(
        ApprovalKind.TRANSFER, MINUS_ONE | {"direction": "out", "bank_id": "K001"}
    )


def test_content_that_is_incomplete_or_not_exact_money_binds_nothing() -> None:
    assert content_sha256(ADJUSTMENT, {"amount": "-1.00"}) is None
    assert content_sha256(ADJUSTMENT, MINUS_ONE | {"amount": "-1.0"}) is None
    assert content_sha256(ApprovalKind.OVERRIDE, {"node": "fast-1"}) is None


def test_an_approval_of_minus_one_refuses_minus_four_million_by_name() -> None:
    request = ApprovalRequest(
        7, ADJUSTMENT, "adjustment:B001:ADJ-X", MINUS_ONE, "mia", AT,
        status=ApprovalStatus.APPROVED, content_sha256=content_sha256(ADJUSTMENT, MINUS_ONE),
    )  # fmt: skip
    assert check_content(request, content=MINUS_ONE, subject_ref="s") is request
    with pytest.raises(AccessRefused) as refused:
        check_content(request, content=MINUS_ONE | {"amount": "-4000000.00"}, subject_ref="s")
    assert refused.value.rejection is AccessRejection.APPROVAL_MUST_MATCH_CONTENT
    with pytest.raises(AccessRefused) as refused:
        check_content(None, content=MINUS_ONE, subject_ref="s")
    assert refused.value.rejection is AccessRejection.APPROVAL_MUST_EXIST
