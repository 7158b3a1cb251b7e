"""Use case: the monitor's daily run — compare, grade, route, and record a result version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from clearwatch.domain.monitor.assessment import (
    DayAssessment,
    DayInputs,
    MissingPackage,
    assess_day,
    missing_packages,
)
from clearwatch.domain.monitor.criteria import ReviewerDesignation
from clearwatch.domain.monitor.findings import (
    EngineRequest,
    EngineResult,
    FilingRow,
    Finding,
    StoredPackageFile,
)
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.monitor.report import (
    DayResult,
    day_body_document,
    day_document,
    day_result,
    finding_document,
)
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.monitor.stored_package import StoredPackage
from clearwatch.domain.monitor.thresholds import Rules
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS
from clearwatch.domain.shared.kinds import AuditAction, PackageKind
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.cases import open_day_cases
from clearwatch.services.monitor.cases_ports import CasesRunUnitOfWorkFactory
from clearwatch.services.monitor.run_ports import (
    ComparisonFailed,
    FindingsEngine,
    MonitorRunUnitOfWork,
    NewRun,
    StoredWarning,
)
from clearwatch.services.shared.ports import Clock, ColumnarStore

LATE_DETAIL = "not accepted by 09:00 Asia/Shanghai of the next business day"


class RunDayError(Refused):
    """The run could not start: the rule that stops it, and what to do or what is missing."""


@dataclass(frozen=True)
class RunDayContext:
    clock: Clock
    uow_factory: CasesRunUnitOfWorkFactory
    columnar: ColumnarStore
    engine: FindingsEngine
    rules: Rules
    # Review decisions raise M3, M4, G7 and A7: the store's (cases) and, for tests, these.
    designations: Callable[[date], Sequence[ReviewerDesignation]] = field(default=lambda _day: ())
    progress: Callable[[str], None] = field(default=lambda _step: None)


@dataclass(frozen=True)
class RunDayOutcome:
    result: DayResult  # the typed result the table, the JSON and the HTML report read
    recorded: bool  # False when an identical result for the same inputs was already stored
    late_recorded: int

    @property
    def result_version(self) -> int:
        return self.result.result_version

    @property
    def document(self) -> dict[str, Any]:
        """The day's JSON (spec section 7), rendered from the typed result."""
        return day_document(self.result)


@dataclass(frozen=True)
class _RunFacts:
    """What identifies and describes one run, besides its result."""

    business_date: date
    at: datetime
    actor: str
    registry: RegistrySnapshot
    packages: tuple[StoredPackage, ...]
    designations: tuple[ReviewerDesignation, ...]


def run_day(*, business_date: date, actor: str, context: RunDayContext) -> RunDayOutcome:
    """Compare the day's accepted packages, grade and route; store a new version if it differs."""
    at = context.clock.now()
    context.progress("reading registry and packages")
    with context.uow_factory() as uow:
        registry = uow.registry.current()
        packages = tuple(uow.packages.latest_accepted(business_date))
        decided = tuple(uow.cases.designations(business_date))
    if registry is None:
        raise RunDayError("registry_must_be_loaded", "run `clearwatch monitor registry load` first")
    registry = registry.filed_by(business_date)
    context.progress(f"comparing {len(packages)} packages on {context.engine.backend}")
    found, could_not_compare = _compare(business_date, registry, packages, context)
    designations = (*decided, *context.designations(business_date))
    facts = _RunFacts(business_date, at, actor, registry, packages, designations)
    context.progress("grading and routing")
    submitted = frozenset((p.institution_id, p.kind) for p in packages)
    with context.uow_factory() as uow:
        late = [m for m in missing_packages(registry, business_date, submitted, at) if m.late]
        late_recorded = _record_late(uow, late, business_date, at)
        assessment = assess_day(
            DayInputs(
                business_date=business_date,
                at=at,
                registry=registry,
                submitted=submitted,
                engine=found,
                rules=context.rules,
                occurrences=[
                    o
                    for o in uow.reporting.occurrences()
                    if o.business_date.year == business_date.year
                ],
                designations=designations,
                could_not_compare=could_not_compare,
            )
        )
        result, recorded = _store_version(uow, assessment, facts, context, late_recorded)
        open_day_cases(uow, result=result, registry=registry, actor=actor, at=at)
        if not recorded and late_recorded:
            _audit_late(uow, late, facts)
        uow.commit()
    return RunDayOutcome(result=result, recorded=recorded, late_recorded=late_recorded)


def _store_version(
    uow: MonitorRunUnitOfWork,
    assessment: DayAssessment,
    facts: _RunFacts,
    context: RunDayContext,
    late_recorded: int,
) -> tuple[DayResult, bool]:
    """The result in its version: the latest one if inputs and result are unchanged, else a
    new version, stored and audited. True when a version was recorded."""
    result = day_result(assessment, rows_max=context.rules.evidence_rows_max)
    input_key = _input_key(facts.packages, context.rules, facts.registry, facts.designations)
    result_sha256 = _sha256(day_body_document(result))
    key = (input_key, result_sha256)
    latest = uow.monitor_runs.latest(facts.business_date)
    if latest is not None and (latest.input_key, latest.result_sha256) == key:
        return replace(result, result_version=latest.result_version), False
    result = replace(result, result_version=(latest.result_version if latest else 0) + 1)
    run = _new_run(result, assessment, facts, context, input_key, result_sha256)
    _record(uow, run, late_recorded=late_recorded, actor=facts.actor, at=facts.at)
    return result, True


def _audit_late(
    uow: MonitorRunUnitOfWork, late: Sequence[MissingPackage], facts: _RunFacts
) -> None:
    """Late packages newly recorded on a rerun that changed nothing else are audited alone."""
    record_audit(
        uow,
        actor=facts.actor,
        action=AuditAction.MONITOR_LATE_RECORDED,
        object_ref=f"monitor_day:{facts.business_date.isoformat()}",
        payload={"late": [[m.institution_id, m.kind] for m in late]},
        recorded_at=facts.at,
    )


def _record_late(
    uow: MonitorRunUnitOfWork, late: Sequence[MissingPackage], business_date: date, at: datetime
) -> int:
    """A LATE occurrence (and its reminder) per package missing past its deadline, once each."""
    return sum(
        uow.reporting.record_occurrence(
            institution_id=m.institution_id,
            category=ReportingCategory.LATE,
            business_date=business_date,
            package_kind=m.kind,
            occurred_at=at,
            detail=LATE_DETAIL,
        )
        for m in late
    )


def _compare(
    business_date: date,
    registry: RegistrySnapshot,
    packages: Sequence[StoredPackage],
    context: RunDayContext,
) -> tuple[EngineResult, dict[str, str]]:
    """The market compared at once; if that fails, bad data stays with its sender.

    Each package is then compared alone, and those that fail alone are left out, with the
    reason, while the rest of the market is compared again. The rerun costs a comparison per
    package, but only on the rare day something failed. When no package fails alone, or every
    one does (the engine itself is broken), or the rest still fails, the run stops.
    """

    def compare(chosen: Sequence[StoredPackage]) -> EngineResult:
        return context.engine.compute(_engine_request(business_date, registry, chosen, context))

    try:
        return compare(packages), {}
    except ComparisonFailed as failure:
        whole = failure
    failed: dict[str, str] = {}
    for package in packages:
        context.progress(f"comparing {package.institution_id} {package.kind} alone")
        try:
            compare((package,))
        except ComparisonFailed as alone:
            failed[package.institution_id] = f"{package.kind}: {alone.reason}"
    if not failed or len(failed) == len({p.institution_id for p in packages}):
        raise RunDayError("comparison_must_complete", whole.reason) from whole
    try:
        return compare([p for p in packages if p.institution_id not in failed]), failed
    except ComparisonFailed as again:
        raise RunDayError("comparison_must_complete", again.reason) from again


def _engine_request(
    business_date: date,
    registry: RegistrySnapshot,
    packages: Sequence[StoredPackage],
    context: RunDayContext,
) -> EngineRequest:
    sources: dict[str, list[StoredPackageFile]] = {}
    for package in sorted(packages, key=lambda p: (p.kind, p.institution_id)):
        for file_spec in PACKAGE_SPECS[package.kind].files:
            digest = package.parquet_digests.get(file_spec.name)
            if digest is None:
                raise RunDayError(
                    "stored_package_must_have_every_file",
                    f"package {package.package_id} lacks {file_spec.name}",
                )
            sources.setdefault(f"{package.kind}/{file_spec.name}", []).append(
                StoredPackageFile(
                    institution_id=package.institution_id, uri=context.columnar.uri(digest)
                )
            )
    kinds = {(p.institution_id, p.kind) for p in packages}
    return EngineRequest(
        business_date=business_date,
        sources={key: tuple(value) for key, value in sources.items()},
        filings=tuple(
            FilingRow(f.account_no, f.bank_id, f.broker_id, f.purpose, f.branch_region)
            for f in registry.special_accounts
        ),
        submitted_broker_ids=frozenset(i for i, k in kinds if k == PackageKind.BROKER_DAILY),
        submitted_bank_ids=frozenset(i for i, k in kinds if k == PackageKind.BANK_DAILY),
        csdc_submitted=any(k == PackageKind.CSDC_DAILY for _, k in kinds),
        tolerance_fen=context.rules.tolerance_fen,
        evidence_rows_max=context.rules.evidence_rows_max,
    )


def _sha256(document: Any) -> str:
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _input_key(
    packages: Sequence[StoredPackage],
    rules: Rules,
    registry: RegistrySnapshot,
    designations: Sequence[ReviewerDesignation],
) -> str:
    """The identity of a run's inputs: package ids, rules version, registry version, decisions."""
    return _sha256(
        {
            "packages": sorted(p.package_id for p in packages),
            "rules": rules.version_ref,
            "registry": registry.version,
            "designations": sorted(
                [d.institution_id, d.criterion.value, d.region or "", d.reference]
                for d in designations
            ),
        }
    )


def _new_run(
    result: DayResult,
    assessment: DayAssessment,
    facts: _RunFacts,
    context: RunDayContext,
    input_key: str,
    result_sha256: str,
) -> NewRun:
    return NewRun(
        business_date=facts.business_date,
        result_version=result.result_version,
        input_key=input_key,
        result_sha256=result_sha256,
        rules_version=context.rules.version_ref,
        registry_version=facts.registry.version,
        package_ids=tuple(sorted(p.package_id for p in facts.packages)),
        engine=context.engine.backend,
        ran_at=facts.at,
        ran_by=facts.actor,
        document_json=json.dumps(day_document(result), ensure_ascii=False),
        warnings=_stored_warnings(
            assessment, result.result_version, context.rules, facts.designations
        ),
    )


def _stored_warnings(
    assessment: DayAssessment,
    version: int,
    rules: Rules,
    designations: Sequence[ReviewerDesignation] = (),
) -> list[StoredWarning]:
    """Each warning with its evidence: the findings behind it, largest items included, and
    the review decisions behind a criterion they added (the case and decision, by reference)."""
    stored = []
    for entry in assessment.institutions:
        for warning in entry.warnings:
            behind: list[Finding] = [
                f for f in entry.findings if f.region in (None, warning.route_to)
            ]
            evidence: dict[str, Any] = {
                "findings": [finding_document(f, rows_max=rules.evidence_rows_max) for f in behind],
                "problem_ratio": entry.problem_ratio,
                "reporting_g6": [category.value for category in entry.reporting],
            }
            decided = [
                [d.criterion.value, d.reference]
                for d in designations
                if d.institution_id == warning.institution_id and d.criterion in warning.criteria
            ]
            if decided:  # only then, so that a day without decisions keeps its evidence
                evidence["decisions"] = decided
            stored.append(
                StoredWarning(
                    business_date=assessment.business_date,
                    result_version=version,
                    institution_id=warning.institution_id,
                    level=warning.level.value,
                    criteria=tuple(c.value for c in warning.criteria),
                    route_to=warning.route_to,
                    cc=warning.cc,
                    special_report=warning.special_report,
                    problem_amount_fen=warning.problem_amount_fen,
                    rules_version=rules.version_ref,
                    evidence_json=json.dumps(evidence, ensure_ascii=False, sort_keys=True),
                )
            )
    return stored


def _record(
    uow: MonitorRunUnitOfWork, run: NewRun, *, late_recorded: int, actor: str, at: datetime
) -> None:
    run_id = uow.monitor_runs.add(run)
    record_audit(
        uow,
        actor=actor,
        action=AuditAction.MONITOR_RUN_DAY,
        object_ref=f"monitor_run:{run.business_date.isoformat()}:v{run.result_version}",
        payload={
            "run_id": run_id,
            "input_key": run.input_key,
            "result_sha256": run.result_sha256,
            "rules_version": run.rules_version,
            "registry_version": run.registry_version,
            "packages": list(run.package_ids),
            "engine": run.engine,
            "warnings": len(run.warnings),
            "late_recorded": late_recorded,
        },
        recorded_at=at,
    )
