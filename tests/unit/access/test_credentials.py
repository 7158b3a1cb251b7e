"""The sign-in rules on their own: password length, lockout that doubles, second factors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearwatch.domain.access.credentials import (
    FAILURES_BEFORE_LOCK,
    LONGEST_LOCK,
    SignInRecord,
    check_password_rule,
    needs_second_factor,
)
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.errors import Refused

NOW = datetime(2026, 12, 2, 9, tzinfo=UTC)


def _after(failures: int) -> SignInRecord:
    record = SignInRecord()
    for _ in range(failures):
        record = record.after_failure(NOW)
    return record


def test_four_failures_do_not_lock_the_fifth_locks_a_minute() -> None:
    assert not _after(FAILURES_BEFORE_LOCK - 1).locked_at(NOW)
    fifth = _after(FAILURES_BEFORE_LOCK)
    assert fifth.locked_until == NOW + timedelta(minutes=1)
    assert not fifth.locked_at(NOW + timedelta(minutes=1))


def test_each_further_failure_doubles_the_lock_up_to_a_day() -> None:
    locks = [_after(n).locked_until - NOW for n in range(5, 9)]  # type: ignore[operator]
    assert locks == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert _after(60).locked_until == NOW + LONGEST_LOCK
    assert SignInRecord.after_success() == SignInRecord()


def test_passwords_need_twelve_characters() -> None:
    with pytest.raises(Refused) as refused:
        check_password_rule("x" * 11)
    assert refused.value.rule == "password_must_have_12_characters"
    assert check_password_rule("twelve chars") == "twelve chars"


@pytest.mark.parametrize(
    ("role", "needs"),
    [(Role.CHECKER, True), (Role.REVIEWER, True), (Role.ADMIN, True), (Role.BUREAU_HEAD, True),
     (Role.REGISTRY_OFFICER, True), (Role.ANALYST, False), (Role.SUBMITTER, False),
     (Role.OPERATOR, False)],
)  # fmt: skip
def test_every_deciding_role_needs_a_second_factor(role: Role, needs: bool) -> None:
    assert needs_second_factor(frozenset({role})) is needs
