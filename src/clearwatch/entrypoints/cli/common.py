"""What every CLI command shares: the wired application, the console, clear exits."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application, build_application

console = Console()
error_console = Console(stderr=True)

EXIT_FAILED = 1
EXIT_REJECTED = 3


def application(at: str | None = None) -> Application:
    """The application wired from the environment; `at` replaces the clock for replays."""
    if at is None:
        return build_application()
    return build_application(clock=FixedClock(parse_timestamp(at)))


def parse_timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 timestamp") from error
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r} needs a UTC offset, e.g. 2026-11-21T08:30:00+08:00")
    return moment


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    error_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)
