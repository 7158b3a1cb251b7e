"""What every CLI command shares: the wired application, the console, clear exits."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text
from typer import _click  # Typer's own copy of click: what its groups are invoked with
from typer.core import TyperGroup

from clearwatch.bootstrap import Application, build_application, replay_clock
from clearwatch.config import Settings
from clearwatch.domain.access.callers import CALLER_MUST_BE_AUTHENTICATED
from clearwatch.domain.shared.errors import ClearwatchError, ConfigurationError, Refused

if TYPE_CHECKING:  # the policy's services load the store's ports (pyarrow): not for --version
    from clearwatch.services.access.authorize import Gate

console = Console()
error_console = Console(stderr=True)

# Exit classes: a bug (or a failed check) 1, a usage or configuration error 2, a refusal 3.
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3

# The applications a running command built: at its end, each that wrote signs the audit log's
# head (`Application.anchor_appended`). Collected only while a command runs.
_built: list[Application] | None = None


AT_NEEDS_REPLAY_MODE = "at_needs_replay_mode"


def application(at: str | None = None) -> Application:
    """The application wired from the environment; `at` replaces the business clock of a
    replay, and only on a store in replay mode. Security always uses the real clock."""
    if at is None:
        wired = build_application()
    else:
        settings = Settings.from_environment()
        if not settings.replay:
            raise Refused(
                AT_NEEDS_REPLAY_MODE, "--at sets a replay's business time: set CLEARWATCH_REPLAY=1"
            )
        wired = build_application(settings, clock=replay_clock(parse_timestamp(at)))
    if _built is not None:
        _built.append(wired)
    return wired


def signed_in(wired: Application) -> Gate:
    """The caller of this command, authenticated, and the policy asked for them."""
    presented = wired.presented_token()
    if presented is None:
        raise Refused(
            CALLER_MUST_BE_AUTHENTICATED, "run `clearwatch login USER` or set CLEARWATCH_TOKEN"
        )
    return wired.gate(wired.authenticate(presented))


def anchor_appended(*, strict: bool) -> None:
    """Sign the audit log's head for every application of this command that wrote.

    `strict` (the command succeeded): a log that cannot be anchored fails the command. After
    a failed command the failure is only printed, so the command's own error and exit stand.
    """
    global _built
    built, _built = _built or [], None
    for wired in built:
        try:
            wired.anchor_appended()
        except ClearwatchError as error:
            failure = fail(f"{type(error).__name__}: {error}", EXIT_FAILED)
            if strict:
                raise failure from error
            return


def parse_timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 timestamp") from error
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs a UTC offset, e.g. 2026-11-21T08:30:00+08:00")
    return moment


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print `message` as one line on stderr (never read as markup); the exit to raise."""
    one_line = " ".join(message.splitlines())
    error_console.print(
        Text.assemble(("error: ", "bold red"), one_line), soft_wrap=True, highlight=False
    )
    return typer.Exit(code)


def refused(refusal: Refused) -> typer.Exit:
    """A refusal as one line that starts with its rule's name; exit 3."""
    return fail(f"refused: {refusal}", EXIT_REJECTED)


class ClearwatchGroup(TyperGroup):
    """The root command group: an expected condition ends as one line and its exit class.

    A refusal exits 3, a configuration error 2, any other condition clearwatch raises on
    purpose (a contended store, a breached invariant) 1, each as one line. An exception that
    is not a `ClearwatchError` is a bug and keeps its traceback (exit 1), so that it can be
    fixed.
    """

    def invoke(self, ctx: _click.Context) -> Any:
        global _built
        _built = []
        try:
            result = self._invoke_mapped(ctx)
        except typer.Exit as done:
            anchor_appended(strict=done.exit_code == 0)
            raise
        except Exception:
            anchor_appended(strict=False)
            raise
        anchor_appended(strict=True)
        return result

    def _invoke_mapped(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Refused as refusal:
            raise refused(refusal) from refusal
        except ConfigurationError as error:
            raise fail(str(error), EXIT_USAGE) from error
        except ClearwatchError as error:
            raise fail(f"{type(error).__name__}: {error}", EXIT_FAILED) from error
