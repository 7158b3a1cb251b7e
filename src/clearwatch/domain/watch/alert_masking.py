"""An alert as shown to someone who did not ask for the evidence: its clients' accounts masked.

An alert's subject (`account:FA…`) and summary name the accounts its evidence names: the
events' accounts (a client's fund account, a special account's number; never CSDC's reserves,
`RESERVE.<market>`) and a special account's other side. Those are masked by the one rule
(`domain/shared/masking.py`), in the key, the subject, the summary and the evidence events.
Batches, markets, nodes and reasons name no client and stay.

The alert's `key` ends with its subject, so it is masked too: the handle a review or a halt
takes is the alert's number (its place among its broker's alerts in the alert log). The alert
log keeps everything whole (the record); `--evidence` / `?evidence=true` (the policy's
`broker.evidence`) shows it whole.
"""

from __future__ import annotations

from typing import Any

from clearwatch.domain.shared.masking import mask_in, mask_subject
from clearwatch.domain.watch.events import EventKind


def alert_accounts(row: dict[str, Any]) -> list[str]:
    """The clients' and accounts' identifiers an alert's row (`alert_to_dict`) names."""
    events = row["evidence"]
    accounts = [e["account"] for e in events if e["kind"] != EventKind.RESERVE_BALANCE]
    accounts += [
        e["counterparty"] for e in events if e["kind"] == EventKind.SPECIAL_ACCOUNT_MOVEMENT
    ]
    return accounts


def masked_alert(row: dict[str, Any]) -> dict[str, Any]:
    """The alert's row with the accounts it names masked in its key, its subject, its summary
    and its evidence events (their account, counterparty and key); the row given is left as
    it is."""
    accounts = alert_accounts(row)
    subject = mask_subject(row["subject"])
    named_by_subject = [row["subject"].partition(":")[2]] if subject != row["subject"] else []
    return {
        **row,
        "key": mask_in(row["key"], accounts + named_by_subject),
        "subject": mask_in(subject, accounts),
        "summary": mask_in(row["summary"], accounts),
        "evidence": [_masked_event(event, accounts) for event in row["evidence"]],
    }


def _masked_event(event: dict[str, Any], accounts: list[str]) -> dict[str, Any]:
    return {
        **event,
        "key": mask_in(event["key"], accounts),
        "account": mask_in(event["account"], accounts),
        "counterparty": mask_in(event["counterparty"], accounts),
    }
