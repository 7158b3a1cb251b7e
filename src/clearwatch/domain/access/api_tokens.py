"""Machines' API tokens (spec platform §2): shown once, stored as a hash, scoped, expiring.

A token reads `cw_<id>_<secret>`: the id finds the stored row without a scan, the secret
(32 random bytes) is what proves possession. The secret is long and random, so one round of
SHA-256 is enough to keep a stolen table useless; nothing of it is ever stored or printed again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.shared.errors import Refused

TOKEN_PREFIX = "cw_"
LONGEST_TOKEN_LIFE = timedelta(days=366)
_TOKEN_PATTERN = re.compile(r"cw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")

TOKEN_MUST_BE_VALID = "token_must_be_valid"
TOKEN_LIFE_MUST_FIT = "token_life_must_be_1_to_366_days"


@dataclass(frozen=True)
class ApiToken:
    """A stored token: everything but its secret."""

    token_id: str
    user_id: str
    scope: TokenScope
    secret_sha256: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class NewToken:
    """A token just made: the text to show once, and what is stored of it."""

    text: str
    token_id: str
    secret_sha256: str


def make_token() -> NewToken:
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewToken(f"{TOKEN_PREFIX}{token_id}_{secret}", token_id, _digest(secret))


def looks_like_api_token(text: str) -> bool:
    return text.startswith(TOKEN_PREFIX)


def split_token(text: str) -> tuple[str, str]:
    """(token id, secret sha256) of a presented token; refused when it is not one."""
    found = _TOKEN_PATTERN.fullmatch(text)
    if found is None:
        raise Refused(TOKEN_MUST_BE_VALID, "not a clearwatch API token")
    return found.group(1), _digest(found.group(2))


def secret_matches(stored: ApiToken, presented_sha256: str) -> bool:
    return hmac.compare_digest(stored.secret_sha256, presented_sha256)


def token_expiry(created_at: datetime, days: int) -> datetime:
    life = timedelta(days=days)
    if not timedelta(days=1) <= life <= LONGEST_TOKEN_LIFE:
        raise Refused(TOKEN_LIFE_MUST_FIT, f"{days} days")
    return created_at + life


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()
