"""An audit record's object ref as listed to someone who did not ask for the evidence.

The refs that name a client or an account put it at a known place: a halted client
(`client:B001/FA…/2026-11-20`), a halted flow (`flow:B001/FA…/<counterparty>`), a break of the
reconciliation (`break:B001:2026-11-20:<check>:<subject>`, unless the check is about a
market), an account's status
(`account:B001:FA…`), an alert (`alert:<rule>/B001/2026-11-20/<subject and suffix>`, the
subject and what follows it masked whole: a suffix may name an event's account). Those parts
are masked by the one rule (`domain/shared/masking.py`); every other ref (a user, a package, a
batch, an approval's number) names no client and stays. The record itself is never changed:
its hash covers the ref whole, and `audit show --evidence` (policy `audit.evidence`) shows it.
"""

from __future__ import annotations

from clearwatch.domain.backoffice.approval_content import BREAK_CHECKS_ABOUT_A_MARKET
from clearwatch.domain.shared.masking import mask, mask_subject

# The parts a ref's kind names clients by: (separator, parts at most, the masked positions).
_CLIENT_PARTS: dict[str, tuple[str, int, tuple[int, ...]]] = {
    "client": ("/", 3, (1,)),
    "flow": ("/", 3, (1, 2)),
    "break": (":", 4, (3,)),
    "account": (":", 2, (1,)),
    "alert": ("/", 4, (3,)),
}
# Parts that are no client whatever their place: a flow to any counterparty, the break that
# counts the rest, an alert about a batch, a reason, a market's reserve.
_NAMES_NO_CLIENT = ("*", "*more*")
_ALERT_SUBJECTS_OF_NO_CLIENT = ("batch:", "reason:", "reserve:")


def masked_object_ref(ref: str) -> str:
    """`ref` with the client or account it names masked; any other ref as it is."""
    kind, colon, rest = ref.partition(":")
    if not colon or kind not in _CLIENT_PARTS:
        return ref
    separator, parts_max, masked = _CLIENT_PARTS[kind]
    parts = rest.split(separator, parts_max - 1)
    if len(parts) != parts_max:  # another shape: a break by its number, an account alone
        return mask_subject(ref)
    if kind == "break" and parts[2] in BREAK_CHECKS_ABOUT_A_MARKET:
        return ref
    shown = [_masked_part(kind, part) if i in masked else part for i, part in enumerate(parts)]
    return f"{kind}:{separator.join(shown)}"


def _masked_part(kind: str, part: str) -> str:
    if part in _NAMES_NO_CLIENT:
        return part
    if kind == "alert":
        if part.startswith(_ALERT_SUBJECTS_OF_NO_CLIENT):
            return part
        subject_kind, colon, value = part.partition(":")
        return f"{subject_kind}:{mask(value)}" if colon else mask(part)
    return mask(part)
