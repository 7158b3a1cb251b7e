"""The monitoring rules as a value: thresholds of the criteria, versioned as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.domain.shared.money import parse_fen, parse_rate


class RulesError(ConfigurationError, ValueError):
    """A rules document that cannot be graded by: the configured rules file is wrong."""


@dataclass(frozen=True)
class Rules:
    """Thresholds of spec section 4; `version` names them in every warning."""

    version: str
    content_sha256: str
    major_problem_ratio: Decimal
    general_problem_amount_fen: int
    attention_problem_amount_fen: int
    affected_clients_more_than: int
    reporting_occurrences_for_general: int
    tolerance_fen: int
    evidence_rows_max: int

    @property
    def version_ref(self) -> str:
        """The version id and the first hex digits of the file, so an edit without a bump shows."""
        return f"{self.version}@{self.content_sha256[:12]}"


def rules_from_document(document: Mapping[str, Any], *, content_sha256: str) -> Rules:
    """Build Rules from a parsed rules document (TOML parsed by the caller)."""
    try:
        thresholds = document["thresholds"]
        evidence = document["evidence"]
        rules = Rules(
            version=str(document["version"]),
            content_sha256=content_sha256,
            major_problem_ratio=parse_rate(str(thresholds["major_problem_ratio"])),
            general_problem_amount_fen=parse_fen(str(thresholds["general_problem_amount"])),
            attention_problem_amount_fen=parse_fen(str(thresholds["attention_problem_amount"])),
            affected_clients_more_than=int(thresholds["affected_clients_more_than"]),
            reporting_occurrences_for_general=int(thresholds["reporting_occurrences_for_general"]),
            tolerance_fen=parse_fen(str(thresholds["tolerance"])),
            evidence_rows_max=int(evidence["rows_max"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise RulesError(f"rules_document_must_be_complete: {error}") from error
    if rules.tolerance_fen < 0 or rules.evidence_rows_max < 1:
        raise RulesError("rules_values_must_be_in_range: tolerance ≥ 0, evidence rows ≥ 1")
    return rules
