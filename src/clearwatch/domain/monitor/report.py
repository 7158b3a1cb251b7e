"""The day's result as the JSON document of spec section 7 (plain dicts, exact strings)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from clearwatch.domain.monitor.assessment import (
    DayAssessment,
    IncompleteItem,
    InstitutionAssessment,
)
from clearwatch.domain.monitor.findings import Finding
from clearwatch.domain.monitor.routing import RoutedWarning
from clearwatch.domain.shared.money import format_fen


def finding_document(finding: Finding, *, rows_max: int) -> dict[str, Any]:
    """A finding with its evidence: the largest items behind it, and how many there were."""
    amount = str(finding.amount_fen) if finding.is_count else format_fen(finding.amount_fen)
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
        "amount": amount,
        "evidence": evidence,
    }
    if finding.region is not None:
        document["region"] = finding.region
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
        "missing": [{"institution_id": i, "kind": kind} for i, kind in item.missing],
    }


def findings_document(findings: tuple[Finding, ...], *, rows_max: int) -> list[dict[str, Any]]:
    """One entry per finding code; a bank's regional F8 parts are summed, regions kept apart."""
    documents: list[dict[str, Any]] = []
    regional: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.region is None:
            documents.append(finding_document(finding, rows_max=rows_max))
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
        document = finding_document(total, rows_max=rows_max)
        document["evidence"]["by_region"] = {
            p.region: format_fen(p.amount_fen) for p in sorted(parts, key=lambda p: p.region or "")
        }
        documents.append(document)
    return documents


def institution_document(entry: InstitutionAssessment, *, rows_max: int) -> dict[str, Any]:
    balance = entry.client_fund_balance_fen
    return {
        "institution_id": entry.institution_id,
        "kind": entry.kind.value,
        "client_fund_balance": None if balance is None else format_fen(balance),
        "problem_amount": format_fen(entry.problem_amount_fen),
        "problem_ratio": entry.problem_ratio,
        "findings": findings_document(entry.findings, rows_max=rows_max),
        "warnings": [warning_document(w) for w in entry.warnings],
        "incomplete": [incomplete_document(i) for i in entry.incomplete],
        "reporting_g6": [category.value for category in entry.reporting],
    }


def day_document(assessment: DayAssessment, *, rows_max: int) -> dict[str, Any]:
    """The JSON of `run-day`: spec section 7's shape, plus rules version and missing packages."""
    return {
        "business_date": assessment.business_date.isoformat(),
        "rules_version": assessment.rules_version,
        "institutions": [
            institution_document(entry, rows_max=rows_max) for entry in assessment.institutions
        ],
        "missing_packages": [
            {
                "institution_id": m.institution_id,
                "kind": m.kind,
                "deadline_at": m.deadline_at.isoformat(),
                "late": m.late,
            }
            for m in assessment.missing_packages
        ],
        "reminders": [
            {
                "institution_id": r.institution_id,
                "category": r.category.value,
                "count_this_year": r.count_this_year,
            }
            for r in assessment.reminders
        ],
    }
