"""`clearwatch monitor`: the registry, package submission and the receipts listing."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.audit.witness import key_fingerprint, witnessed_document
from clearwatch.domain.monitor.receipt import ReceiptStatus
from clearwatch.domain.shared.masking import mask
from clearwatch.entrypoints.cli.common import (
    EXIT_FAILED,
    EXIT_REJECTED,
    EXIT_USAGE,
    application,
    console,
    error_console,
    fail,
    signed_in,
)
from clearwatch.entrypoints.cli.filings import filings_app
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    listing_table,
    local_time,
    print_json,
    print_listing,
    say,
    status_style,
    wide_option,
)
from clearwatch.services.monitor.audit_heads import witnessed_heads
from clearwatch.services.monitor.ports import RegistryVersionInfo
from clearwatch.services.monitor.registry import load_registry, show_registry
from clearwatch.services.monitor.submit_package import submit_package

monitor_app = typer.Typer(
    help="The client-fund monitor (交易结算资金监控): registry, packages, daily run.",
    no_args_is_help=True,
)
registry_app = typer.Typer(
    help="Institutions, special-account filings (账户报备) and holidays.", no_args_is_help=True
)
monitor_app.add_typer(registry_app, name="registry")
monitor_app.add_typer(filings_app, name="filings")


@registry_app.command("load")
def registry_load(
    directory: Annotated[
        Path, typer.Argument(help="Holds institutions.csv, special_accounts.csv, holidays.csv.")
    ],
) -> None:
    """Validate and load the registry; a changed registry becomes a new version."""
    if not directory.is_dir():
        raise fail(f"{directory} is not a directory", EXIT_USAGE)
    wired = application()
    gate = signed_in(wired)
    gate.check(Action.REGISTRY_LOAD, Resource())
    result = load_registry(
        files=wired.read_registry_files(directory),
        source=str(directory),
        actor=gate.caller.label,
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


INSTITUTION_COLUMNS = (
    Column("institution", "institution_id"),
    Column("kind", "kind"),
    Column("region", "region"),
    Column("name", "name", whole=False),
)
ACCOUNT_COLUMNS = (
    Column("account_no", "account_no"),
    Column("bank", "bank_id"),
    Column("broker", "broker_id"),
    Column("purpose", "purpose"),
    Column("region", "branch_region"),
    Column("filed on", "filed_on"),
)
HISTORY_COLUMNS = (
    Column("version", "version", justify="right"),
    Column("loaded at", "loaded_at", show=local_time),
    Column("by", "loaded_by"),
    Column("inst.", "institutions", justify="right"),
    Column("accts", "special_accounts", justify="right"),
    Column("holidays", "holidays", justify="right"),
    Column("sha256", "content_sha256", show=lambda digest: digest[:12]),
)


EVIDENCE_HELP = "Show the special accounts' numbers unmasked (policy: monitor.evidence)."


@registry_app.command("show")
def registry_show(
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: Annotated[bool, typer.Option("--evidence", help=EVIDENCE_HELP)] = False,
) -> None:
    """Show the current registry version and the history of versions.

    The special accounts' numbers are masked (the last four characters kept) unless the
    caller asks for them with `--evidence` and the policy lets them (`monitor.evidence`)."""
    wired = application()
    gate = signed_in(wired)
    gate.check(Action.REGISTRY_SHOW, Resource())
    if evidence:
        gate.check_evidence(Action.MONITOR_EVIDENCE, Resource(), read="monitor registry show")
    snapshot, history = show_registry(uow=wired.read_uow())
    if snapshot is None:
        if as_json:
            print_json(None)
            return
        console.print("no registry loaded yet: `clearwatch monitor registry load DIR`")
        return
    institutions = [dataclasses.asdict(i) for i in snapshot.institutions]
    accounts = [dataclasses.asdict(a) for a in snapshot.special_accounts]
    if not evidence:
        accounts = [a | {"account_no": mask(a["account_no"])} for a in accounts]
    versions = [_version_row(v) for v in history]
    holidays = [d.isoformat() for d in snapshot.holidays]
    if as_json:
        document = {"version": snapshot.version, "institutions": institutions}
        document |= {"special_accounts": accounts, "holidays": holidays, "history": versions}
        print_json(document)
        return
    title = f"Institutions 机构 (registry version {snapshot.version})"
    console.print(listing_table(title, INSTITUTION_COLUMNS, institutions, wide=wide))
    console.print(listing_table("Special-account filings 账户报备", ACCOUNT_COLUMNS, accounts))
    say(console, "holidays: " + (", ".join(holidays) or "none"))
    console.print(listing_table("Registry versions", HISTORY_COLUMNS, versions, wide=wide))


def _version_row(v: RegistryVersionInfo) -> dict[str, Any]:
    return {
        "version": v.version,
        "loaded_at": v.loaded_at,
        "loaded_by": v.loaded_by,
        "institutions": v.institutions,
        "special_accounts": v.special_accounts,
        "holidays": v.holidays,
        "content_sha256": v.content_sha256,
    }


@monitor_app.command("submit")
def submit(
    package_dir: Annotated[Path, typer.Argument(help="The package directory (manifest + CSV).")],
    reason: str | None = typer.Option(
        None, "--reason", help="Why a later sequence supersedes the accepted package (officer)."
    ),
    at: str | None = typer.Option(
        None, "--at", help="Replay: the receive time, ISO 8601 with offset (replay mode only)."
    ),
) -> None:
    """Check and store a package; print one JSON receipt. Exit 3 when it is rejected."""
    wired = application(at)
    receipt = submit_package(
        directory=str(package_dir),
        context=wired.submit_context(),
        gate=signed_in(wired),
        reason=reason,
    )
    typer.echo(json.dumps(receipt.to_json(), ensure_ascii=False))
    if receipt.status is ReceiptStatus.REJECTED:
        raise typer.Exit(EXIT_REJECTED)


RECEIPT_COLUMNS = (
    Column("ref", "reference"),
    Column("status", "status", style=status_style),
    Column("inst.", "institution_id"),
    Column("kind", "kind", show=lambda kind: str(kind).removesuffix("_daily")),
    Column("date", "business_date"),
    Column("seq", "sequence", justify="right"),
    Column("rows", "rows", wide=True, justify="right", show=lambda rows: f"{rows:,}"),
    Column("received", "received_at", show=lambda at: local_time(at, "%m-%d %H:%M")),
    Column("late", "late", show=lambda late: "late" if late else "on time"),
    Column("first error", "first_error", whole=False, wide=True),
)


@monitor_app.command("packages")
def packages(
    business_date: str | None = typer.Option(None, "--date", help="Business date YYYY-MM-DD."),
    institution: str | None = typer.Option(None, "--institution", help="Institution id."),
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """List receipts: accepted (or superseded) packages and rejections."""
    day = None
    if business_date is not None:
        try:
            day = date.fromisoformat(business_date)
        except ValueError as error:
            raise typer.BadParameter(f"{business_date!r} is not YYYY-MM-DD") from error
    wired = application()
    sees = signed_in(wired).lister(Action.PACKAGES_LIST)
    with wired.read_uow() as uow:
        receipts = uow.packages.receipts(business_date=day, institution_id=institution)
    found = [r for r in receipts if sees(Resource(institution=r.institution_id))]
    rows = [dataclasses.asdict(r) for r in found]
    title = "Package receipts 数据报送回执"
    print_listing(console, title, RECEIPT_COLUMNS, rows, wide=wide, as_json=as_json)
    if as_json or wide:
        return
    for r in found:
        if r.first_error:
            say(console, f"{r.reference}: {r.first_error}")


WITNESS_COLUMNS = (
    Column("date", "business_date"),
    Column("package", "package_id", justify="right"),
    Column("seq", "seq", justify="right"),
    Column("tree head", "tree_head", show=lambda digest: digest[:16]),
    Column("signed", "made_at", show=local_time),
    Column("received", "received_at", show=local_time, wide=True),
    Column("key", "key_sha256", show=lambda digest: digest[:16], wide=True),
)


@monitor_app.command("witness")
def witness(
    institution: str = typer.Option(..., "--institution", help="The broker whose heads to list."),
    business_date: str | None = typer.Option(None, "--date", help="Business date YYYY-MM-DD."),
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """The signed audit heads a broker's packages carried, which its log must still extend.

    `--json` prints them as the back office checks them: `clearwatch audit witness FILE`.
    Exit 1 when the heads alone show the log was rewritten (one signed later over fewer
    records, or two over the same records that differ)."""
    try:
        day = None if business_date is None else date.fromisoformat(business_date)
    except ValueError as error:
        raise typer.BadParameter(f"{business_date!r} is not YYYY-MM-DD") from error
    wired = application()
    signed_in(wired).check(Action.MONITOR_WITNESS, Resource())
    kept = witnessed_heads(uow=wired.read_uow(), institution_id=institution, business_date=day)
    pinned = None if kept.pinned_key is None else key_fingerprint(kept.pinned_key)
    if as_json:
        document = witnessed_document(kept.heads) | {"institution_id": institution}
        document |= {"pinned_key_sha256": pinned, "findings": [str(f) for f in kept.findings]}
        print_json(document)
    else:
        rows = [
            {"business_date": k.business_date, "package_id": k.package_id}
            | {"seq": k.head.checkpoint.seq, "tree_head": k.head.checkpoint.tree_head}
            | {"made_at": k.head.checkpoint.made_at, "received_at": k.received_at}
            | {"key_sha256": k.head.key_sha256}
            for k in kept.heads
        ]
        title = f"Audit heads kept for {institution} 审计日志见证"
        print_listing(console, title, WITNESS_COLUMNS, rows, wide=wide)
        say(console, f"pinned key sha256: {pinned or 'none yet (no head received)'}")
    for finding in kept.findings:
        fail(str(finding))
    if kept.findings:
        raise typer.Exit(EXIT_FAILED)
