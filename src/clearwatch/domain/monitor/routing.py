"""Where warnings go (spec section 5): bureaus by region, copies, special reports."""

from __future__ import annotations

from dataclasses import dataclass

from clearwatch.domain.monitor.criteria import Criterion, Level, highest_level, sorted_criteria
from clearwatch.domain.monitor.registry import Institution, InstitutionKind


@dataclass(frozen=True)
class RoutedWarning:
    """One warning for one institution and bureau, as pushed once approved."""

    institution_id: str
    level: Level
    criteria: tuple[Criterion, ...]
    route_to: str
    cc: str  # every warning is copied to the warned institution
    special_report: bool  # a major warning raises a special report to the national regulator
    problem_amount_fen: int


def route_warning(
    institution: Institution,
    criteria: set[Criterion],
    *,
    region: str | None,
    problem_amount_fen: int,
) -> RoutedWarning | None:
    """The warning for these criteria, or None when none fired.

    A broker's warning goes to its registered region (a Shenzhen broker to CITY-SZ, not CN-GD).
    A bank's goes to the branch region where the problem occurred; `region` None is a reporting
    issue, routed to the registered region like CSDC's.
    """
    level = highest_level(criteria)
    if level is None:
        return None
    route_to = institution.region
    if institution.kind is InstitutionKind.BANK and region is not None:
        route_to = region
    return RoutedWarning(
        institution_id=institution.institution_id,
        level=level,
        criteria=sorted_criteria(criteria),
        route_to=route_to,
        cc=institution.institution_id,
        special_report=level is Level.MAJOR,
        problem_amount_fen=problem_amount_fen,
    )
