"""`clearwatch monitor`: the registry, package submission and the receipts listing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from clearwatch.adapters.files.csv_package_reader import CsvPackageSource
from clearwatch.adapters.files.registry_reader import read_registry_files
from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.entrypoints.cli.common import (
    EXIT_REJECTED,
    application,
    console,
    error_console,
    fail,
)
from clearwatch.services.monitor.ports import RegistryVersionInfo
from clearwatch.services.monitor.registry import load_registry, show_registry
from clearwatch.services.monitor.submit_package import SubmitContext, submit_package

monitor_app = typer.Typer(
    help="The client-fund monitor (交易结算资金监控): registry, packages, daily run.",
    no_args_is_help=True,
)
registry_app = typer.Typer(
    help="Institutions, special-account filings (账户报备) and holidays.", no_args_is_help=True
)
monitor_app.add_typer(registry_app, name="registry")

CLI_ACTOR = "cli"


def submit_context(wired: Application) -> SubmitContext:
    """Wire the submit use case to this application's stores and the local package source."""
    return SubmitContext(
        clock=wired.clock,
        uow_factory=wired.uow,
        read_uow_factory=wired.read_uow,
        columnar=wired.columnar,
        source=CsvPackageSource(),
    )


@registry_app.command("load")
def registry_load(
    directory: Annotated[
        Path, typer.Argument(help="Holds institutions.csv, special_accounts.csv, holidays.csv.")
    ],
) -> None:
    """Validate and load the registry; a changed registry becomes a new version."""
    if not directory.is_dir():
        raise fail(f"{directory} is not a directory")
    wired = application()
    result = load_registry(
        files=read_registry_files(str(directory)),
        source=str(directory),
        actor=CLI_ACTOR,
        uow=wired.uow(),
        clock=wired.clock,
    )
    if not result.loaded:
        for error in result.errors:
            error_console.print(f"  {error}", markup=False, highlight=False)
        raise fail(
            f"registry rejected: {len(result.errors)} error(s); nothing loaded", EXIT_REJECTED
        )
    state = "new version" if result.changed else "unchanged, still version"
    console.print(f"[green]registry loaded[/]: {state} {result.version}")


@registry_app.command("show")
def registry_show() -> None:
    """Show the current registry version and the history of versions."""
    snapshot, history = show_registry(uow=application().read_uow())
    if snapshot is None:
        console.print("no registry loaded yet: `clearwatch monitor registry load DIR`")
        return
    institutions = Table(title=f"Institutions 机构 (registry version {snapshot.version})")
    for column in ("institution", "kind", "name", "region"):
        institutions.add_column(column)
    for i in snapshot.institutions:
        institutions.add_row(i.institution_id, i.kind.value, i.name, i.region)
    accounts = Table(title="Special-account filings 账户报备")
    for column in ("account_no", "bank", "broker", "purpose", "branch region", "filed on"):
        accounts.add_column(column)
    for a in snapshot.special_accounts:
        accounts.add_row(
            a.account_no, a.bank_id, a.broker_id, a.purpose, a.branch_region, a.filed_on.isoformat()
        )
    console.print(institutions, accounts)
    console.print("holidays: " + (", ".join(d.isoformat() for d in snapshot.holidays) or "none"))
    console.print(_history_table(history))


def _history_table(history: list[RegistryVersionInfo]) -> Table:
    table = Table(
        title="Registry versions", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for column in ("version", "loaded at", "by", "institutions", "accounts", "holidays", "sha256"):
        table.add_column(column)
    for v in history:
        table.add_row(
            str(v.version),
            v.loaded_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            v.loaded_by,
            str(v.institutions),
            str(v.special_accounts),
            str(v.holidays),
            v.content_sha256[:12],
        )
    return table


@monitor_app.command("submit")
def submit(
    package_dir: Annotated[Path, typer.Argument(help="The package directory (manifest + CSV).")],
    at: str | None = typer.Option(None, "--at", help="Receive time, ISO 8601 with offset."),
) -> None:
    """Check and store a package; print one JSON receipt. Exit 3 when it is rejected."""
    wired = application(at)
    receipt = submit_package(directory=str(package_dir), context=submit_context(wired))
    typer.echo(json.dumps(receipt.to_json(), ensure_ascii=False))
    if receipt.status is ReceiptStatus.REJECTED:
        raise typer.Exit(EXIT_REJECTED)


@monitor_app.command("packages")
def packages(
    business_date: str | None = typer.Option(None, "--date", help="Business date YYYY-MM-DD."),
    institution: str | None = typer.Option(None, "--institution", help="Institution id."),
) -> None:
    """List receipts: accepted (or superseded) packages and rejections."""
    day = None
    if business_date is not None:
        try:
            day = date.fromisoformat(business_date)
        except ValueError as error:
            raise typer.BadParameter(f"{business_date!r} is not YYYY-MM-DD") from error
    with application().read_uow() as uow:
        rows = uow.packages.receipts(business_date=day, institution_id=institution)
    table = Table(
        title="Package receipts 数据报送回执",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in ("ref", "status", "inst.", "kind", "date", "seq", "rows", "received", "late"):
        table.add_column(column, no_wrap=True)
    styles = {"accepted": "green", "superseded": "dim", "rejected": "red"}
    for r in rows:
        table.add_row(
            r.reference,
            f"[{styles[r.status]}]{r.status}[/]",
            r.institution_id or "?",
            (r.kind or "?").removesuffix("_daily"),
            "?" if r.business_date is None else r.business_date.isoformat(),
            "?" if r.sequence is None else str(r.sequence),
            "" if r.rows is None else f"{r.rows:,}",
            r.received_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M"),
            {True: "[yellow]late[/]", False: "on time", None: ""}[r.late],
        )
    console.print(table)
    for r in rows:
        if r.first_error:
            console.print(f"{r.reference}: {r.first_error}", highlight=False)
