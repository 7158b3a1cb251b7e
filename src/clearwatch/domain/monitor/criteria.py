"""Criteria M1–M4, G1–G7, A1–A7 and the three warning levels (spec section 4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    MAJOR = "major"  # 重大预警
    GENERAL = "general"  # 一般预警
    ATTENTION = "attention"  # 提示关注

    @property
    def rank(self) -> int:
        """Higher is more severe."""
        return {Level.ATTENTION: 1, Level.GENERAL: 2, Level.MAJOR: 3}[self]


class Criterion(StrEnum):
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4 = "M4"
    G1 = "G1"
    G2 = "G2"
    G3 = "G3"
    G4 = "G4"
    G5 = "G5"
    G6 = "G6"
    G7 = "G7"
    A1 = "A1"
    A2 = "A2"
    A3 = "A3"
    A4 = "A4"
    A5 = "A5"
    A6 = "A6"
    A7 = "A7"

    @property
    def level(self) -> Level:
        return {"M": Level.MAJOR, "G": Level.GENERAL, "A": Level.ATTENTION}[self.value[0]]


@dataclass(frozen=True)
class ReviewerDesignation:
    """A reviewer's decision that raises a criterion for an institution on a business date.

    M3 falsified data or explanation; M4 another major anomaly (with a second approver);
    G7 another violation; A7 an error in transferring client funds. For a bank, `region`
    names the branch region concerned; None means the institution's registered region.
    """

    institution_id: str
    criterion: Criterion
    reference: str  # the case or decision that raised it
    region: str | None = None


def highest_level(criteria: Iterable[Criterion]) -> Level | None:
    """The warning's level: the highest of its criteria; no criterion, no warning."""
    levels = [criterion.level for criterion in criteria]
    return max(levels, key=lambda level: level.rank) if levels else None


def sorted_criteria(criteria: Iterable[Criterion]) -> tuple[Criterion, ...]:
    """Major first, then general, then attention; by number within a level."""
    order = list(Criterion)
    return tuple(sorted(set(criteria), key=order.index))
