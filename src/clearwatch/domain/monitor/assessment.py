"""The day's assessment: completeness, findings per institution, criteria, routed warnings.

Plain Python over the engine's small aggregates. Missing data is not a difference: what could
not be compared is listed as incomplete, never turned into a finding. Bad data stays with its
sender: an institution whose comparison failed, or whose figures do not fit a result, is
`could_not_compare` with the reason, and every other institution is graded as usual.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from clearwatch.domain.monitor.criteria import Criterion, ReviewerDesignation
from clearwatch.domain.monitor.findings import (
    BrokerAggregates,
    EngineResult,
    Finding,
    FindingCode,
)
from clearwatch.domain.monitor.grading import (
    bank_region_criteria,
    broker_criteria,
    problem_amount_fen,
    problem_ratio_text,
    reporting_criterion_fires,
)
from clearwatch.domain.monitor.registry import Institution, InstitutionKind, RegistrySnapshot
from clearwatch.domain.monitor.reporting import ReportingCategory, ReportingOccurrence
from clearwatch.domain.monitor.routing import RoutedWarning, route_warning
from clearwatch.domain.monitor.thresholds import Rules
from clearwatch.domain.shared.calendar import package_deadline_at
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.domain.shared.money import format_fen

# The largest figure (fen) an institution's result may carry: a 64-bit integer, about 92
# quadrillion yuan, as results and warnings are stored and as other systems read them. Sums are
# exact beyond it (the engine sums in 38 digits), so a larger figure is reported, not wrapped:
# the institution is `could_not_compare` under the rule below.
figure_fen_max = 2**63 - 1
FIGURES_MUST_FIT = "figures_must_fit_a_64_bit_result"

PACKAGE_KIND_OF = {
    InstitutionKind.BROKER: PackageKind.BROKER_DAILY,
    InstitutionKind.BANK: PackageKind.BANK_DAILY,
    InstitutionKind.CSDC: PackageKind.CSDC_DAILY,
}


@dataclass(frozen=True)
class MissingPackage:
    institution_id: str
    kind: PackageKind
    deadline_at: datetime
    late: bool  # the deadline had passed at the run's moment


@dataclass(frozen=True)
class IncompleteItem:
    """Findings that could not be (fully) compared, and the packages that were missing."""

    findings: tuple[FindingCode, ...]
    reason: str
    missing: tuple[tuple[str, PackageKind], ...]  # (institution_id, package kind)


@dataclass(frozen=True)
class Reminder:
    institution_id: str
    category: ReportingCategory
    count_this_year: int


@dataclass(frozen=True)
class InstitutionAssessment:
    institution_id: str
    kind: InstitutionKind
    client_fund_balance_fen: int | None
    problem_amount_fen: int
    problem_ratio: str | None
    findings: tuple[Finding, ...]
    warnings: tuple[RoutedWarning, ...]
    incomplete: tuple[IncompleteItem, ...]
    reporting: tuple[ReportingCategory, ...] = ()  # categories that fired G6
    could_not_compare: str | None = None  # why this institution's data was not compared


@dataclass(frozen=True)
class DayAssessment:
    business_date: date
    rules_version: str
    institutions: tuple[InstitutionAssessment, ...]
    missing_packages: tuple[MissingPackage, ...]
    reminders: tuple[Reminder, ...]

    @property
    def warnings(self) -> tuple[RoutedWarning, ...]:
        return tuple(w for i in self.institutions for w in i.warnings)


@dataclass(frozen=True)
class DayInputs:
    """What the grading of one day needs, all as values."""

    business_date: date
    at: datetime
    registry: RegistrySnapshot
    submitted: frozenset[tuple[str, str]]  # (institution_id, package kind) accepted for the day
    engine: EngineResult
    rules: Rules
    occurrences: Sequence[ReportingOccurrence]  # the calendar year of the day, any dates
    designations: Sequence[ReviewerDesignation] = ()
    # Institutions whose accepted package the engine could not compare, with the reason; their
    # files were left out of the comparison, so the others treat them as not submitted.
    could_not_compare: Mapping[str, str] = field(default_factory=dict)

    @property
    def compared(self) -> frozenset[tuple[str, str]]:
        """The accepted packages that were compared: completeness is judged on these."""
        return frozenset(s for s in self.submitted if s[0] not in self.could_not_compare)


def missing_packages(
    registry: RegistrySnapshot,
    business_date: date,
    submitted: frozenset[tuple[str, str]],
    at: datetime,
) -> tuple[MissingPackage, ...]:
    """Packages due for the day and not accepted; LATE once the deadline (09:00, next business
    day) has passed at the run's moment."""
    calendar = registry.calendar
    if not calendar.is_business_day(business_date):
        return ()
    deadline = package_deadline_at(calendar, business_date)
    return tuple(
        MissingPackage(i.institution_id, PACKAGE_KIND_OF[i.kind], deadline, late=at > deadline)
        for i in sorted(registry.institutions, key=lambda i: i.institution_id)
        if (i.institution_id, PACKAGE_KIND_OF[i.kind]) not in submitted
    )


def assess_day(inputs: DayInputs) -> DayAssessment:
    """Grade every registered institution for the day and route its warnings."""
    reporting = _reporting_by_institution(inputs)
    assessed = []
    for institution in sorted(inputs.registry.institutions, key=lambda i: i.institution_id):
        fired_reporting = reporting.get(institution.institution_id, ())
        failed = inputs.could_not_compare.get(institution.institution_id)
        if failed is not None:
            assessed.append(_not_compared(institution, inputs, fired_reporting, failed))
            continue
        if institution.kind is InstitutionKind.BROKER:
            entry = _assess_broker(institution, inputs, fired_reporting)
        elif institution.kind is InstitutionKind.BANK:
            entry = _assess_bank(institution, inputs, fired_reporting)
        else:
            entry = _assess_other(institution, inputs, fired_reporting)
        too_large = _figure_beyond_limit(entry)
        if too_large is not None:
            limit = format_fen(figure_fen_max)
            reason = f"{FIGURES_MUST_FIT}: {format_fen(too_large)} exceeds {limit}"
            entry = _not_compared(institution, inputs, fired_reporting, reason)
        assessed.append(entry)
    return DayAssessment(
        business_date=inputs.business_date,
        rules_version=inputs.rules.version_ref,
        institutions=tuple(assessed),
        missing_packages=missing_packages(
            inputs.registry, inputs.business_date, inputs.submitted, inputs.at
        ),
        reminders=reminders_of_day(inputs.occurrences, inputs.business_date),
    )


def _count_through(
    occurrences: Iterable[ReportingOccurrence], institution_id: str, category: str, day: date
) -> int:
    return sum(
        1
        for o in occurrences
        if o.institution_id == institution_id
        and o.category == category
        and o.business_date.year == day.year
        and o.business_date <= day
    )


def reminders_of_day(occurrences: Sequence[ReportingOccurrence], day: date) -> tuple[Reminder, ...]:
    """One line per (institution, category) that occurred on the day, with its yearly count."""
    keys = sorted({(o.institution_id, o.category) for o in occurrences if o.business_date == day})
    return tuple(
        Reminder(
            institution,
            ReportingCategory(category),
            _count_through(occurrences, institution, category, day),
        )
        for institution, category in keys
    )


def _reporting_by_institution(inputs: DayInputs) -> dict[str, tuple[ReportingCategory, ...]]:
    """The categories whose occurrence on the day brings the yearly count to the G6 threshold."""
    fired: dict[str, list[ReportingCategory]] = {}
    for reminder in reminders_of_day(inputs.occurrences, inputs.business_date):
        if reporting_criterion_fires(reminder.count_this_year, True, inputs.rules):
            fired.setdefault(reminder.institution_id, []).append(reminder.category)
    return {key: tuple(value) for key, value in fired.items()}


def _designated(inputs: DayInputs, institution_id: str, region: str | None) -> set[Criterion]:
    return {
        d.criterion
        for d in inputs.designations
        if d.institution_id == institution_id and d.region == region
    }


def _designated_by_region(
    institution: Institution, inputs: DayInputs, reporting: tuple[ReportingCategory, ...]
) -> dict[str | None, set[Criterion]]:
    """What does not rest on the day's figures: reviewers' designations (a bank's by the
    branch region its case was about, else its own region) and G6 for a reporting issue (its
    own region). Keys are regions for a bank, None (its registered region) for others."""
    bank = institution.kind is InstitutionKind.BANK
    home = institution.region if bank else None
    by_region: dict[str | None, set[Criterion]] = {}
    for designation in inputs.designations:
        if designation.institution_id == institution.institution_id:
            region = (designation.region or home) if bank else None
            by_region.setdefault(region, set()).add(designation.criterion)
    if reporting:
        by_region.setdefault(home, set()).add(Criterion.G6)
    return by_region


def _submitted_banks(inputs: DayInputs) -> set[str]:
    return {i for i, kind in inputs.compared if kind == PackageKind.BANK_DAILY}


def _broker_completeness(
    broker_id: str, aggregates: BrokerAggregates | None, inputs: DayInputs
) -> tuple[set[FindingCode], list[IncompleteItem]]:
    """Which findings can be reported for the broker, and what could not be compared."""
    banks = _submitted_banks(inputs)
    csdc = [i.institution_id for i in inputs.registry.of_kind(InstitutionKind.CSDC)]
    csdc_in = any((c, PackageKind.CSDC_DAILY) in inputs.compared for c in csdc) or not csdc
    filed_banks = {f.bank_id for f in inputs.registry.special_accounts if f.broker_id == broker_id}
    special_banks = filed_banks | set(aggregates.special_account_banks if aggregates else ())
    client_banks = set(aggregates.client_fund_banks if aggregates else ())
    missing_special = sorted(special_banks - banks)
    missing_client = sorted(client_banks - banks)
    usable = set(FindingCode)
    items: list[IncompleteItem] = []
    if (broker_id, PackageKind.BROKER_DAILY) not in inputs.submitted:
        codes = (
            FindingCode.F1,
            FindingCode.F2,
            FindingCode.F3,
            FindingCode.F4,
            FindingCode.F6,
            FindingCode.F7,
        )
        usable -= set(codes)
        items.append(
            IncompleteItem(
                codes,
                f"{PackageKind.BROKER_DAILY} not received",
                ((broker_id, PackageKind.BROKER_DAILY),),
            )
        )
    if missing_client:
        items.append(
            IncompleteItem(
                (FindingCode.F1, FindingCode.F8),
                "client fund accounts at banks that did not submit were not compared",
                tuple((bank, PackageKind.BANK_DAILY) for bank in missing_client),
            )
        )
    if missing_special:
        items.append(
            IncompleteItem(
                (FindingCode.F3, FindingCode.F4, FindingCode.F5, FindingCode.F6, FindingCode.F9),
                "special accounts at banks that did not submit were not compared",
                tuple((bank, PackageKind.BANK_DAILY) for bank in missing_special),
            )
        )
        usable -= {FindingCode.F3, FindingCode.F4}
    if not csdc_in:
        items.append(
            IncompleteItem(
                (FindingCode.F3, FindingCode.F4, FindingCode.F7),
                "CSDC's settlement reserve was not received",
                tuple((c, PackageKind.CSDC_DAILY) for c in csdc),
            )
        )
        usable -= {FindingCode.F3, FindingCode.F4, FindingCode.F7}
    return usable, items


def _assess_broker(
    institution: Institution, inputs: DayInputs, reporting: tuple[ReportingCategory, ...]
) -> InstitutionAssessment:
    broker_id = institution.institution_id
    aggregates = inputs.engine.brokers.get(broker_id)
    usable, incomplete = _broker_completeness(broker_id, aggregates, inputs)
    findings = tuple(
        finding
        for code, finding in sorted((aggregates.findings if aggregates else {}).items())
        if code in usable and _reportable(finding, inputs.rules)
    )
    amounts = {f.code: f.amount_fen for f in findings if not f.is_count}
    unreported = sum(f.accounts_count for f in findings)
    submitted = (broker_id, PackageKind.BROKER_DAILY) in inputs.submitted
    balance = (
        aggregates.client_fund_balance_fen
        if aggregates and submitted
        else (0 if submitted else None)
    )
    problem = problem_amount_fen(amounts)
    affected = aggregates.affected_accounts if aggregates else 0
    criteria = broker_criteria(
        amounts,
        unreported_accounts=unreported,
        balance_fen=balance,
        affected_accounts=affected,
        rules=inputs.rules,
    )
    if reporting:
        criteria.add(Criterion.G6)
    criteria |= _designated(inputs, broker_id, None)
    warning = route_warning(institution, criteria, region=None, problem_amount_fen=problem)
    return InstitutionAssessment(
        institution_id=broker_id,
        kind=institution.kind,
        client_fund_balance_fen=balance,
        problem_amount_fen=problem,
        problem_ratio=problem_ratio_text(problem, balance),
        findings=findings,
        warnings=(warning,) if warning else (),
        incomplete=tuple(incomplete),
        reporting=reporting,
    )


def _reportable(finding: Finding, rules: Rules) -> bool:
    """F9 when it counts an account; F3 only beyond the tolerance (F1's items were filtered by
    it already); any other finding when its amount is positive."""
    if finding.is_count:
        return finding.items_count > 0
    tolerance = rules.tolerance_fen if finding.code is FindingCode.F3 else 0
    return finding.amount_fen > tolerance


def _assess_bank(
    institution: Institution, inputs: DayInputs, reporting: tuple[ReportingCategory, ...]
) -> InstitutionAssessment:
    bank_id = institution.institution_id
    regions = [r for r in inputs.engine.bank_regions if r.bank_id == bank_id]
    findings = tuple(r.finding for r in regions if r.finding.amount_fen > 0)
    criteria_by_region: dict[str, set[Criterion]] = {}
    amount_by_region: dict[str, int] = {}
    for regional in regions:
        amount = regional.finding.amount_fen
        amount_by_region[regional.branch_region] = amount
        criteria_by_region[regional.branch_region] = bank_region_criteria(
            amount, affected_accounts=regional.affected_accounts, rules=inputs.rules
        )
    for region, designated in _designated_by_region(institution, inputs, reporting).items():
        criteria_by_region.setdefault(region or institution.region, set()).update(designated)
    warnings = tuple(
        w
        for region, criteria in sorted(criteria_by_region.items())
        if (
            w := route_warning(
                institution,
                criteria,
                region=region,
                problem_amount_fen=amount_by_region.get(region, 0),
            )
        )
    )
    incomplete: tuple[IncompleteItem, ...] = ()
    if (bank_id, PackageKind.BANK_DAILY) not in inputs.submitted:
        incomplete = (
            IncompleteItem(
                (FindingCode.F8,),
                f"{PackageKind.BANK_DAILY} not received",
                ((bank_id, PackageKind.BANK_DAILY),),
            ),
        )
    return InstitutionAssessment(
        institution_id=bank_id,
        kind=institution.kind,
        client_fund_balance_fen=None,
        problem_amount_fen=sum(f.amount_fen for f in findings),
        problem_ratio=None,
        findings=findings,
        warnings=warnings,
        incomplete=incomplete,
        reporting=reporting,
    )


def _assess_other(
    institution: Institution, inputs: DayInputs, reporting: tuple[ReportingCategory, ...]
) -> InstitutionAssessment:
    """CSDC: only reporting issues and reviewer designations can warn it."""
    criteria = _designated(inputs, institution.institution_id, None)
    if reporting:
        criteria.add(Criterion.G6)
    warning = route_warning(institution, criteria, region=None, problem_amount_fen=0)
    kind = PACKAGE_KIND_OF[institution.kind]
    incomplete: tuple[IncompleteItem, ...] = ()
    if (institution.institution_id, kind) not in inputs.submitted:
        incomplete = (
            IncompleteItem((), f"{kind} not received", ((institution.institution_id, kind),)),
        )
    return InstitutionAssessment(
        institution_id=institution.institution_id,
        kind=institution.kind,
        client_fund_balance_fen=None,
        problem_amount_fen=0,
        problem_ratio=None,
        findings=(),
        warnings=(warning,) if warning else (),
        incomplete=incomplete,
        reporting=reporting,
    )


def _figure_beyond_limit(entry: InstitutionAssessment) -> int | None:
    """The first figure of the entry beyond `figure_fen_max` (by magnitude), or None."""
    figures = [entry.client_fund_balance_fen or 0, entry.problem_amount_fen]
    for finding in entry.findings:
        figures += [finding.amount_fen, *(item.amount_fen for item in finding.evidence)]
        figures += [
            int(v) for item in finding.evidence for k, v in item.detail if k.endswith("_fen")
        ]
    return next((figure for figure in figures if abs(figure) > figure_fen_max), None)


def _not_compared(
    institution: Institution,
    inputs: DayInputs,
    reporting: tuple[ReportingCategory, ...],
    reason: str,
) -> InstitutionAssessment:
    """An institution whose data could not be compared: no figures, the reason, and whatever
    does not rest on its data (reporting issues, reviewers' designations) still warns it; a
    bank's designation about one branch region (a regional F8 case's M3) goes to that region's
    bureau, as when the day is compared."""
    by_region = _designated_by_region(institution, inputs, reporting)
    routed = (
        route_warning(institution, criteria, region=region, problem_amount_fen=0)
        for region, criteria in sorted(by_region.items(), key=lambda item: item[0] or "")
    )
    warnings = tuple(w for w in routed if w is not None)
    codes: tuple[FindingCode, ...] = {
        InstitutionKind.BROKER: tuple(FindingCode),
        InstitutionKind.BANK: (FindingCode.F8,),
    }.get(institution.kind, ())
    return InstitutionAssessment(
        institution_id=institution.institution_id,
        kind=institution.kind,
        client_fund_balance_fen=None,
        problem_amount_fen=0,
        problem_ratio=None,
        findings=(),
        warnings=warnings,
        incomplete=(IncompleteItem(codes, f"could not compare: {reason}", ()),),
        reporting=reporting,
        could_not_compare=reason,
    )
