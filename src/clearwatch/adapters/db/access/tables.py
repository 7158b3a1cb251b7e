"""Relational tables of access control: users, roles, approval requests, emergency grants."""

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from clearwatch.adapters.db.metadata import metadata

access_users = Table(
    "access_users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    # The institution or broker the organisation speaks for, kept for readers of older rows.
    Column("institution", String(64), nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(64), nullable=False),
    # `SIPF`, a region code, `CSRC`, a registry id or `BO:<broker>`; every new user has one
    # (the service refuses otherwise). Nullable only because SQLite adds a column that way.
    Column("organisation", String(64), nullable=True),
    Index("ix_access_users_organisation", "organisation"),
)

access_user_roles = Table(
    "access_user_roles",
    metadata,
    Column("user_id", String(64), ForeignKey("access_users.user_id"), nullable=False),
    Column("role", String(32), nullable=False),
    Column("granted_at", String(40), nullable=False),
    Column("granted_by", String(64), nullable=False),
    PrimaryKeyConstraint("user_id", "role"),
)

# Status moves once, pending → approved | rejected, by a conditional UPDATE; everything else
# about a request is written once. The partial unique index refuses a second pending request
# for the same kind and subject even if two makers race.
access_approval_requests = Table(
    "access_approval_requests",
    metadata,
    Column("request_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject_ref", String(512), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("maker", String(64), nullable=False),
    Column("requested_at", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("checker", String(64), nullable=True),
    Column("decided_at", String(40), nullable=True),
    Column("reason", Text, nullable=True),
    # sha256 of exactly what the request approves (see domain/access/approvals.py); written
    # once with the request, like its payload, and never changed.
    Column("content_sha256", String(64), nullable=True),
    Index(
        "uq_access_approval_requests_pending",
        "kind",
        "subject_ref",
        unique=True,
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_access_approval_requests_subject", "kind", "subject_ref"),
)

access_emergency_grants = Table(
    "access_emergency_grants",
    metadata,
    Column("grant_id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), ForeignKey("access_users.user_id"), nullable=False),
    Column("role", String(32), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("approval_request_id", Integer, nullable=False, unique=True),
    Column("approved_at", String(40), nullable=False),
)

# A grant ended before its hours were out (`user revoke` of its role), once; append-only like
# the grants themselves, so a grant's whole life stays in the store.
access_emergency_grant_ends = Table(
    "access_emergency_grant_ends",
    metadata,
    Column(
        "grant_id",
        Integer,
        ForeignKey("access_emergency_grants.grant_id"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("ended_at", String(40), nullable=False),
    Column("ended_by", String(64), nullable=False),
)

# A person's sign-in secret and its run of failures. The password is an argon2 hash (pwdlib);
# the TOTP secret must be readable to check a code, so it is kept as given (encryption at rest
# of the store is its own work). `totp_last_step` refuses a code used twice in its window.
# `credential_epoch` moves on at each change of the password or second factor; an access token
# carries the epoch it was issued at and stops working once the epoch has moved past it.
access_credentials = Table(
    "access_credentials",
    metadata,
    Column("user_id", String(64), ForeignKey("access_users.user_id"), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("totp_secret", String(64), nullable=True),
    Column("totp_last_step", Integer, nullable=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", String(40), nullable=True),
    Column("changed_at", String(40), nullable=False),
    Column("credential_epoch", Integer, nullable=False, server_default=text("0")),
)

# Machines' tokens: only the SHA-256 of the secret is stored; a token is revoked, never deleted.
access_api_tokens = Table(
    "access_api_tokens",
    metadata,
    Column("token_id", String(16), primary_key=True),
    Column("user_id", String(64), ForeignKey("access_users.user_id"), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Column("revoked_by", String(64), nullable=True),
    Index("ix_access_api_tokens_user", "user_id"),
)
