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
