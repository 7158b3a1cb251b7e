"""How a person proves who they are (spec platform §2): a password, a second factor, lockout.

The rules are pure: the service asks them with the server's real clock, never a replay time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.errors import Refused

PASSWORD_MIN_LENGTH = 12
# Long enough for any passphrase a person types, short enough that hashing it costs no more.
PASSWORD_MAX_LENGTH = 1024

# Failures allowed before the account locks; each failure after that doubles the lock.
FAILURES_BEFORE_LOCK = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=24)

# Every role that approves or decides signs in with a second factor (TOTP).
DECIDING_ROLES = frozenset(
    {Role.CHECKER, Role.REVIEWER, Role.ADMIN, Role.BUREAU_HEAD, Role.REGISTRY_OFFICER}
)

PASSWORD_TOO_SHORT = "password_must_have_12_characters"
PASSWORD_TOO_LONG = "password_must_fit_1024_characters"
SIGN_IN_FAILED = "sign_in_must_match_a_user_and_password"
ACCOUNT_LOCKED = "account_must_not_be_locked"
SECOND_FACTOR_NEEDED = "second_factor_must_be_given"
SECOND_FACTOR_NOT_ENROLLED = "second_factor_must_be_enrolled"
# A code counts for one sign-in; said only once the password checked out (see `sign_in`).
SECOND_FACTOR_CODE_USED = "second_factor_code_must_not_be_reused"


def check_password_rule(password: str) -> str:
    """A password long enough to resist guessing; its content is the person's choice."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Refused(PASSWORD_TOO_SHORT, f"{len(password)} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise Refused(PASSWORD_TOO_LONG, f"{len(password)} characters")
    return password


def needs_second_factor(roles: frozenset[Role]) -> bool:
    return bool(roles & DECIDING_ROLES)


@dataclass(frozen=True)
class SignInRecord:
    """What the store keeps of a user's sign-ins: the run of failures and the lock it earned."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime) -> SignInRecord:
        """One more failure; from the fifth on the account locks, each time twice as long."""
        failures = self.failures + 1
        if failures < FAILURES_BEFORE_LOCK:
            return SignInRecord(failures, self.locked_until)
        doublings = min(failures - FAILURES_BEFORE_LOCK, 16)
        lock = min(FIRST_LOCK * (2**doublings), LONGEST_LOCK)
        return SignInRecord(failures, now + lock)

    @staticmethod
    def after_success() -> SignInRecord:
        return SignInRecord()
