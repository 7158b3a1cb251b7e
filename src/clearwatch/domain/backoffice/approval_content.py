"""What a back-office approval approves, spelled as the request's payload (双人复核 by content).

A maker puts exactly this in the request; its sha256 (`domain/access/approvals.content_sha256`)
is fixed with the request, and applying anything whose content spells otherwise is refused.
"""

from __future__ import annotations

from typing import Any

from clearwatch.domain.backoffice.batch_manifest import BatchManifest
from clearwatch.domain.backoffice.journal import JournalEntry
from clearwatch.domain.shared.money import format_fen


def adjustment_content(*, fund_account: str, amount_fen: int, reason: str) -> dict[str, Any]:
    """A manual cash adjustment: whose cash, by how much (signed), why."""
    return {"fund_account": fund_account, "amount": format_fen(amount_fen), "reason": reason}


def transfer_content(
    *, fund_account: str, direction: str, amount_fen: int, bank_id: str
) -> dict[str, Any]:
    """A bank transfer above the threshold: whose, which way, how much, through which bank."""
    return {
        "fund_account": fund_account,
        "direction": direction,
        "amount": format_fen(amount_fen),
        "bank_id": bank_id,
    }


def correction_content(manifest: BatchManifest) -> dict[str, Any]:
    """A correction batch: the batch it corrects and every file's name, sha256 and rows."""
    return {
        "corrects_batch_id": manifest.corrects_batch_id,
        "files": sorted([f.name, f.sha256, f.rows] for f in manifest.files),
    }


def reversal_content(entry: JournalEntry) -> dict[str, Any]:
    """A reversal (红冲): the key of the entry it reverses and that entry's postings."""
    return {
        "reverses": entry.idempotency_key,
        "postings": sorted([p.account, p.asset, p.quantity] for p in entry.postings),
    }


def status_content(*, fund_account: str, status: str) -> dict[str, Any]:
    """An account status change: which account, to which status."""
    return {"fund_account": fund_account, "status": status}


def freeze_content(*, fund_account: str, amount_fen: int, action: str) -> dict[str, Any]:
    """An amount freeze (`freeze`) or its lifting (`lift`): whose, how much."""
    return {"fund_account": fund_account, "amount": format_fen(amount_fen), "action": action}


def account_subject(broker_id: str, fund_account: str) -> str:
    return f"account:{broker_id}:{fund_account}"


def freeze_subject(broker_id: str, freeze_id: str) -> str:
    return f"freeze:{broker_id}:{freeze_id}"


def break_content(
    *, break_id: int, difference_fen: int, resolution: str, reason: str
) -> dict[str, Any]:
    """A break's resolution: which break, the difference it settles, `matched` or
    `explained`, and the operator's reason."""
    return {
        "break_id": break_id,
        "difference": format_fen(difference_fen),
        "resolution": resolution,
        "reason": reason,
    }


def break_subject(broker_id: str, break_id: int) -> str:
    return f"break:{broker_id}:{break_id}"


# A break's own subject is a client's fund account or a special account's number, except for
# the checks about a market (CSDC's reserve, the net settlement: `services/backoffice/
# reconcile.py`) and the break that counts the rest: those name no client (masking, issue 18).
BREAK_CHECKS_ABOUT_A_MARKET = frozenset({"reserve_vs_csdc", "net_settlement_vs_csdc"})
BREAK_SUBJECT_OF_THE_REST = "*more*"


def break_names_client(check: str, subject: str) -> bool:
    return check not in BREAK_CHECKS_ABOUT_A_MARKET and subject != BREAK_SUBJECT_OF_THE_REST
