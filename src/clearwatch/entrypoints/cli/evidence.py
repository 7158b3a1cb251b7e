"""`--evidence` on the back office's listings: its clients' identifiers whole, as allowed.

Every listing that names a broker's clients (alerts, breaks, flow halts, approval requests)
masks them by the one rule, table and `--json` alike. `--evidence` asks the policy
(`broker.evidence`: the operator and the checker of the broker's own back office) before
anything is read, so that a role that never reads the evidence is refused, audited, and shown
nothing; a row of another broker (a replayed market's) stays masked. An allowed read is
audited as `access.evidence_read` (who, their organisation, the command).
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.services.access.authorize import Gate

EVIDENCE_HELP = "Show the clients' and accounts' identifiers unmasked (policy: broker.evidence)."
evidence_option = typer.Option(False, "--evidence", help=EVIDENCE_HELP)


def books_of(broker_id: str) -> Resource:
    return Resource(organisation=f"BO:{broker_id}", institution=broker_id)


def whole_for(gate: Gate, asked: bool, *, read: str) -> Callable[[str], bool]:
    """Whether a broker's rows are shown whole: never unless asked; when asked, the policy
    decides per broker (refused and audited here if it allows the caller none; allowed, the
    read of `read`, the command, is audited too)."""
    if not asked:
        return lambda _broker_id: False
    allows = gate.evidence_lister(Action.BOOKS_EVIDENCE, read=read)
    return lambda broker_id: allows(books_of(broker_id))
