"""Whose books an approval request is about, read from its subject.

A request about a broker's books (a correction batch, an adjustment, a transfer, an account's
status or freeze, a break, a reversal, a halt or a flow halt) may be made and decided only in
that broker's back office: the policy is asked for the subject's organisation, not the
maker's. Asked for the maker's, a back office could raise `watch-halt:B002:…` in the generic
queue, approve it with its own checker, and halt another broker's client (or lift its flow
halts); and an approval found by subject alone would count for the other broker's books.
"""

from __future__ import annotations

import re

from clearwatch.domain.access.organisations import BACK_OFFICE_PREFIX

# Subjects spelt `<kind>:<broker_id>:…` or `<kind>:<broker_id>/…` (approval_content.py, the batch
# manifest, the journal's entry keys, domain/watch and domain/intraday's halt subjects).
_BROKER_SECOND = frozenset(
    {
        "account",
        "adjustment",
        "batch",
        "break",
        "freeze",
        "halt-lift",
        "trades",
        "transfer",
        "watch-flow-halt",
        "watch-halt",
    }
)
_REVERSAL = "reversal"  # `reversal:<the reversed entry's key>`


def books_of_subject(subject_ref: str) -> str | None:
    """The back office (`BO:<broker>`) whose books the subject names; None for a subject about
    no broker's books (an emergency grant, a witness key, a node takeover)."""
    kind, _, rest = subject_ref.partition(":")
    if kind == _REVERSAL:
        return books_of_subject(rest)
    if kind not in _BROKER_SECOND:
        return None
    broker_id = re.split("[:/]", rest, maxsplit=1)[0]  # `B001:…`, or a batch ref's `B001/…`
    return f"{BACK_OFFICE_PREFIX}{broker_id}" if broker_id else None
