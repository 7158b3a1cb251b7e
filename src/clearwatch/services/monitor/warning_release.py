"""Which warnings a caller may read: every one for SIPF, only released ones for anyone else.

A graded warning is `proposed` until a reviewer other than its proposer approves it; only then
is it delivered to its bureau, copied to its institution and, if major, reported to CSRC
(spec platform §5). Until then its existence is SIPF's alone, and a withdrawn one never
leaves SIPF. The policy decides it (`Resource.released`: the bureau's, CSRC's and the
institution's copies' scopes require it); the listing asks the store for released warnings
only when the caller's scope reaches no other, so that nothing unreleased is even loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.services.access.authorize import Gate
from clearwatch.services.monitor.run_ports import StoredWarning


class StoredWarnings(Protocol):
    """Where the warnings are read: a unit of work's `monitor_runs.warnings`, or what a server
    kept of it (`services/shared/generations.py`)."""

    def __call__(
        self,
        *,
        business_date: date | None = ...,
        level: str | None = ...,
        route_to: str | None = ...,
        released_only: bool = ...,
    ) -> Sequence[StoredWarning]: ...


def warning_resource(warning: StoredWarning) -> Resource:
    """What the policy needs of a warning: whose it is, where it goes, whether CSRC gets it,
    whether it is released."""
    return Resource(
        institution=warning.institution_id,
        bureau=warning.route_to,
        special_report=warning.special_report,
        released=warning.released,
    )


def sees_unreleased(sees: Callable[[Resource], bool]) -> bool:
    """An unreleased warning of no institution or bureau in particular: only a scope that
    reaches the whole monitor (SIPF's) reaches it."""
    return sees(Resource(released=False))


def readable_warnings(
    gate: Gate,
    stored: StoredWarnings,
    *,
    business_date: date | None = None,
    level: str | None = None,
    route_to: str | None = None,
) -> list[StoredWarning]:
    """The warnings of each day's latest result the caller may read (PolicyDenied, audited,
    for a role that reads none), read from `stored` (e.g. `uow.monitor_runs.warnings`)."""
    sees = gate.lister(Action.WARNINGS_LIST)
    found = stored(
        business_date=business_date,
        level=level,
        route_to=route_to,
        released_only=not sees_unreleased(sees),
    )
    return [w for w in found if sees(warning_resource(w))]
