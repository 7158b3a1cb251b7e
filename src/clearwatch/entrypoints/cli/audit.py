"""`clearwatch audit`: verify the hash chain, list records."""

from __future__ import annotations

import typer
from rich.table import Table

from clearwatch.entrypoints.cli.common import application, console, fail
from clearwatch.services.audit.audit_log import show_audit, verify_audit

audit_app = typer.Typer(help="The tamper-evident audit log (审计日志).", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Recompute the hash chain from the first record; name the first broken record."""
    verdict = verify_audit(uow=application().read_uow())
    if verdict.first_break is not None:
        broken = verdict.first_break
        raise fail(
            f"audit chain broken at record seq={broken.seq}: {broken.reason} "
            f"({verdict.records_checked} records read)"
        )
    console.print(f"[green]audit chain intact[/]: {verdict.records_checked} records verified")


@audit_app.command("show")
def show(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many latest records."),
) -> None:
    """List the latest audit records (who, what, when, on what)."""
    records = show_audit(uow=application().read_uow(), limit=limit)
    table = Table(title="Audit log 审计日志", expand=False)
    for column in ("seq", "at", "actor", "action", "object", "hash"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            str(record.seq),
            record.recorded_at[:19],
            record.actor,
            record.action,
            record.object_ref,
            f"{record.algorithm.value}:{record.hash[:12]}",
        )
    console.print(table)
