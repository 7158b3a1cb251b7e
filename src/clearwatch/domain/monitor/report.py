"""The day's result as typed values, and its JSON document of spec section 7 (exact strings).

`DayResult` is what the run-day table, the JSON and the HTML report all read: the assessment as
reported (a bank's regional F8 parts summed, regions kept apart) in the version it was stored
as. `day_document` renders it as plain dicts; nothing else reads the day by string keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from clearwatch.domain.monitor.assessment import (
    DayAssessment,
    IncompleteItem,
    InstitutionAssessment,
    MissingPackage,
    Reminder,
)
from clearwatch.domain.monitor.findings import EvidenceItem, Finding
from clearwatch.domain.monitor.registry import InstitutionKind
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.monitor.routing import RoutedWarning
from clearwatch.domain.shared.money import format_fen


@dataclass(frozen=True)
class ReportedFinding:
    """One finding code of one institution as reported.

    A bank's F8 comes per branch region; reported, the parts are summed into `finding` (largest
    items across regions, each tagged with its region) and `by_region` keeps each part's fen.
    """

    finding: Finding
    by_region: tuple[tuple[str, int], ...] = ()  # (branch region, amount_fen), by region

    @property
    def largest(self) -> tuple[EvidenceItem, ...]:
        return self.finding.evidence


@dataclass(frozen=True)
class InstitutionResult:
    """One registered institution's line of the day's result."""

    institution_id: str
    kind: InstitutionKind
    client_fund_balance_fen: int | None
    problem_amount_fen: int
    problem_ratio: str | None  # six decimals, exact; None unless the balance is positive
    findings: tuple[ReportedFinding, ...]
    warnings: tuple[RoutedWarning, ...]
    incomplete: tuple[IncompleteItem, ...]
    reporting: tuple[ReportingCategory, ...]  # categories that fired G6
    could_not_compare: str | None = None  # why its data was not compared (bad data, a failure)


@dataclass(frozen=True)
class DayResult:
    """The day's result in one version: what the table, the JSON and the HTML show."""

    business_date: date
    rules_version: str
    institutions: tuple[InstitutionResult, ...]
    missing_packages: tuple[MissingPackage, ...]
    reminders: tuple[Reminder, ...]
    evidence_rows_max: int
    result_version: int = 0  # 0 until the run knows which version it is

    @property
    def warnings(self) -> tuple[RoutedWarning, ...]:
        return tuple(w for i in self.institutions for w in i.warnings)


def reported_findings(
    findings: tuple[Finding, ...], *, rows_max: int
) -> tuple[ReportedFinding, ...]:
    """One entry per finding code; a bank's regional F8 parts are summed, regions kept apart."""
    reported: list[ReportedFinding] = []
    regional: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.region is None:
            reported.append(ReportedFinding(finding))
        else:
            regional.setdefault(finding.code.value, []).append(finding)
    for parts in regional.values():
        evidence = sorted(
            (replace(item, detail=(*item.detail, ("region", part.region or "")))
             for part in parts for item in part.evidence),
            key=lambda item: (-item.amount_fen, item.ref),
        )[:rows_max]  # fmt: skip
        total = replace(
            parts[0],
            amount_fen=sum(p.amount_fen for p in parts),
            items_count=sum(p.items_count for p in parts),
            evidence=tuple(evidence),
            region=None,
        )
        by_region = tuple(sorted((p.region or "", p.amount_fen) for p in parts))
        reported.append(ReportedFinding(total, by_region))
    return tuple(reported)


def institution_result(entry: InstitutionAssessment, *, rows_max: int) -> InstitutionResult:
    return InstitutionResult(
        institution_id=entry.institution_id,
        kind=entry.kind,
        client_fund_balance_fen=entry.client_fund_balance_fen,
        problem_amount_fen=entry.problem_amount_fen,
        problem_ratio=entry.problem_ratio,
        findings=reported_findings(entry.findings, rows_max=rows_max),
        warnings=entry.warnings,
        incomplete=entry.incomplete,
        reporting=entry.reporting,
        could_not_compare=entry.could_not_compare,
    )


def day_result(assessment: DayAssessment, *, rows_max: int, result_version: int = 0) -> DayResult:
    """The assessment as the day's result shows it."""
    return DayResult(
        business_date=assessment.business_date,
        rules_version=assessment.rules_version,
        institutions=tuple(
            institution_result(entry, rows_max=rows_max) for entry in assessment.institutions
        ),
        missing_packages=assessment.missing_packages,
        reminders=assessment.reminders,
        evidence_rows_max=rows_max,
        result_version=result_version,
    )


def finding_figure_text(finding: Finding) -> str:
    """The figure of a finding as the JSON spells it: yuan, or for F9 the number of accounts."""
    return str(finding.items_count) if finding.is_count else format_fen(finding.amount_fen)


def finding_document(finding: Finding, *, rows_max: int) -> dict[str, Any]:
    """A finding with its evidence: the largest items behind it, and how many there were."""
    items = []
    for item in finding.evidence:
        entry: dict[str, Any] = {"ref": item.ref}
        if not finding.is_count:
            entry["amount"] = format_fen(item.amount_fen)
        for key, value in item.detail:
            if key.endswith("_fen"):
                entry[key.removesuffix("_fen")] = format_fen(int(value))
            else:
                entry[key] = value
        items.append(entry)
    evidence: dict[str, Any] = {
        "items_count": finding.items_count,
        "largest": items,
        "largest_rows_max": rows_max,
    }
    document: dict[str, Any] = {
        "code": finding.code.value,
        "type": finding.finding_type.value,
        "amount": finding_figure_text(finding),
        "evidence": evidence,
    }
    if finding.region is not None:
        document["region"] = finding.region
    return document


def reported_finding_document(reported: ReportedFinding, *, rows_max: int) -> dict[str, Any]:
    document = finding_document(reported.finding, rows_max=rows_max)
    if reported.by_region:
        document["evidence"]["by_region"] = {
            region: format_fen(amount_fen) for region, amount_fen in reported.by_region
        }
    return document


def warning_document(warning: RoutedWarning) -> dict[str, Any]:
    return {
        "level": warning.level.value,
        "criteria": [criterion.value for criterion in warning.criteria],
        "route_to": warning.route_to,
        "cc": warning.cc,
        "special_report": warning.special_report,
        "problem_amount": format_fen(warning.problem_amount_fen),
    }


def incomplete_document(item: IncompleteItem) -> dict[str, Any]:
    return {
        "findings": [code.value for code in item.findings],
        "reason": item.reason,
        "missing": [{"institution_id": i, "kind": str(kind)} for i, kind in item.missing],
    }


def institution_document(entry: InstitutionResult, *, rows_max: int) -> dict[str, Any]:
    balance = entry.client_fund_balance_fen
    document: dict[str, Any] = {
        "institution_id": entry.institution_id,
        "kind": entry.kind.value,
        "client_fund_balance": None if balance is None else format_fen(balance),
        "problem_amount": format_fen(entry.problem_amount_fen),
        "problem_ratio": entry.problem_ratio,
        "findings": [reported_finding_document(f, rows_max=rows_max) for f in entry.findings],
        "warnings": [warning_document(w) for w in entry.warnings],
        "incomplete": [incomplete_document(i) for i in entry.incomplete],
        "reporting_g6": [category.value for category in entry.reporting],
    }
    # Only on the rare day it applies, so a normal day's document keeps spec section 7's shape.
    if entry.could_not_compare is not None:
        document["could_not_compare"] = entry.could_not_compare
    return document


def day_body_document(result: DayResult) -> dict[str, Any]:
    """Spec section 7's shape plus rules version and missing packages, without the version:
    the part whose hash tells whether a rerun changed anything."""
    rows_max = result.evidence_rows_max
    return {
        "business_date": result.business_date.isoformat(),
        "rules_version": result.rules_version,
        "institutions": [
            institution_document(entry, rows_max=rows_max) for entry in result.institutions
        ],
        "missing_packages": [
            {
                "institution_id": m.institution_id,
                "kind": str(m.kind),
                "deadline_at": m.deadline_at.isoformat(),
                "late": m.late,
            }
            for m in result.missing_packages
        ],
        "reminders": [
            {
                "institution_id": r.institution_id,
                "category": r.category.value,
                "count_this_year": r.count_this_year,
            }
            for r in result.reminders
        ],
    }


def day_document(result: DayResult) -> dict[str, Any]:
    """The JSON of `run-day` (and of the stored result): the body and its result version."""
    return {**day_body_document(result), "result_version": result.result_version}
