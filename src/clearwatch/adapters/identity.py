"""The cryptography of signing in: argon2 password hashes, signed access tokens, TOTP codes.

Access tokens are HS256 JWTs signed with a 256-bit key kept in an owner-only file beside the
store (`CLEARWATCH_ACCESS_KEY`); every server of one store reads the same key, so any of them
can check a token another issued. PyJWT checks expiry against the real clock; the service
checks the token's credential epoch against the store's (a changed password ends it).
"""

from __future__ import annotations

import functools
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
# The user's credential epoch at issue; checked against the store's on every use.
_EPOCH_CLAIM = "cep"
# True when the sign-in verified a TOTP code; absent (a token from before 0870) counts as not.
_SECOND_FACTOR_CLAIM = "sfa"
# Tokens whose signature check a process remembers (about 2 MB): the people signed in at once.
verified_tokens_kept = 4096
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
    """Signed, short-lived access tokens; the key is made on first use, owner-only.

    A token's signature and claims are checked once per process and remembered (the result
    is the same every time for the same text and key); its expiry is checked on every use,
    and whether its user and credential epoch still hold is the service's check, against the
    store, on every use too. Nothing a revocation changes is remembered here.
    """

    def __init__(self, key_path: Path) -> None:
        self._key_path = key_path
        self._key: bytes | None = None
        self._verified = functools.lru_cache(maxsize=verified_tokens_kept)(self._verify)

    def _secret(self) -> bytes:
        if self._key is None:
            self._key = owner_only_key(self._key_path, secrets.token_bytes(32))
        return self._key

    def issue(
        self,
        *,
        user_id: str,
        issued_at: datetime,
        expires_at: datetime,
        credential_epoch: int = 0,
        second_factor: bool = False,
    ) -> str:
        claims = {
            "sub": user_id,
            _EPOCH_CLAIM: credential_epoch,
            _SECOND_FACTOR_CLAIM: second_factor,
            "jti": uuid.uuid4().hex,
            "iat": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "iss": _ISSUER,
            "aud": _AUDIENCE,
        }
        return jwt.encode(claims, self._secret(), algorithm=_ALGORITHM)

    def read(self, token: str) -> AccessClaims:
        claims = self._verified(token)
        if datetime.now(UTC) >= claims.expires_at:  # as PyJWT decides it, leeway none
            raise Refused(TOKEN_MUST_BE_VALID, "expired: sign in again")
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret(),
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                issuer=_ISSUER,
                # A token without its credential epoch (issued before 0840) is not accepted.
                options={"require": ["sub", "exp", "iat", "jti", _EPOCH_CLAIM]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Refused(TOKEN_MUST_BE_VALID, "expired: sign in again") from error
        except jwt.MissingRequiredClaimError as error:
            raise Refused(TOKEN_MUST_BE_VALID, f"{error}: sign in again") from error
        except jwt.InvalidTokenError as error:
            raise Refused(TOKEN_MUST_BE_VALID, "not signed by this store") from error
        return AccessClaims(
            user_id=str(claims["sub"]),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            credential_epoch=_epoch(claims[_EPOCH_CLAIM]),
            # Only a signed `true` is a second factor; anything else proves none.
            second_factor=claims.get(_SECOND_FACTOR_CLAIM) is True,
        )


def _epoch(claim: object) -> int:
    # Signed by this store's key, so never forged; still, only a whole number is an epoch.
    if type(claim) is not int:
        raise Refused(TOKEN_MUST_BE_VALID, "its credential epoch is not a number")
    return claim


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
