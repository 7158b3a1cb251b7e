"""Signing in from the command line, and machines' API tokens.

`clearwatch login` keeps a short-lived access token in the user's config directory (0600);
`CLEARWATCH_TOKEN` serves scripts. The token itself is never printed: a person's lives in the
file, a machine's API token is shown once when it is made, as the spec asks.
"""

from __future__ import annotations

import typer

from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.access.policy import Action
from clearwatch.entrypoints.cli.access import read_password
from clearwatch.entrypoints.cli.common import application, console, signed_in
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
    print_listing,
    say,
    wide_option,
)
from clearwatch.services.access.api_tokens import create_token, list_tokens, revoke_token
from clearwatch.services.access.authorize import actor_in
from clearwatch.services.access.passwords import enrol_second_factor, set_password
from clearwatch.services.access.sign_in import sign_in

token_app = typer.Typer(
    help="Machines' API tokens: create (shown once), list, revoke.", no_args_is_help=True
)
password_app = typer.Typer(
    help="Passwords and second factors: change, reset, enrol.", no_args_is_help=True
)
_SCOPE_OPTION = typer.Option(TokenScope.SUBMIT, "--scope", help="What it may do.")
_PASSWORD_STDIN_HELP = "Read the password from standard input (one line) instead of a prompt."


def login(
    user_id: str = typer.Argument(..., help="Your user id."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_PASSWORD_STDIN_HELP),
    totp: str | None = typer.Option(
        None, "--totp", help="The code of your authenticator app (deciding roles)."
    ),
) -> None:
    """Sign in; the access token goes to your config directory (0600), never to the screen."""
    wired = application()
    signed = sign_in(
        uow=wired.uow(),
        tools=wired.authentication,
        user_id=user_id,
        password=read_password(password_stdin, confirm=False),
        code=totp,
        at=wired.real_clock.now(),
    )
    path = wired.keep_token(signed.access_token)
    say(
        console,
        ("signed in", "green"),
        f" as {signed.user_id} until {local_time(signed.expires_at)} (token in ",
        (str(path), ""),
        ")",
        whole=True,
    )


def logout() -> None:
    """Forget the token `login` kept."""
    forgotten = application().forget_token()
    say(console, "signed out" if forgotten else "was not signed in")


def whoami() -> None:
    """Who this command line acts as: user, organisation, roles in force, credential."""
    wired = application()
    gate = signed_in(wired)
    gate.check_credential(Action.WHOAMI)
    with wired.read_uow() as uow:
        actor = actor_in(uow, user_id=gate.user_id, at=wired.real_clock.now())
    assert actor is not None  # authentication found the user a moment ago
    say(
        console,
        (actor.user_id, "bold"),
        f" of {actor.organisation.ident}: {', '.join(sorted(actor.roles)) or 'no roles'}"
        f" ({gate.caller.credential}"
        + (f" {gate.caller.token_id}, scope {gate.caller.scope})" if gate.caller.token_id else ")")
        + ("" if gate.caller.may_decide else "; deciding roles need a sign-in with your code"),
    )


@token_app.command("create")
def token_create(
    user_id: str = typer.Option(..., "--user", help="The machine user the token acts as."),
    scope: TokenScope = _SCOPE_OPTION,
    days: int = typer.Option(90, "--days", min=1, max=366, help="Days until it expires."),
) -> None:
    """Make a token for a user of your organisation; it is shown once, here, and never again."""
    wired = application()
    issued = create_token(
        gate=signed_in(wired), uow=wired.uow(), user_id=user_id, scope=scope, days=days
    )
    say(
        console,
        f"token {issued.token.token_id} for {user_id} ({scope}), expires "
        f"{local_time(issued.token.expires_at)}; shown once:",
    )
    console.print(issued.text, markup=False, highlight=False, soft_wrap=True)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(..., help="The token's id.")) -> None:
    """Revoke a token at once."""
    wired = application()
    revoked = revoke_token(gate=signed_in(wired), uow=wired.uow(), token_id=token_id)
    say(console, f"token {token_id} {'revoked' if revoked else 'was already revoked'}")


TOKEN_COLUMNS = (
    Column("id", "token_id"),
    Column("user", "user_id"),
    Column("scope", "scope"),
    Column("expires", "expires_at", show=local_time),
    Column("revoked", "revoked_at", show=lambda at: "" if at is None else local_time(at)),
    Column("made by", "created_by", wide=True),
)


@token_app.command("list")
def token_list(wide: bool = wide_option, as_json: bool = json_option) -> None:
    """Your organisation's tokens (their secrets are not kept, so never shown)."""
    wired = application()
    tokens = list_tokens(gate=signed_in(wired), uow=wired.read_uow())
    rows = [
        {
            "token_id": t.token_id,
            "user_id": t.user_id,
            "scope": t.scope.value,
            "expires_at": t.expires_at,
            "revoked_at": t.revoked_at,
            "created_by": t.created_by,
        }
        for t in tokens
    ]
    print_listing(console, "API tokens", TOKEN_COLUMNS, rows, wide=wide, as_json=as_json)


@password_app.command("set")
def password_set(
    user_id: str | None = typer.Argument(None, help="Whose (an admin resets others'); yours."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=_PASSWORD_STDIN_HELP),
) -> None:
    """Change your password, or, as an admin, reset one in your organisation."""
    wired = application()
    gate = signed_in(wired)
    whose = user_id or gate.user_id
    set_password(
        gate=gate,
        uow=wired.uow(),
        tools=wired.authentication,
        user_id=whose,
        password=read_password(password_stdin, confirm=True),
    )
    say(console, f"password of {whose} set")


@password_app.command("second-factor")
def password_second_factor(user_id: str = typer.Argument(..., help="Whose second factor.")) -> None:
    """Enrol a new second factor for someone (an admin); its secret is shown once."""
    wired = application()
    uri = enrol_second_factor(
        gate=signed_in(wired), uow=wired.uow(), tools=wired.authentication, user_id=user_id
    )
    say(console, ("second factor (TOTP), shown once:", "yellow"))
    console.print(uri, markup=False, highlight=False, soft_wrap=True)
