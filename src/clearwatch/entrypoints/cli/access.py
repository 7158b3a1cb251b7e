"""`clearwatch user` and `clearwatch approvals`: users, roles, maker-checker (双人复核)."""

from __future__ import annotations

import json
from datetime import timedelta

import typer
from rich.table import Table

from clearwatch.domain.access.approvals import AccessRefused, ApprovalRequest, ApprovalStatus
from clearwatch.domain.access.roles import Role, UnknownRoleError, parse_role
from clearwatch.entrypoints.cli.common import EXIT_REJECTED, application, console, fail
from clearwatch.services.access import approvals
from clearwatch.services.access.users import BOOTSTRAP_ACTOR, add_user, grant_role, list_users

user_app = typer.Typer(help="Users registered in the store and their roles.", no_args_is_help=True)
approvals_app = typer.Typer(
    help="Maker-checker requests (双人复核): list, request, approve, reject.", no_args_is_help=True
)

_AS_HELP = "The user acting (recorded in the audit log)."
_AT_HELP = "Act at this time (ISO 8601 with offset) instead of now; for replays."
_ROLE_OPTION = typer.Option(..., "--role", help=f"A role (repeatable): {', '.join(Role)}, maker")


def _role(text: str) -> Role:
    try:
        return parse_role(text)
    except UnknownRoleError as error:
        raise typer.BadParameter(str(error)) from error


def _refused(error: AccessRefused) -> typer.Exit:
    return fail(f"refused: {error}", EXIT_REJECTED)


@user_app.command("add")
def user_add(
    user_id: str = typer.Argument(..., help="The new user's id."),
    role: list[str] = _ROLE_OPTION,
    institution: str | None = typer.Option(None, "--institution", help="Institution scope."),
    actor: str = typer.Option(BOOTSTRAP_ACTOR, "--as", help=_AS_HELP),
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """Register a user. Once an admin exists, only an admin may do this."""
    wired = application(at)
    try:
        user = add_user(
            uow=wired.uow(),
            user_id=user_id,
            roles=[_role(name) for name in role],
            institution=institution,
            actor=actor,
            at=wired.clock.now(),
        )
    except AccessRefused as error:
        raise _refused(error) from error
    console.print(f"user [bold]{user.user_id}[/] added with roles {', '.join(sorted(user.roles))}")


@user_app.command("grant")
def user_grant(
    user_id: str = typer.Argument(...),
    role: str = typer.Argument(..., help="The role to grant permanently."),
    actor: str = typer.Option(BOOTSTRAP_ACTOR, "--as", help=_AS_HELP),
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """Grant a permanent role (admin only once an admin exists)."""
    wired = application(at)
    try:
        added = grant_role(
            uow=wired.uow(), user_id=user_id, role=_role(role), actor=actor, at=wired.clock.now()
        )
    except AccessRefused as error:
        raise _refused(error) from error
    console.print(f"{user_id} {'now holds' if added else 'already held'} {_role(role)}")


@user_app.command("emergency-grant")
def user_emergency_grant(
    user_id: str = typer.Argument(...),
    role: str = typer.Argument(...),
    hours: int = typer.Option(..., "--hours", min=1, help="How long the grant lasts."),
    reason: str = typer.Option(..., "--reason"),
    actor: str = typer.Option(..., "--as", help=_AS_HELP),
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """Request a time-bound role; it takes effect once a second person approves it."""
    wired = application(at)
    now = wired.clock.now()
    try:
        request = approvals.request_emergency_grant_committed(
            uow=wired.uow(),
            user_id=user_id,
            role=_role(role),
            expires_at=now + timedelta(hours=hours),
            reason=reason,
            maker=actor,
            at=now,
        )
    except AccessRefused as error:
        raise _refused(error) from error
    console.print(f"emergency grant requested as approval #{request.request_id}")


@user_app.command("list")
def user_list() -> None:
    """List users, their permanent roles and their emergency grants."""
    wired = application()
    now = wired.clock.now()
    grants = approvals.grants_by_user(uow=wired.read_uow())
    table = Table(title="Users")
    for column in ("user", "institution", "roles", "emergency grants", "since"):
        table.add_column(column)
    for user in list_users(uow=wired.read_uow()):
        granted = [
            f"{g.role} until {g.expires_at.isoformat()[:16]}"
            + ("" if g.in_force(now) else " (lapsed)")
            for g in grants.get(user.user_id, [])
        ]
        table.add_row(
            user.user_id,
            user.institution or "-",
            ", ".join(sorted(user.roles)),
            "; ".join(granted) or "-",
            user.created_at.isoformat()[:19],
        )
    console.print(table)


@approvals_app.command("list")
def approvals_list(
    show_all: bool = typer.Option(False, "--all", help="Also decided requests."),
) -> None:
    """List pending requests (or all with --all)."""
    status = None if show_all else ApprovalStatus.PENDING
    requests = approvals.list_requests(uow=application().read_uow(), status=status)
    table = Table(title="Approval requests 双人复核")
    for column in ("id", "kind", "subject", "maker", "requested", "status", "checker"):
        table.add_column(column, overflow="fold")
    for request in requests:
        table.add_row(
            str(request.request_id),
            request.kind,
            request.subject_ref,
            request.maker,
            request.requested_at.isoformat()[:19],
            request.status,
            request.checker or "-",
        )
    console.print(table)


@approvals_app.command("request")
def approvals_request(
    kind: str = typer.Argument(..., help="manual_adjustment, correction_batch, transfer, override"),
    subject_ref: str = typer.Argument(..., help="What it is about, e.g. batch:B001/2026-11-20"),
    payload: str = typer.Option("{}", "--payload", help="Details as a JSON object."),
    actor: str = typer.Option(..., "--as", help=_AS_HELP),
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """Raise a maker's request."""
    wired = application(at)
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
    except AccessRefused as error:
        raise _refused(error) from error
    console.print(f"approval #{request.request_id} requested by {actor}")


def _decided(request: ApprovalRequest) -> None:
    console.print(
        f"approval #{request.request_id} ({request.kind} {request.subject_ref}) "
        f"[bold]{request.status}[/] by {request.checker}"
    )


@approvals_app.command("approve")
def approvals_approve(
    request_id: int = typer.Argument(...),
    actor: str = typer.Option(..., "--as", help=_AS_HELP),
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """Approve someone else's request (checker role; never the maker, never an admin)."""
    wired = application(at)
    try:
        _decided(
            approvals.approve_committed(
                uow=wired.uow(), request_id=request_id, checker=actor, at=wired.clock.now()
            )
        )
    except AccessRefused as error:
        raise _refused(error) from error


@approvals_app.command("reject")
def approvals_reject(
    request_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    actor: str = typer.Option(..., "--as", help=_AS_HELP),
    at: str | None = typer.Option(None, "--at", help=_AT_HELP),
) -> None:
    """Reject someone else's request with a reason."""
    wired = application(at)
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
    except AccessRefused as error:
        raise _refused(error) from error
