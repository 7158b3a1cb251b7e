"""Ports of access control: the repository of users, roles, approvals and grants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from clearwatch.domain.access.api_tokens import ApiToken
from clearwatch.domain.access.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus
from clearwatch.domain.access.credentials import SignInRecord
from clearwatch.domain.access.grants import EmergencyGrant
from clearwatch.domain.access.organisations import Organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.access.users import User
from clearwatch.services.shared.ports import UnitOfWork


class AccessRepository(Protocol):
    def add_user(
        self, *, user_id: str, organisation: Organisation, created_at: datetime, created_by: str
    ) -> None: ...

    def user(self, user_id: str) -> User | None: ...

    def users(self) -> list[User]: ...

    def add_role(self, *, user_id: str, role: Role, granted_at: datetime, granted_by: str) -> bool:
        """False when the user already held the role."""
        ...

    def remove_role(self, *, user_id: str, role: Role) -> bool:
        """Take a permanent role back; False when the user did not hold it."""
        ...

    def pending_exists(self, *, kind: ApprovalKind, subject_ref: str) -> bool: ...

    def add_request(
        self,
        *,
        kind: ApprovalKind,
        subject_ref: str,
        payload: Mapping[str, Any],
        maker: str,
        requested_at: datetime,
        content_sha256: str | None = None,
    ) -> ApprovalRequest:
        """Raises AccessRefused(request_must_not_duplicate_pending) if one slipped in first."""
        ...

    def request(self, request_id: int) -> ApprovalRequest | None: ...

    def record_decision(self, decided: ApprovalRequest) -> bool:
        """Store a decision only if the request is still pending; False if someone was first."""
        ...

    def latest_approved(
        self, *, kind: ApprovalKind, subject_ref: str, content_sha256: str | None = None
    ) -> ApprovalRequest | None:
        """The latest approved request for the subject (that approves this content, if named)."""
        ...

    def requests(self, *, status: ApprovalStatus | None = None) -> list[ApprovalRequest]: ...

    def add_grant(
        self,
        *,
        user_id: str,
        role: Role,
        expires_at: datetime,
        approval_request_id: int,
        approved_at: datetime,
    ) -> EmergencyGrant: ...

    def grants_of(self, user_id: str) -> list[EmergencyGrant]: ...

    def end_grant(self, *, grant_id: int, ended_at: datetime, ended_by: str) -> None:
        """From `ended_at` on the grant no longer counts (once: a grant ends only once)."""
        ...

    def caller_record(self, user_id: str) -> CallerRecord | None:
        """The user, their grants and credential epoch in one read; None if not registered."""
        ...


@dataclass(frozen=True)
class CallerRecord:
    """A user as one read of the store finds them: organisation and permanent roles, every
    emergency grant (which are in force depends on when it is asked), and the credential
    epoch, which moves on at each change of password or second factor (0 for one never
    changed, and for a machine, which has none)."""

    user: User
    grants: tuple[EmergencyGrant, ...]
    credential_epoch: int


@dataclass(frozen=True)
class StoredCredentials:
    """A person's password hash, second factor and sign-in record."""

    password_hash: str
    totp_secret: str | None
    totp_last_step: int | None
    sign_ins: SignInRecord
    credential_epoch: int = 0


class CredentialsRepository(Protocol):
    def credentials(self, user_id: str) -> StoredCredentials | None: ...

    def set_password(self, *, user_id: str, password_hash: str, at: datetime) -> None:
        """Store a new password hash (a first one or a replacement); failures start over, and
        the credential epoch moves on, so access tokens issued before stop working."""
        ...

    def set_second_factor(self, *, user_id: str, secret: str) -> None:
        """A new TOTP secret; the credential epoch moves on, as for a new password."""
        ...

    def record_sign_ins(self, *, user_id: str, record: SignInRecord) -> None: ...

    def use_totp_step(self, *, user_id: str, step: int) -> bool:
        """Mark a code's time step used; False when it (or a later one) was used already."""
        ...

    def add_token(self, token: ApiToken) -> None: ...

    def token(self, token_id: str) -> ApiToken | None: ...

    def tokens_of_organisation(self, organisation: str) -> list[ApiToken]: ...

    def revoke_token(self, *, token_id: str, at: datetime, by: str) -> bool:
        """False when the token was revoked already."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class AccessClaims:
    """What a signed access token says: whose it is, until when, the credential epoch of its
    user when it was issued (a later change of password makes it worthless), and whether its
    sign-in verified a second factor (without one, no role that decides counts)."""

    user_id: str
    token_id: str
    expires_at: datetime
    credential_epoch: int
    second_factor: bool = False


class AccessTokenSigner(Protocol):
    def issue(
        self,
        *,
        user_id: str,
        issued_at: datetime,
        expires_at: datetime,
        credential_epoch: int = 0,
        second_factor: bool = False,
    ) -> str: ...

    def read(self, token: str) -> AccessClaims:
        """The claims of a token this store signed and that has not expired (real clock);
        otherwise `Refused(token_must_be_valid)`."""
        ...


class SecondFactor(Protocol):
    def new_secret(self) -> str: ...

    def provisioning_uri(self, *, secret: str, user_id: str) -> str: ...

    def matching_step(self, *, secret: str, code: str, at: datetime) -> int | None:
        """The time step `code` belongs to around `at`, or None when it matches none."""
        ...


@dataclass(frozen=True)
class AuthenticationTools:
    """The cryptography of signing in, from adapters; `access_token_life` from settings."""

    hasher: PasswordHasher
    signer: AccessTokenSigner
    second_factor: SecondFactor
    access_token_minutes: int


class AccessUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also hands out the access repositories."""

    @property
    def access(self) -> AccessRepository: ...

    @property
    def credentials(self) -> CredentialsRepository: ...
