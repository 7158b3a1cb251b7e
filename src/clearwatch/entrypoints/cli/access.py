"""`clearwatch user` and `clearwatch approvals`: users, organisations, roles, maker-checker.

The caller is who signed in (`clearwatch login`, or `CLEARWATCH_TOKEN`); the policy table
decides what they may do and see. The one act without a caller is registering the first admin
of an empty store. These commands act on the real clock only: `--at` is refused here, so a
replay time can neither stretch nor revive a grant or an approval.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import typer

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approval_masking import masked_request
from clearwatch.domain.access.approvals import ApprovalRequest, ApprovalStatus
from clearwatch.domain.access.grants import EmergencyGrant
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.access.roles import Role, UnknownRoleError, parse_role
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.cli.common import application, console, refused, signed_in
from clearwatch.entrypoints.cli.evidence import evidence_option, whole_for
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
    print_listing,
    say,
    status_style,
    wide_option,
)
from clearwatch.services.access import approvals
from clearwatch.services.access.authorize import Gate
from clearwatch.services.access.users import (
    Registered,
    add_user,
    grant_role,
    list_users,
    register_person,
    revoke_role,
)
from clearwatch.services.watch.approvals_queue import approve_in_queue

user_app = typer.Typer(help="Users registered in the store and their roles.", no_args_is_help=True)
approvals_app = typer.Typer(
    help="Maker-checker requests (双人复核): list, request, approve, reject.", no_args_is_help=True
)

_PASSWORD_STDIN_HELP = "Read the password from standard input (one line) instead of a prompt."
_AT_REFUSED = "Refused: access decisions use the real clock."
_ORG_HELP = (
    "The organisation: SIPF, CSRC, a region code (CN-SH), a registry id (B001), BO:<broker>."
)
AT_MUST_NOT_SET_SECURITY_TIME = "at_must_not_set_security_time"
_ROLE_OPTION = typer.Option(..., "--role", help=f"A role (repeatable): {', '.join(Role)}, maker")


def _role(text: str) -> Role:
    try:
        return parse_role(text)
    except UnknownRoleError as error:
        raise typer.BadParameter(str(error)) from error


def _refused(error: Refused) -> typer.Exit:
    return refused(error)


def read_password(from_stdin: bool, *, confirm: bool) -> str:
    """A password from one line of standard input, or typed at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    text: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return text


def _real_clock(at: str | None) -> Application:
    """The application on the real clock; a `--at` is refused, not honoured (spec §2)."""
    if at is not None:
        raise _refused(
            Refused(AT_MUST_NOT_SET_SECURITY_TIME, "--at is only for monitor submit and run-day")
        )
    return application()


@user_app.command("add")
def user_add(
    user_id: str = typer.Argument(..., help="The new user's id."),
    role: list[str] = _ROLE_OPTION,
    organisation: str = typer.Option(..., "--org", help=_ORG_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_PASSWORD_STDIN_HELP),
    machine: bool = typer.Option(
        False, "--machine", help="A reporting system: no password, it acts by API token."
    ),
    at: str | None = typer.Option(None, "--at", help=_AT_REFUSED, hidden=True),
) -> None:
    """Register a user in one organisation (the first of an empty store: an admin, unsigned)."""
    wired = _real_clock(at)
    presented = wired.presented_token()
    actor = None if presented is None else _gate(wired, Action.USER_ADD).user_id
    roles = [_role(name) for name in role]
    now = wired.real_clock.now()
    if machine:
        user = add_user(
            uow=wired.uow(),
            user_id=user_id,
            roles=roles,
            organisation=organisation,
            actor=actor,
            at=now,
        )
        registered = Registered(user, None)
    else:
        registered = register_person(
            uow=wired.uow(),
            tools=wired.authentication,
            user_id=user_id,
            roles=roles,
            organisation=organisation,
            password=read_password(password_stdin, confirm=True),
            actor=actor,
            at=now,
        )
    _print_registered(registered)


def _gate(wired: Application, action: Action) -> Gate:
    """The signed-in caller, whose credential may ask for `action` (the policy decides the rest
    inside the use case, where the resource is known)."""
    gate = signed_in(wired)
    gate.check_credential(action)
    return gate


def _print_registered(registered: Registered) -> None:
    user = registered.user
    say(
        console,
        "user ",
        (user.user_id, "bold"),
        f" added to {user.organisation} with roles {', '.join(sorted(user.roles))}",
    )
    if registered.second_factor_uri is not None:
        # Shown once, for the person's authenticator app; it is not printed again.
        say(console, ("second factor (TOTP), shown once:", "yellow"))
        console.print(registered.second_factor_uri, markup=False, highlight=False, soft_wrap=True)


@user_app.command("grant")
def user_grant(
    user_id: str = typer.Argument(...),
    role: str = typer.Argument(..., help="The role to grant permanently."),
    at: str | None = typer.Option(None, "--at", help=_AT_REFUSED, hidden=True),
) -> None:
    """Grant a permanent role valid in the user's organisation (its admin only)."""
    wired = _real_clock(at)
    actor = _gate(wired, Action.USER_GRANT).user_id
    try:
        added = grant_role(
            uow=wired.uow(), user_id=user_id, role=_role(role), actor=actor, at=wired.clock.now()
        )
    except Refused as error:
        raise _refused(error) from error
    say(console, f"{user_id} {'now holds' if added else 'already held'} {_role(role)}")


def _grant_state(grant: EmergencyGrant, now: datetime) -> str:
    if grant.in_force(now):
        return ""
    if grant.ended_at is not None and grant.ended_at < grant.expires_at:
        return f" (ended {grant.ended_at.isoformat()[:16]})"
    return " (lapsed)"


@user_app.command("revoke")
def user_revoke(
    user_id: str = typer.Argument(...),
    role: str = typer.Argument(..., help="The role to take back (permanent, or granted)."),
    at: str | None = typer.Option(None, "--at", help=_AT_REFUSED, hidden=True),
) -> None:
    """Take a role back, permanent or an emergency grant still in force (the admin of the
    user's organisation; never one's own)."""
    wired = _real_clock(at)
    actor = _gate(wired, Action.USER_REVOKE).user_id
    try:
        revoked = revoke_role(
            uow=wired.uow(),
            user_id=user_id,
            role=_role(role),
            actor=actor,
            at=wired.real_clock.now(),
        )
    except Refused as error:
        raise _refused(error) from error
    say(console, f"{user_id} {'no longer holds' if revoked else 'did not hold'} {_role(role)}")


@user_app.command("emergency-grant")
def user_emergency_grant(
    user_id: str = typer.Argument(...),
    role: str = typer.Argument(...),
    hours: int = typer.Option(..., "--hours", min=1, help="Hours from approval, at most 24."),
    reason: str = typer.Option(..., "--reason"),
    at: str | None = typer.Option(None, "--at", help=_AT_REFUSED, hidden=True),
) -> None:
    """Request a role for some hours; they count from when a second person approves it."""
    wired = _real_clock(at)
    actor = _gate(wired, Action.USER_EMERGENCY_GRANT).user_id
    now = wired.clock.now()
    try:
        request = approvals.request_emergency_grant_committed(
            uow=wired.uow(),
            user_id=user_id,
            role=_role(role),
            hours=hours,
            reason=reason,
            maker=actor,
            at=now,
        )
    except Refused as error:
        raise _refused(error) from error
    say(console, f"emergency grant requested as approval #{request.request_id}")


USER_COLUMNS = (
    Column("user", "user_id"),
    Column("organisation", "organisation"),
    Column("roles", "roles", whole=False),
    Column("emergency grants", "emergency_grants", whole=False),
    Column("since", "created_at", wide=True, show=local_time),
)
APPROVAL_COLUMNS = (
    Column("id", "request_id", justify="right"),
    Column("kind", "kind"),
    Column("subject", "subject_ref"),
    Column("maker", "maker"),
    Column("requested", "requested_at", wide=True, show=local_time),
    Column("status", "status", style=status_style),
    Column("checker", "checker"),
)


@user_app.command("list")
def user_list(wide: bool = wide_option, as_json: bool = json_option) -> None:
    """List the users the caller may see, their permanent roles and emergency grants."""
    wired = application()
    sees = signed_in(wired).lister(Action.USER_LIST)
    now = wired.real_clock.now()
    grants = approvals.grants_by_user(uow=wired.read_uow())
    rows = [
        {
            "user_id": user.user_id,
            "organisation": user.organisation.ident,
            "roles": sorted(user.roles),
            "emergency_grants": [
                f"{g.role} until {g.expires_at.isoformat()[:16]}" + _grant_state(g, now)
                for g in grants.get(user.user_id, [])
            ],
            "created_at": user.created_at,
        }
        for user in list_users(uow=wired.read_uow())
        if sees(Resource(organisation=user.organisation.ident))
    ]
    print_listing(console, "Users", USER_COLUMNS, rows, wide=wide, as_json=as_json)


@approvals_app.command("list")
def approvals_list(
    show_all: bool = typer.Option(False, "--all", help="Also decided requests."),
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: bool = evidence_option,
) -> None:
    """List pending requests (or all with --all); the clients they name masked unless asked
    with `--evidence`."""
    wired = application()
    gate = signed_in(wired)
    sees = gate.lister(Action.APPROVALS_LIST)
    whole = whole_for(gate, evidence, read="approvals list")
    organisation_of = {u.user_id: u.organisation.ident for u in list_users(uow=wired.read_uow())}
    status = None if show_all else ApprovalStatus.PENDING
    requests = [
        request
        for request in approvals.list_requests(uow=wired.read_uow(), status=status)
        if sees(Resource(organisation=organisation_of.get(request.maker)))
    ]
    rows = [
        _approval_row(r, whole=whole(_broker_of(organisation_of.get(r.maker)))) for r in requests
    ]
    title = "Approval requests 双人复核"
    print_listing(console, title, APPROVAL_COLUMNS, rows, wide=wide, as_json=as_json)


def _broker_of(organisation: str | None) -> str:
    """The broker whose back office made a request (`BO:B001` → `B001`); '' for the others,
    whose requests name no client."""
    found = organisation or ""
    return found.removeprefix("BO:") if found.startswith("BO:") else ""


def _approval_row(request: ApprovalRequest, *, whole: bool) -> dict[str, Any]:
    """A request as listed: the clients it names masked unless shown as allowed evidence."""
    subject, payload = request.subject_ref, dict(request.payload)
    if not whole:
        subject, payload = masked_request(subject, payload)
    return {
        "request_id": request.request_id,
        "kind": request.kind,
        "subject_ref": subject,
        "payload": payload,
        "maker": request.maker,
        "requested_at": request.requested_at,
        "status": request.status,
        "checker": request.checker,
    }


@approvals_app.command("request")
def approvals_request(
    kind: str = typer.Argument(..., help="manual_adjustment, correction_batch, transfer, override"),
    subject_ref: str = typer.Argument(..., help="What it is about, e.g. batch:B001/2026-11-20"),
    payload: str = typer.Option("{}", "--payload", help="Details as a JSON object."),
    at: str | None = typer.Option(None, "--at", help=_AT_REFUSED, hidden=True),
) -> None:
    """Raise a maker's request."""
    wired = _real_clock(at)
    actor = _gate(wired, Action.APPROVALS_REQUEST).user_id
    try:
        details = json.loads(payload)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"--payload is not JSON: {error}") from error
    try:
        request = approvals.request_approval_committed(
            uow=wired.uow(),
            kind=kind,
            subject_ref=subject_ref,
            payload=details,
            maker=actor,
            at=wired.clock.now(),
        )
    except Refused as error:
        raise _refused(error) from error
    say(console, f"approval #{request.request_id} requested by {actor}")


def _decided(request: ApprovalRequest) -> None:
    subject = masked_request(request.subject_ref, dict(request.payload))[0]
    say(
        console,
        f"approval #{request.request_id} ({request.kind} {subject}) ",
        (request.status, "bold"),
        f" by {request.checker}",
    )


@approvals_app.command("approve")
def approvals_approve(
    request_id: int = typer.Argument(...),
    at: str | None = typer.Option(None, "--at", help=_AT_REFUSED, hidden=True),
) -> None:
    """Approve someone else's request (checker role; never the maker, never an admin)."""
    wired = _real_clock(at)
    actor = _gate(wired, Action.APPROVALS_APPROVE).user_id
    try:
        # What an approval puts in force (a halt's lift, a flow halt, ...) is put in force with it.
        _decided(
            approve_in_queue(
                uow=wired.uow(),
                request_id=request_id,
                checker=actor,
                at=wired.clock.now(),
                publisher=wired.watch_publisher(),
            )
        )
    except Refused as error:
        raise _refused(error) from error


@approvals_app.command("reject")
def approvals_reject(
    request_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    at: str | None = typer.Option(None, "--at", help=_AT_REFUSED, hidden=True),
) -> None:
    """Reject someone else's request with a reason."""
    wired = _real_clock(at)
    actor = _gate(wired, Action.APPROVALS_REJECT).user_id
    try:
        _decided(
            approvals.reject_committed(
                uow=wired.uow(),
                request_id=request_id,
                checker=actor,
                at=wired.clock.now(),
                reason=reason,
            )
        )
    except Refused as error:
        raise _refused(error) from error
