"""`clearwatch`: the command line of the back office and the monitor.

Each command group lives in its own module, imported only when that group runs: `--help` and
`--version` load none of them, and `clearwatch audit verify` never loads the simulator or the
comparison engines.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from clearwatch import __version__
from clearwatch.entrypoints.cli.common import ClearwatchGroup, application, console
from clearwatch.entrypoints.cli.output import say

_CLI = "clearwatch.entrypoints.cli"
OWNER_ONLY_UMASK = 0o077


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives, and the line `clearwatch --help` shows without importing it."""

    module: str
    attribute: str  # a Typer group, or a function that is one command
    help: str


# `monitor_run` adds `run-day` and `warnings` to the monitor group of `monitor`, so it is the
# module that holds the whole group. Each help line is its group's own (a test keeps them equal).
LAZY_COMMANDS = {
    "audit": LazyCommand(f"{_CLI}.audit", "audit_app", "The tamper-evident audit log (审计日志)."),
    "broker": LazyCommand(
        f"{_CLI}.broker",
        "broker_app",
        "The broker back office (证券结算后台): batches, books, end of day.",
    ),
    "monitor": LazyCommand(
        f"{_CLI}.monitor_run",
        "monitor_app",
        "The client-fund monitor (交易结算资金监控): registry, packages, daily run.",
    ),
    "cases": LazyCommand(
        f"{_CLI}.cases",
        "cases_app",
        "Verification cases (核实说明), warning approval and delivery (预警推送).",
    ),
    "deliver": LazyCommand(
        f"{_CLI}.cases",
        "deliver_command",
        "The delivery worker: inbox, signed webhooks, PDF and workbook; retries, parks.",
    ),
    "user": LazyCommand(
        f"{_CLI}.access", "user_app", "Users registered in the store and their roles."
    ),
    "approvals": LazyCommand(
        f"{_CLI}.access",
        "approvals_app",
        "Maker-checker requests (双人复核): list, request, approve, reject.",
    ),
    "login": LazyCommand(
        f"{_CLI}.signin",
        "login",
        "Sign in; the access token goes to your config directory (0600), never to the screen.",
    ),
    "logout": LazyCommand(f"{_CLI}.signin", "logout", "Forget the token `login` kept."),
    "whoami": LazyCommand(
        f"{_CLI}.signin",
        "whoami",
        "Who this command line acts as: user, organisation, roles in force, credential.",
    ),
    "token": LazyCommand(
        f"{_CLI}.signin",
        "token_app",
        "Machines' API tokens: create (shown once), list, revoke.",
    ),
    "password": LazyCommand(
        f"{_CLI}.signin",
        "password_app",
        "Passwords and second factors: change, reset, enrol.",
    ),
    "serve": LazyCommand(
        f"{_CLI}.serve",
        "serve",
        "Serve the HTTP API (OpenAPI at /docs) on the store the environment names.",
    ),
    "drill": LazyCommand(
        f"{_CLI}.drill",
        "drill_app",
        "Incident drills: replay what happened, show which control acted, PASS or FAIL.",
    ),
    "intraday": LazyCommand(
        f"{_CLI}.intraday",
        "intraday_app",
        "Intraday fund control of the fast trading nodes (节点资金控制).",
    ),
    "sim": LazyCommand(
        f"{_CLI}.sim",
        "sim_app",
        "Market-day simulator (模拟市场): batches, packages and injected faults.",
    ),
    "watch": LazyCommand(
        f"{_CLI}.watch",
        "watch_app",
        "Real-time watch over trade → clearing → account: rules and models (实时监测).",
    ),
    # Recovery and data protection (issue 18): one module, three commands.
    "backup": LazyCommand(
        f"{_CLI}.recovery",
        "backup",
        "Back up the running store to DEST: its database, new columnar objects, the audit anchor.",
    ),
    "restore": LazyCommand(
        f"{_CLI}.recovery",
        "restore",
        "Restore a verified backup into an empty store; refuse a tampered or incomplete one.",
    ),
    "keys": LazyCommand(
        f"{_CLI}.keys",
        "keys_app",
        "The columnar store's encryption keys: rotate the master key, encrypt a plaintext store.",
    ),
    "demo": LazyCommand(
        f"{_CLI}.demo",
        "demo",
        "Simulate market days, run each broker's end of day, submit every package, "
        "run the monitor.",
    ),
}


def load_command(name: str, lazy: LazyCommand) -> Any:
    """Import the command's module and build the command as `add_typer` would have."""
    target = getattr(importlib.import_module(lazy.module), lazy.attribute)
    holder = typer.Typer()
    holder.callback()(_no_options)  # a callback keeps `holder` a group, whatever it holds
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


def _no_options() -> None:
    """Nothing: only there so that `load_command`'s holder is a group."""


class _NotLoaded(TyperCommand):
    """Stands in for a command in listings (`--help`, suggestions) until it is invoked."""

    def __init__(self, name: str, lazy: LazyCommand) -> None:
        super().__init__(name=name, help=lazy.help)
        self.lazy = lazy


class LazyGroup(ClearwatchGroup):
    """The root group: commands are listed from `LAZY_COMMANDS`, imported when resolved."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, lazy in LAZY_COMMANDS.items():
            self.commands.setdefault(name, _NotLoaded(name, lazy))

    # `Any`: typer 0.29 vendors its own click, whose types older typers spell differently.
    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        stand_in = self.commands.get(args[0]) if args else None
        if isinstance(stand_in, _NotLoaded):
            self.commands[args[0]] = load_command(args[0], stand_in.lazy)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    help=(
        "clearwatch keeps client money in the securities market safe.\n\n"
        "The store under CLEARWATCH_HOME (default ./clearwatch-data) is created on first use; "
        "`clearwatch init` creates or upgrades it explicitly (needed once on PostgreSQL). "
        "See each group's --help."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clearwatch {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Broker settlement back office and client-fund monitor."""
    # Everything this process creates — the store, Parquet objects, statements, packages,
    # reports — holds client data: owner-only, whatever the shell's umask says.
    os.umask(OWNER_ONLY_UMASK)


@app.command("init")
def init() -> None:
    """Create the store or upgrade its schema; set any missing append-only trigger again.

    Running it twice is harmless.
    """
    from clearwatch.services.audit.anchor import restore_append_only

    wired = application()
    revisions = wired.init_schema()
    # A trigger dropped or disabled at a database console since is set again, and said.
    restored = restore_append_only(anchor=wired.audit_anchor())
    if restored:
        say(console, ("append-only triggers restored", "yellow"), f": {', '.join(restored)}")
    # The URL and the path in it are the user's text: printed as they are, never as markup.
    console.print(
        Text.assemble(
            ("store ready", "green"),
            f" at {wired.settings.shown_database_url} (schema {', '.join(revisions)})",
        )
    )
