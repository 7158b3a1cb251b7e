"""`clearwatch monitor filings`: special-account filings (账户报备) — file, close, list, decide.

An institution's officer files or closes its accounts; SIPF's registry officer approves (a new
registry version) or rejects. Each command signs the caller in; the use case asks the policy.
Filing and deciding are security decisions, so they run on the real clock, never a replay's.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from clearwatch.bootstrap import Application
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.filings import Filing, FilingStatus
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.domain.shared.masking import mask
from clearwatch.entrypoints.cli.common import application, console, signed_in
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
    print_json,
    print_listing,
    status_style,
    wide_option,
)
from clearwatch.services.access.authorize import Gate
from clearwatch.services.monitor.filings import (
    approve_filing,
    close_account,
    file_account,
    list_filings,
    reject_filing,
)
from clearwatch.services.monitor.filings_ports import FilingsContext

filings_app = typer.Typer(
    help="Special-account filings (账户报备): institutions file, SIPF's registry officer decides.",
    no_args_is_help=True,
)


def filings_context(wired: Application) -> FilingsContext:
    return FilingsContext(
        clock=wired.real_clock, uow_factory=wired.uow, read_uow_factory=wired.read_uow
    )


def filing_row(filing: Filing, *, evidence: bool = False) -> dict[str, Any]:
    """A filing as the listing and `--json` show it (the API's `FilingOut`, field for field):
    the account's number masked unless shown as the evidence the policy allowed."""
    account = filing.account
    return {
        "filing_id": filing.filing_id,
        "kind": filing.kind.value,
        "status": filing.status.value,
        "account_no": account.account_no if evidence else mask(account.account_no),
        "bank_id": account.bank_id,
        "broker_id": account.broker_id,
        "purpose": account.purpose,
        "branch_region": account.branch_region,
        "filed_on": account.filed_on.isoformat(),
        "institution_id": filing.institution_id,
        "reason": filing.reason,
        "filed_by": filing.filed_by,
        "filed_at": filing.filed_at,
        "decided_by": filing.decided_by,
        "decided_at": filing.decided_at,
        "decision_reason": filing.decision_reason,
        "registry_version": filing.registry_version,
    }


FILING_COLUMNS = (
    Column("filing", "filing_id", justify="right"),
    Column("kind", "kind"),
    Column("status", "status", style=status_style),
    Column("account_no", "account_no"),
    Column("bank", "bank_id"),
    Column("broker", "broker_id"),
    Column("purpose", "purpose", wide=True),
    Column("region", "branch_region", wide=True),
    Column("filed on", "filed_on", wide=True),
    Column("by", "filed_by", wide=True),
    Column("filed at", "filed_at", show=local_time, wide=True),
    Column("decided by", "decided_by", wide=True),
    Column("version", "registry_version", justify="right"),
    Column("why", "reason", whole=False, wide=True),
)


def _report(filing: Filing, as_json: bool) -> None:
    if as_json:
        print_json(filing_row(filing))
        return
    version = (
        "" if filing.registry_version is None else f", registry version {filing.registry_version}"
    )
    account = mask(filing.account.account_no)
    console.print(
        f"[green]filing {filing.filing_id}[/] ({filing.kind.value} {account}): "
        f"{filing.status.value}{version}",
        highlight=False,
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from error


@filings_app.command("file")
def file_command(
    account_no: Annotated[str, typer.Argument(help="The special account's number.")],
    bank: Annotated[str, typer.Option("--bank", help="The depository bank's registry id.")],
    broker: Annotated[str, typer.Option("--broker", help="The broker's registry id.")],
    purpose: Annotated[
        str,
        typer.Option(help="client_settlement, credit_guarantee or option_margin."),
    ],
    region: Annotated[str, typer.Option("--region", help="The branch's bureau code (CN-SH…).")],
    filed_on: Annotated[str, typer.Option("--filed-on", help="YYYY-MM-DD.")],
    as_json: bool = json_option,
) -> None:
    """File a new special account of your institution (officer); it waits for approval."""
    account = SpecialAccountFiling(account_no, bank, broker, purpose, region, _day(filed_on))
    wired = application()
    filing = file_account(account=account, gate=signed_in(wired), context=filings_context(wired))
    _report(filing, as_json)


@filings_app.command("close")
def close_command(
    account_no: Annotated[str, typer.Argument(help="The filed account to close.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the account closes.")],
    as_json: bool = json_option,
) -> None:
    """Ask to take a filed account of your institution out of the registry (officer)."""
    wired = application()
    filing = close_account(
        account_no=account_no, reason=reason, gate=signed_in(wired), context=filings_context(wired)
    )
    _report(filing, as_json)


EVIDENCE_HELP = "Show the accounts' numbers unmasked (policy: monitor.filings.evidence)."


def check_evidence(gate: Gate, institution_id: str | None) -> None:
    """Asked before anything is read, so that a refusal (audited) shows nothing: the one
    institution asked for, or all the caller may list (their own, or SIPF's whole monitor)."""
    whose = None if institution_id is None else Resource(institution=institution_id)
    gate.check_evidence(Action.FILINGS_EVIDENCE, whose, read="monitor filings list")


@filings_app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, approved or rejected.")
    ] = None,
    institution: Annotated[str | None, typer.Option("--institution", help="Filer's id.")] = None,
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: Annotated[bool, typer.Option("--evidence", help=EVIDENCE_HELP)] = False,
) -> None:
    """The filings you may see: your institution's, or every one for SIPF. The accounts'
    numbers are masked unless asked for with `--evidence` and the policy allows it."""
    try:
        wanted = None if status is None else FilingStatus(status)
    except ValueError as error:
        raise typer.BadParameter(f"--status must be one of {', '.join(FilingStatus)}") from error
    wired = application()
    gate = signed_in(wired)
    if evidence:
        check_evidence(gate, institution)
    found = list_filings(
        gate=gate, context=filings_context(wired), institution_id=institution, status=wanted
    )
    rows = [filing_row(f, evidence=evidence) for f in found]
    print_listing(console, "Filings 账户报备", FILING_COLUMNS, rows, wide=wide, as_json=as_json)


@filings_app.command("approve")
def approve_command(
    filing_id: Annotated[int, typer.Argument(help="The filing's number.")],
    as_json: bool = json_option,
) -> None:
    """Approve a pending filing (registry officer): the registry gets a new version."""
    wired = application()
    filing = approve_filing(
        filing_id=filing_id, gate=signed_in(wired), context=filings_context(wired)
    )
    _report(filing, as_json)


@filings_app.command("reject")
def reject_command(
    filing_id: Annotated[int, typer.Argument(help="The filing's number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the filing is rejected.")],
    as_json: bool = json_option,
) -> None:
    """Reject a pending filing with a reason (registry officer); the registry stays."""
    wired = application()
    filing = reject_filing(
        filing_id=filing_id, reason=reason, gate=signed_in(wired), context=filings_context(wired)
    )
    _report(filing, as_json)
