"""`clearwatch audit`: verify the chain against signed checkpoints, sign, prove, list records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clearwatch.bootstrap import Application
from clearwatch.domain.access.policy import Action
from clearwatch.domain.audit.ref_masking import masked_object_ref
from clearwatch.domain.audit.witness import read_witnessed
from clearwatch.entrypoints.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    application,
    console,
    fail,
    signed_in,
)
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
    print_json,
    print_listing,
    say,
    wide_option,
)
from clearwatch.services.audit.anchor import (
    checkpoint_audit,
    prove_consistency,
    prove_inclusion,
    verify_anchored_audit,
)
from clearwatch.services.audit.audit_log import show_audit
from clearwatch.services.audit.witness import WitnessReport, check_witnessed_heads

audit_app = typer.Typer(help="The tamper-evident audit log (审计日志).", no_args_is_help=True)


def _audited_by(action: Action) -> Application:
    """The application, once the policy let the signed-in caller read or sign the log."""
    wired = application()
    signed_in(wired).check_own(action)
    return wired


@audit_app.command("verify")
def verify(
    data: bool = typer.Option(
        False, "--data", help="Also recompute the fingerprints of the rows records describe."
    ),
) -> None:
    """Check the hash chain, every signed checkpoint and the append-only triggers.

    A log cut below its last checkpoint is `audit_log_truncated`; records rewritten and
    re-chained under a checkpoint are `audit_log_rechained`; each problem is one line.
    """
    report = verify_anchored_audit(
        anchor=_audited_by(Action.AUDIT_VERIFY).audit_anchor(), data=data
    )
    if not report.intact:
        for finding in report.findings:
            fail(str(finding))
        raise typer.Exit(EXIT_FAILED)
    latest = report.latest
    anchored = (
        "no signed checkpoint yet"
        if latest is None
        else f"checkpoint seq {latest.checkpoint.seq} signed at {latest.checkpoint.made_at} holds"
    )
    if latest is not None and report.store_seq > latest.checkpoint.seq:
        anchored += f" (records {latest.checkpoint.seq + 1}..{report.store_seq} not yet signed)"
    rows = f"; {report.rows_checked} records' rows rechecked" if data else ""
    say(
        console,
        ("audit chain intact", "green"),
        f": {report.chain.records_checked} records verified; {anchored}{rows}",
    )


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign the log's size and tree head now (commands that append do it when they end)."""
    signed = checkpoint_audit(anchor=_audited_by(Action.AUDIT_CHECKPOINT).audit_anchor())
    if signed is None:
        say(console, "the audit log is empty: nothing to sign")
        return
    made = signed.checkpoint
    say(
        console,
        ("checkpoint", "green"),
        f" seq {made.seq} tree head {made.tree_head} signed at {made.made_at}",
        whole=True,
    )


@audit_app.command("prove")
def prove(seq: int = typer.Argument(..., min=1, help="The record's seq.")) -> None:
    """Print and verify record SEQ's inclusion proof in the latest checkpoint's tree."""
    proof = prove_inclusion(anchor=_audited_by(Action.AUDIT_VERIFY).audit_anchor(), seq=seq)
    made = proof.checkpoint
    say(console, f"record seq {proof.seq} hash {proof.record_hash}", whole=True)
    say(console, f"checkpoint seq {made.seq} tree head {made.tree_head} signed at {made.made_at}")
    say(console, f"inclusion proof, {len(proof.path)} hashes from the leaf up:")
    for node in proof.path:
        say(console, f"  {node}", whole=True)
    if not proof.verified:
        raise fail(f"audit_inclusion_proof_failed: record {seq} in checkpoint {made.seq}")
    say(console, ("proof verified", "green"), f": record {seq} is in checkpoint {made.seq}'s tree")


@audit_app.command("consistency")
def consistency(
    old: int = typer.Argument(..., min=1, help="The older checkpoint's seq."),
    new: int = typer.Argument(..., min=1, help="The newer checkpoint's seq."),
) -> None:
    """Prove checkpoint OLD's tree is a prefix of checkpoint NEW's (RFC 6962 consistency)."""
    proof = prove_consistency(
        anchor=_audited_by(Action.AUDIT_VERIFY).audit_anchor(), old_seq=old, new_seq=new
    )
    for made in (proof.old, proof.new):
        say(console, f"checkpoint seq {made.seq} tree head {made.tree_head}", whole=True)
    say(console, f"consistency proof, {len(proof.path)} hashes:")
    for node in proof.path:
        say(console, f"  {node}", whole=True)
    if not proof.verified:
        raise fail(f"audit_consistency_proof_failed: checkpoint {old} to {new}")
    say(console, ("proof verified", "green"), f": checkpoint {old}'s log is a prefix of {new}'s")


@audit_app.command("witness")
def witness(
    heads: Annotated[
        Path,
        typer.Argument(help="The heads the monitor kept (`clearwatch monitor witness --json`)."),
    ],
    as_json: bool = json_option,
) -> None:
    """Prove each head the monitor kept is a prefix of this log (RFC 6962 consistency).

    A record changed after the broker reported is `audit_log_rewritten_since_witnessed`,
    naming the package whose head no longer holds; a cut tail is
    `audit_log_truncated_since_witnessed`. Exit 1 on any finding."""
    wired = _audited_by(Action.AUDIT_VERIFY)
    try:
        kept = read_witnessed(json.loads(heads.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise fail(f"{heads}: {error}", EXIT_USAGE) from error
    report = check_witnessed_heads(anchor=wired.audit_anchor(), kept=kept)
    if as_json:
        print_json(_witness_json(report))
    else:
        for check in report.checks:
            if not check.findings:
                say(
                    console,
                    ("holds", "green"),
                    f": {check.kept.label()} is a prefix of records 1..{report.store_seq} "
                    f"({len(check.path)}-hash consistency proof)",
                )
        if not report.checks:
            say(console, "no heads to check")
    for finding in report.findings:
        fail(str(finding))
    if report.findings:
        raise typer.Exit(EXIT_FAILED)


def _witness_json(report: WitnessReport) -> dict[str, object]:
    return {
        "store_seq": report.store_seq,
        "tree_head": report.tree_head,
        "heads": [
            {
                "institution_id": check.kept.institution_id,
                "business_date": check.kept.business_date,
                "package_id": check.kept.package_id,
                "seq": check.kept.head.checkpoint.seq,
                "tree_head": check.kept.head.checkpoint.tree_head,
                "consistency_proof": list(check.path),
                "findings": [str(finding) for finding in check.findings],
            }
            for check in report.checks
        ],
        "findings": [str(finding) for finding in report.findings],
    }


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


AUDIT_EVIDENCE_HELP = "The clients and accounts records name, unmasked (policy: audit.evidence)."


@audit_app.command("show")
def show(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many latest records."),
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: bool = typer.Option(False, "--evidence", help=AUDIT_EVIDENCE_HELP),
) -> None:
    """List the latest audit records (who, what, when, on what); the client or account a
    record is about masked unless asked with `--evidence`."""
    wired = application()
    gate = signed_in(wired)
    gate.check_own(Action.AUDIT_SHOW)
    if evidence:  # asked before anything is read, so that a refusal (audited) shows nothing
        gate.check_evidence(Action.AUDIT_EVIDENCE, None, read=f"audit show --limit {limit}")
    records = show_audit(uow=wired.read_uow(), limit=limit)
    rows = [
        {
            "seq": record.seq,
            "recorded_at": record.recorded_at,
            "actor": record.actor,
            "action": record.action,
            "object_ref": record.object_ref if evidence else masked_object_ref(record.object_ref),
            "hash": f"{record.algorithm.value}:{record.hash if as_json else record.hash[:12]}",
        }
        for record in records
    ]
    print_listing(console, "Audit log 审计日志", AUDIT_COLUMNS, rows, wide=wide, as_json=as_json)
