"""From finding amounts to criteria: problem amount, exact problem ratio, thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from clearwatch.domain.monitor.criteria import Criterion
from clearwatch.domain.monitor.findings import FindingCode
from clearwatch.domain.monitor.thresholds import Rules

RATIO_DECIMALS = 6


def problem_amount_fen(amounts: Mapping[FindingCode, int]) -> int:
    """P = max(F3, F4) + F2 + F1 + F5 + F8 charged to the broker (a gap and its cause once)."""
    f = {code: amounts.get(code, 0) for code in FindingCode}
    return (
        max(f[FindingCode.F3], f[FindingCode.F4])
        + f[FindingCode.F2]
        + f[FindingCode.F1]
        + f[FindingCode.F5]
        + f[FindingCode.F8]
    )


def problem_ratio_text(problem_fen: int, balance_fen: int | None) -> str | None:
    """P / L with six decimals, rounded half-up, computed on integers; None unless L > 0."""
    if balance_fen is None or balance_fen <= 0:
        return None
    scale = 10**RATIO_DECIMALS
    scaled = (2 * problem_fen * scale + balance_fen) // (2 * balance_fen)
    whole, fraction = divmod(scaled, scale)
    return f"{whole}.{fraction:0{RATIO_DECIMALS}d}"


def ratio_reaches(problem_fen: int, balance_fen: int | None, threshold: Fraction) -> bool:
    """P / L ≥ threshold, exactly (no rounding); never when L is not positive."""
    if balance_fen is None or balance_fen <= 0:
        return False
    return Fraction(problem_fen, balance_fen) >= threshold


def amount_criteria(problem_fen: int, affected_accounts: int, rules: Rules) -> set[Criterion]:
    """The criteria every institution shares: G2, A5 on P; A6 on the clients concerned."""
    fired: set[Criterion] = set()
    if problem_fen >= rules.general_problem_amount_fen:
        fired.add(Criterion.G2)
    if problem_fen >= rules.attention_problem_amount_fen:
        fired.add(Criterion.A5)
    if affected_accounts > rules.affected_clients_more_than:
        fired.add(Criterion.A6)
    return fired


def broker_criteria(
    amounts: Mapping[FindingCode, int],
    *,
    unreported_accounts: int = 0,
    balance_fen: int | None,
    affected_accounts: int,
    rules: Rules,
) -> set[Criterion]:
    """Every criterion the broker's findings fire (reporting and reviewer criteria apart).

    `amounts` are the fen of the amount findings; F9 is a count, `unreported_accounts`."""
    f = {code: amounts.get(code, 0) for code in FindingCode}
    problem = problem_amount_fen(f)
    fired = amount_criteria(problem, affected_accounts, rules)
    gap, misappropriated = f[FindingCode.F3] > 0, f[FindingCode.F4] > 0
    checks = {
        Criterion.M1: misappropriated and gap,
        Criterion.M2: ratio_reaches(problem, balance_fen, Fraction(rules.major_problem_ratio)),
        Criterion.G1: gap,
        Criterion.G3: f[FindingCode.F2] > 0,
        Criterion.G4: f[FindingCode.F8] > 0,
        Criterion.G5: f[FindingCode.F5] > 0,
        Criterion.G7: misappropriated and not gap,
        Criterion.A1: f[FindingCode.F6] > 0,
        Criterion.A2: f[FindingCode.F7] > 0,
        Criterion.A3: unreported_accounts > 0,
        Criterion.A4: f[FindingCode.F1] > 0,
    }
    return fired | {criterion for criterion, fires in checks.items() if fires}


def bank_region_criteria(
    fault_action_fen: int, *, affected_accounts: int, rules: Rules
) -> set[Criterion]:
    """A bank's criteria in one branch region: its F8 there is its problem amount."""
    fired = amount_criteria(fault_action_fen, affected_accounts, rules)
    if fault_action_fen > 0:
        fired.add(Criterion.G4)
    return fired


def reporting_criterion_fires(count_through_day: int, occurred_on_day: bool, rules: Rules) -> bool:
    """G6: an occurrence on the day that brings its category's yearly count to the threshold."""
    return occurred_on_day and count_through_day >= rules.reporting_occurrences_for_general
