"""`clearwatch intraday`: the conservation check across trading nodes, and the halts it raised."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from clearwatch.entrypoints.cli.common import EXIT_REJECTED, application, console, fail
from clearwatch.services.drills.harness import money
from clearwatch.services.intraday.trading_node import check_conservation

intraday_app = typer.Typer(
    help="Intraday fund control of the fast trading nodes (节点资金控制).", no_args_is_help=True
)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from error


@intraday_app.command("check")
def check(
    broker: str = typer.Option(..., "--broker", help="Broker id."),
    day: str = typer.Option(..., "--date", help="Business date, YYYY-MM-DD."),
    actor: str = typer.Option("conservation-check", "--as", help="Recorded as the checker."),
    at: str | None = typer.Option(None, "--at", help="Act at this time (ISO 8601 with offset)."),
) -> None:
    """Σ available across nodes ≤ central available, per client; a breach halts the client."""
    # Imported here: the engine stack (Ibis, DuckDB) is only worth loading for this command.
    from clearwatch.adapters.engine.backoffice.row_work import build_backoffice_tools
    from clearwatch.services.intraday.central_funds import BooksCentralFunds

    wired = application(at)
    central = BooksCentralFunds(wired.read_uow, build_backoffice_tools(wired.columnar))
    report = check_conservation(
        uow=wired.uow(),
        clock=wired.clock,
        broker_id=broker,
        business_date=_day(day),
        central=central,
        actor=actor,
    )
    for breach in report.breaches:
        unit = money(breach.excess) if breach.asset == "CASH" else f"{breach.excess} shares"
        console.print(
            f"[red]breach[/] {breach.fund_account} {breach.asset}: nodes hold "
            f"{breach.nodes_quantity}, central {breach.central_quantity} (excess {unit})"
        )
    if report.breaches:
        raise fail(
            f"{len(report.breaches)} conservation breaches; halted: "
            f"{', '.join(report.halts_raised) or 'already halted'}",
            EXIT_REJECTED,
        )
    console.print(f"[green]conservation holds[/] for {report.clients_checked} clients on {day}")


@intraday_app.command("halts")
def halts(day: str = typer.Option(..., "--date", help="Business date, YYYY-MM-DD.")) -> None:
    """Clients whose trading is halted on a date, with the evidence."""
    with application().read_uow() as uow:
        records = uow.intraday.halts(business_date=_day(day))
    table = Table(title=f"Halted clients {day}")
    for column in ("broker", "client", "raised", "by", "evidence"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            record.broker_id,
            record.fund_account,
            record.raised_at.isoformat()[:19],
            record.raised_by,
            str(record.evidence.get("breaches")),
        )
    console.print(table)
