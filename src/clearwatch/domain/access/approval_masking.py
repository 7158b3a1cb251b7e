"""An approval request as listed to someone who did not ask for the evidence: clients masked.

A back office's requests name the client or account they act on: in the payload bound by
content (`fund_account` of an adjustment, a transfer, a status, a halt; `account` and
`counterparty` of a flow halt's lift; the break's `subject` in a break's resolution) and
again in the subject (`account:B001:FA…`, `watch-halt:B001:FA…:2026-11-20`, `halt-lift:…`,
`watch-flow-halt:B001:ACC:OTHER`). Those identifiers are masked by the one rule
(`domain/shared/masking.py`) wherever they occur whole in the subject and the payload's texts
(an alert's key names its client too), and a reversal's postings show their ledger accounts
as `mask_subject` does (`client:***0777`). Batches, nodes, users and markets stay.

The stored request is never masked: its content hash binds what the checker approves;
`--evidence` / `?evidence=true` (the policy's `broker.evidence`) lists it whole.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from clearwatch.domain.backoffice.approval_content import break_names_client
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.masking import mask_in, mask_subject
from clearwatch.domain.watch.flow_halts import (
    ANY_COUNTERPARTY,
    FLOW_SUBJECT_PREFIX,
    parse_flow_subject,
)

# The payload fields that hold a client's fund account or an account's number.
IDENTIFYING_FIELDS = ("fund_account", "account", "counterparty")


def request_identifiers(subject_ref: str, payload: dict[str, Any]) -> list[str]:
    """The clients' and accounts' identifiers a request names."""
    found = [str(payload[name]) for name in IDENTIFYING_FIELDS if payload.get(name)]
    check, subject = str(payload.get("check", "")), str(payload.get("subject", ""))
    if check and subject and break_names_client(check, subject):  # a break's resolution
        found.append(subject)
    # A hand-made subject that only looks like a flow's names what its payload names.
    if subject_ref.startswith(FLOW_SUBJECT_PREFIX):
        with suppress(Refused):
            found.append(parse_flow_subject(subject_ref).counterparty)
    return [i for i in found if i != ANY_COUNTERPARTY]


def masked_request(subject_ref: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The subject and payload with the identifiers they name masked (the payload's texts and
    a reversal's postings; its other values are amounts, counts and file names)."""
    named = request_identifiers(subject_ref, payload)
    shown = {
        name: mask_in(value, named) if isinstance(value, str) else value
        for name, value in payload.items()
    }
    if isinstance(payload.get("postings"), list):
        shown["postings"] = [_masked_posting(posting) for posting in payload["postings"]]
    return mask_in(subject_ref, named), shown


def _masked_posting(posting: Any) -> Any:
    """A reversal's posting `[ledger account, asset, quantity]`, its account as
    `mask_subject` shows it."""
    if isinstance(posting, list) and posting and isinstance(posting[0], str):
        return [mask_subject(posting[0]), *posting[1:]]
    return posting
