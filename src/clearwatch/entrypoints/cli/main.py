"""`clearwatch`: the command line of the back office and the monitor."""

from __future__ import annotations

import typer

from clearwatch import __version__
from clearwatch.bootstrap import ConfigurationError
from clearwatch.entrypoints.cli.access import approvals_app, user_app
from clearwatch.entrypoints.cli.audit import audit_app
from clearwatch.entrypoints.cli.broker import broker_app
from clearwatch.entrypoints.cli.common import application, console, fail
from clearwatch.entrypoints.cli.demo import demo
from clearwatch.entrypoints.cli.drill import drill_app
from clearwatch.entrypoints.cli.intraday import intraday_app
from clearwatch.entrypoints.cli.monitor import monitor_app
from clearwatch.entrypoints.cli.monitor_run import run_day_command  # noqa: F401 (registers)
from clearwatch.entrypoints.cli.sim import sim_app

app = typer.Typer(
    help=(
        "clearwatch keeps client money in the securities market safe.\n\n"
        "Start with `clearwatch init` to create the store under CLEARWATCH_HOME "
        "(default ./clearwatch-data), then see each group's --help."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(audit_app, name="audit")
app.add_typer(broker_app, name="broker")
app.add_typer(monitor_app, name="monitor")
app.add_typer(user_app, name="user")
app.add_typer(approvals_app, name="approvals")
app.add_typer(drill_app, name="drill")
app.add_typer(intraday_app, name="intraday")
app.add_typer(sim_app, name="sim")
app.command("demo")(demo)


def _version(value: bool) -> None:
    if value:
        console.print(f"clearwatch {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Broker settlement back office and client-fund monitor."""


@app.command("init")
def init() -> None:
    """Create the store, or upgrade it to this version's schema. Running it twice is harmless."""
    wired = application()
    try:
        revisions = wired.init_schema()
    except ConfigurationError as error:
        raise fail(str(error)) from error
    console.print(
        f"[green]store ready[/] at {wired.settings.database_url} (schema {', '.join(revisions)})"
    )
