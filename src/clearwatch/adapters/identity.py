"""The cryptography of signing in: argon2 password hashes, signed access tokens, TOTP codes.

Access tokens are HS256 JWTs signed with a 256-bit key kept in an owner-only file beside the
store (`CLEARWATCH_ACCESS_KEY`); every server of one store reads the same key, so any of them
can check a token another issued. PyJWT checks expiry against the real clock.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pyotp
from pwdlib import PasswordHash

from clearwatch.adapters.private_files import owner_only_key
from clearwatch.domain.access.api_tokens import TOKEN_MUST_BE_VALID
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.ports import AccessClaims

_ALGORITHM = "HS256"
_ISSUER = "clearwatch"
_AUDIENCE = "clearwatch-api"
TOTP_WINDOW = 1  # one step (30 s) either side, for a phone's clock that drifts a little


class Argon2Passwords:
    """pwdlib's recommended hasher (argon2id)."""

    def __init__(self) -> None:
        self._hasher = PasswordHash.recommended()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password: str, password_hash: str) -> bool:
        return self._hasher.verify(password, password_hash)


class JwtAccessTokens:
    """Signed, short-lived access tokens; the key is made on first use, owner-only."""

    def __init__(self, key_path: Path) -> None:
        self._key_path = key_path
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            self._key = owner_only_key(self._key_path, secrets.token_bytes(32))
        return self._key

    def issue(self, *, user_id: str, issued_at: datetime, expires_at: datetime) -> str:
        claims = {
            "sub": user_id,
            "jti": uuid.uuid4().hex,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "iss": _ISSUER,
            "aud": _AUDIENCE,
        }
        return jwt.encode(claims, self._secret(), algorithm=_ALGORITHM)

    def read(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret(),
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                issuer=_ISSUER,
                options={"require": ["sub", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Refused(TOKEN_MUST_BE_VALID, "expired: sign in again") from error
        except jwt.InvalidTokenError as error:
            raise Refused(TOKEN_MUST_BE_VALID, "not signed by this store") from error
        return AccessClaims(
            user_id=str(claims["sub"]),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )


class TotpSecondFactor:
    """RFC 6238 codes (30 s steps, 6 digits), as authenticator apps make them."""

    def new_secret(self) -> str:
        return pyotp.random_base32()

    def provisioning_uri(self, *, secret: str, user_id: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=user_id, issuer_name="clearwatch")

    def matching_step(self, *, secret: str, code: str, at: datetime) -> int | None:
        totp = pyotp.TOTP(secret)
        step = totp.timecode(at)
        for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
            candidate = step + offset
            if secrets.compare_digest(totp.generate_otp(candidate), code.strip()):
                return candidate
        return None
