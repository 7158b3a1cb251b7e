"""`clearwatch intraday`: the conservation check across trading nodes, and the halts it raised."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.kinds import CASH
from clearwatch.domain.shared.masking import mask, mask_within
from clearwatch.entrypoints.cli.common import (
    EXIT_REJECTED,
    application,
    console,
    fail,
    signed_in,
)
from clearwatch.entrypoints.cli.evidence import evidence_option, whole_for
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
    print_listing,
    say,
    wide_option,
)
from clearwatch.services.drills.harness import money
from clearwatch.services.intraday.ports import HaltRecord
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
    at: str | None = typer.Option(
        None, "--at", help="Replay: the business time, ISO 8601 with offset (replay mode only)."
    ),
) -> None:
    """Σ available across nodes ≤ central available, per client; a breach halts the client."""
    from clearwatch.services.intraday.central_funds import BooksCentralFunds

    wired = application(at)
    # The policy decides on the real clock, whatever business time `--at` replays.
    gate = signed_in(wired)
    gate.check(Action.INTRADAY_CHECK, Resource(institution=broker))
    central = BooksCentralFunds(wired.read_uow, wired.backoffice_tools)
    report = check_conservation(
        uow=wired.uow(),
        clock=wired.clock,
        broker_id=broker,
        business_date=_day(day),
        central=central,
        actor=gate.caller.label,
        publisher=wired.watch_publisher(),
    )
    for breach in report.breaches:
        unit = money(breach.excess) if breach.asset == CASH else f"{breach.excess} shares"
        say(
            console,
            ("breach", "red"),
            f" {mask(breach.fund_account)} {breach.asset}: nodes hold "
            f"{breach.nodes_quantity}, central {breach.central_quantity} (excess {unit})",
        )
    if report.breaches:
        raise fail(
            f"{len(report.breaches)} conservation breaches; halted: "
            f"{', '.join(mask(a) for a in report.halts_raised) or 'already halted'}",
            EXIT_REJECTED,
        )
    say(console, ("conservation holds", "green"), f" for {report.clients_checked} clients on {day}")


HALT_COLUMNS = (
    Column("broker", "broker_id"),
    Column("client", "fund_account"),  # masked in the row unless `--evidence`
    Column("raised", "raised_at", show=lambda at: local_time(at, "%Y-%m-%d %H:%M:%S")),
    Column("by", "raised_by"),
    Column("evidence", "breaches", whole=False, show=lambda found: _describe(found)),
    # A halt lifted by an approved override (issue 16) no longer stops the client.
    Column(
        "lifted",
        "lifted_by_approval",
        wide=True,
        show=lambda n: "" if n is None else f"approval #{n}",
    ),
)


def _halt_row(record: HaltRecord, *, whole: bool) -> dict[str, Any]:
    """A halt as listed: its client, and the client where its evidence names them (an alert's
    key), masked by the one rule unless shown as the evidence the policy allowed."""

    def shown(value: Any) -> Any:
        return value if whole else mask_within(value, [record.fund_account])

    return {
        "broker_id": record.broker_id,
        "fund_account": shown(record.fund_account),
        "raised_at": record.raised_at,
        "raised_by": record.raised_by,
        "breaches": shown(record.evidence.get("breaches")),
        "evidence": shown(dict(record.evidence)),
        "lifted_by_approval": record.lifted_by_approval,
    }


def _describe(breaches: list[dict[str, Any]]) -> str:
    """Each breach of the evidence in a few words; `--json` has all of it."""
    return "; ".join(
        f"{b.get('asset')} excess {b.get('excess')} {b.get('unit')} "
        f"(nodes {b.get('nodes_total')}, central {b.get('central')})"
        for b in breaches
    )


@intraday_app.command("halts")
def halts(
    day: str = typer.Option(..., "--date", help="Business date, YYYY-MM-DD."),
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: bool = evidence_option,
) -> None:
    """Clients whose trading was halted on a date, with the evidence and any lift; the client
    masked (table and `--json`, its evidence too) unless asked with `--evidence`."""
    wired = application()
    gate = signed_in(wired)
    sees = gate.lister(Action.INTRADAY_HALTS)
    whole = whole_for(gate, evidence, read=f"intraday halts {day}")
    with wired.read_uow() as uow:
        stored = uow.intraday.halts(business_date=_day(day))
    records = [r for r in stored if sees(Resource(institution=r.broker_id))]
    rows = [_halt_row(record, whole=whole(record.broker_id)) for record in records]
    title = f"Halted clients {day}"
    print_listing(console, title, HALT_COLUMNS, rows, wide=wide, as_json=as_json)
