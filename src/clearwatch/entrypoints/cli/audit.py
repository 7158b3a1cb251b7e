"""`clearwatch audit`: verify the hash chain, list records."""

from __future__ import annotations

import typer

from clearwatch.entrypoints.cli.common import application, console, fail
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
    print_listing,
    say,
    wide_option,
)
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
    say(console, ("audit chain intact", "green"), f": {verdict.records_checked} records verified")


# Object refs run to 30 characters and more: with them no row fits 80 columns whole, so they
# are a wide column, like the hash.
AUDIT_COLUMNS = (
    Column("seq", "seq", justify="right"),
    Column("at (Shanghai)", "recorded_at", show=local_time),
    Column("actor", "actor"),
    Column("action", "action"),
    Column("object", "object_ref", wide=True),
    Column("hash", "hash", wide=True),
)


@audit_app.command("show")
def show(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many latest records."),
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """List the latest audit records (who, what, when, on what)."""
    records = show_audit(uow=application().read_uow(), limit=limit)
    rows = [
        {
            "seq": record.seq,
            "recorded_at": record.recorded_at,
            "actor": record.actor,
            "action": record.action,
            "object_ref": record.object_ref,
            "hash": f"{record.algorithm.value}:{record.hash if as_json else record.hash[:12]}",
        }
        for record in records
    ]
    print_listing(console, "Audit log 审计日志", AUDIT_COLUMNS, rows, wide=wide, as_json=as_json)
