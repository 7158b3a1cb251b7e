"""What a checkpoint signs: one spelling of every field, so a changed field changes the bytes."""

from __future__ import annotations

from dataclasses import replace

from clearwatch.domain.audit.checkpoint import Checkpoint, rechained, truncated

CHECKPOINT = Checkpoint(
    seq=3,
    tree_head="ab" * 32,
    chain_head="cd" * 32,
    made_at="2026-11-20T16:00:00+08:00",
    frontier=((2, "01" * 32), (1, "02" * 32)),
)


def test_the_statement_covers_every_field() -> None:
    changed = [
        replace(CHECKPOINT, seq=4),
        replace(CHECKPOINT, tree_head="ef" * 32),
        replace(CHECKPOINT, chain_head="ef" * 32),
        replace(CHECKPOINT, made_at="2026-11-20T16:00:01+08:00"),
        replace(CHECKPOINT, frontier=((2, "01" * 32),)),
    ]
    assert len({c.statement() for c in [CHECKPOINT, *changed]}) == 6
    assert CHECKPOINT.statement() == replace(CHECKPOINT).statement()


def test_findings_read_as_their_rule_then_what() -> None:
    assert str(truncated(9, 7)) == "audit_log_truncated: checkpoint at seq 9, store ends at 7"
    assert str(rechained(CHECKPOINT)).startswith("audit_log_rechained: tree head of records 1..3")
