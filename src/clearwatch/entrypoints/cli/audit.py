"""`clearwatch audit`: verify the chain against signed checkpoints, sign, prove, list records."""

from __future__ import annotations

import typer

from clearwatch.entrypoints.cli.common import EXIT_FAILED, application, console, fail
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    local_time,
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

audit_app = typer.Typer(help="The tamper-evident audit log (审计日志).", no_args_is_help=True)


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
    report = verify_anchored_audit(anchor=application().audit_anchor(), data=data)
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
    signed = checkpoint_audit(anchor=application().audit_anchor())
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
    proof = prove_inclusion(anchor=application().audit_anchor(), seq=seq)
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
    proof = prove_consistency(anchor=application().audit_anchor(), old_seq=old, new_seq=new)
    for made in (proof.old, proof.new):
        say(console, f"checkpoint seq {made.seq} tree head {made.tree_head}", whole=True)
    say(console, f"consistency proof, {len(proof.path)} hashes:")
    for node in proof.path:
        say(console, f"  {node}", whole=True)
    if not proof.verified:
        raise fail(f"audit_consistency_proof_failed: checkpoint {old} to {new}")
    say(console, ("proof verified", "green"), f": checkpoint {old}'s log is a prefix of {new}'s")


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
