"""Registered users for tests that call use cases in-process, and their gates.

A store's first admin is created unsigned (the one act the spec allows), in the organisation
of the first user a test asks for; every other user is registered by that admin, so the
policy of `user add` runs as in production. Gates act as `local` callers: in-process jobs
need no password, and the policy still decides everything they ask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from clearwatch.bootstrap import Application, build_application
from clearwatch.config import Settings
from clearwatch.domain.access.approvals import AccessRejection
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.organisations import SIPF_ID, OrganisationKind, parse_organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.receipt import Receipt
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.authorize import Gate
from clearwatch.services.access.users import add_user
from clearwatch.services.monitor.submit_package import SubmitContext, submit_package

SUPERSEDE_REASON = "corrected figures (test)"


def _admin_of(organisation: str) -> str:
    kind = parse_organisation(organisation).kind.value
    return f"admin-{kind}"


def registered(app: Application, user_id: str, organisation: str, role: Role) -> str:
    """`user_id` registered with `role` in `organisation` (the store's first admin first)."""
    with app.read_uow() as uow:
        users = {user.user_id: user for user in uow.access.users()}
    if user_id in users:
        return user_id
    at = app.real_clock.now()
    admin = next((u for u in users.values() if Role.ADMIN in u.roles), None)
    if admin is None:
        back_office = parse_organisation(organisation).kind is OrganisationKind.BACK_OFFICE
        home = organisation if back_office else SIPF_ID
        admin_id = _admin_of(home)
        add_user(
            uow=app.uow(),
            user_id=admin_id,
            roles=[Role.ADMIN],
            organisation=home,
            actor=None,
            at=at,
        )
    else:
        admin_id = admin.user_id
    try:
        add_user(
            uow=app.uow(),
            user_id=user_id,
            roles=[role],
            organisation=organisation,
            actor=admin_id,
            at=at,
        )
    except Refused as refusal:
        if refusal.rule != AccessRejection.USER_MUST_NOT_EXIST_ALREADY:
            raise  # a thread of the same test registered them a moment ago: that is fine
    return user_id


def token_for(env: Mapping[str, str], organisation: str, role: Role) -> str:
    """A signed access token for a user holding `role` in `organisation`, registered in the
    store `env` points at: what `clearwatch login` with its code would keep, for subprocess
    tests (the tests hold the store's key, as its server does)."""
    app = build_application(Settings.from_environment(env))
    try:
        user_id = f"{organisation.lower().replace(':', '-')}-{role.value}"
        registered(app, user_id, organisation, role)
        now = app.real_clock.now()
        return app.authentication.signer.issue(
            user_id=user_id, issued_at=now, expires_at=now + timedelta(hours=1), second_factor=True
        )
    finally:
        app.dispose()


def as_user(env: Mapping[str, str], user_id: str) -> dict[str, str]:
    """`env` acting as the registered `user_id`: a signed access token, as after `login`."""
    app = build_application(Settings.from_environment(env))
    try:
        now = app.real_clock.now()
        token = app.authentication.signer.issue(
            user_id=user_id, issued_at=now, expires_at=now + timedelta(hours=1), second_factor=True
        )
    finally:
        app.dispose()
    return {**env, "CLEARWATCH_TOKEN": token}


def signed_env(env: Mapping[str, str], organisation: str, role: Role) -> dict[str, str]:
    """`env` with `CLEARWATCH_TOKEN` of such a user."""
    return {**env, "CLEARWATCH_TOKEN": token_for(env, organisation, role)}


def gate_of(app: Application, organisation: str, role: Role) -> Gate:
    """A gate for a user holding `role` in `organisation` (registered on first use)."""
    user_id = f"{organisation.lower().replace(':', '-')}-{role.value}"
    return app.gate(local_caller(registered(app, user_id, organisation, role)))


def submit_as_owner(
    app: Application, directory: Path, context: SubmitContext | None = None
) -> Receipt:
    """Submit as the package's own institution would: its submitter, or its officer with a
    reason for a later sequence (an unreadable manifest: as B001's submitter)."""
    institution, sequence = _head(directory)
    superseding = sequence > 1
    role = Role.OFFICER if superseding else Role.SUBMITTER
    return submit_package(
        directory=str(directory),
        context=context or app.submit_context(),
        gate=gate_of(app, institution, role),
        reason=SUPERSEDE_REASON if superseding else None,
    )


def _head(directory: Path) -> tuple[str, int]:
    """The manifest's institution and sequence, each as far as it can be read."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "B001", 1
    if not isinstance(manifest, dict):
        return "B001", 1
    institution = manifest.get("institution_id")
    try:
        parse_organisation(str(institution))
    except Exception:
        institution = "B001"
    sequence = manifest.get("sequence")
    return str(institution), sequence if isinstance(sequence, int) and sequence > 0 else 1
