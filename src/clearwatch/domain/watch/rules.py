"""The watch rules as a value: each rule's level, thresholds, windows and groupings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.domain.shared.money import parse_fen, parse_rate
from clearwatch.domain.watch.alerts import WatchLevel

GROUPINGS = ("account", "counterparty")


class WatchRulesError(ConfigurationError, ValueError):
    """A watch rules document that cannot be watched by: the configured file is wrong."""


@dataclass(frozen=True)
class BurstRule:
    level: WatchLevel
    window_seconds: int
    count_min: int
    amount_min_fen: int
    group_by: tuple[str, ...]
    counterparty_kinds_exempt: frozenset[str]


@dataclass(frozen=True)
class DeductionRule:
    level: WatchLevel
    major_from_fen: int
    reasons: frozenset[str]


@dataclass(frozen=True)
class CounterpartyRule:
    level: WatchLevel
    major_from_fen: int
    expected_kinds: frozenset[str]


@dataclass(frozen=True)
class NodeRule:
    level: WatchLevel
    tolerance_fen: int


@dataclass(frozen=True)
class BatchRule:
    same_content_level: WatchLevel
    different_content_level: WatchLevel


@dataclass(frozen=True)
class ReserveRule:
    level: WatchLevel
    major_from_fen: int
    fee_allowance_per_million: int
    tolerance_fen: int


@dataclass(frozen=True)
class ModelRule:
    seed: int
    history_days_min: int
    client_robust_z_min: Decimal
    client_count_z_min: Decimal  # the same for counts, whose log scale is short
    broker_robust_z_min: Decimal
    mad_floor_share: Decimal
    forest_trees: int
    forest_false_alarms_per_10k: int
    broker_false_alarms_per_10k: int  # per 10,000 broker-days, not account-days
    level: WatchLevel
    top_features: int


@dataclass(frozen=True)
class WatchRules:
    version: str
    content_sha256: str
    burst: BurstRule
    deduction: DeductionRule
    counterparty: CounterpartyRule
    node: NodeRule
    batch: BatchRule
    reserve: ReserveRule
    models: ModelRule

    @property
    def version_ref(self) -> str:
        return f"{self.version}@{self.content_sha256[:12]}"


def watch_rules_from_document(document: Mapping[str, Any], *, content_sha256: str) -> WatchRules:
    """Build WatchRules from a parsed TOML document; anything missing or wrong is named."""
    try:
        rules = WatchRules(
            version=str(document["version"]),
            content_sha256=content_sha256,
            burst=_burst(document["withdrawal_burst"]),
            deduction=_deduction(document["deduction_excess"]),
            counterparty=_counterparty(document["unexpected_counterparty"]),
            node=NodeRule(
                WatchLevel(document["node_divergence"]["level"]),
                parse_fen(str(document["node_divergence"]["tolerance"])),
            ),
            batch=BatchRule(
                WatchLevel(document["batch_again"]["same_content_level"]),
                WatchLevel(document["batch_again"]["different_content_level"]),
            ),
            reserve=_reserve(document["reserve_drain"]),
            models=_models(document["models"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise WatchRulesError(f"watch_rules_must_be_complete: {error!r}") from error
    _check_ranges(rules)
    return rules


def _burst(section: Mapping[str, Any]) -> BurstRule:
    return BurstRule(
        level=WatchLevel(section["level"]),
        window_seconds=int(section["window_seconds"]),
        count_min=int(section["count_min"]),
        amount_min_fen=parse_fen(str(section["amount_min"])),
        group_by=tuple(str(g) for g in section["group_by"]),
        counterparty_kinds_exempt=frozenset(str(k) for k in section["counterparty_kinds_exempt"]),
    )


def _deduction(section: Mapping[str, Any]) -> DeductionRule:
    return DeductionRule(
        level=WatchLevel(section["level"]),
        major_from_fen=parse_fen(str(section["major_from"])),
        reasons=frozenset(str(r) for r in section["reasons"]),
    )


def _counterparty(section: Mapping[str, Any]) -> CounterpartyRule:
    return CounterpartyRule(
        level=WatchLevel(section["level"]),
        major_from_fen=parse_fen(str(section["major_from"])),
        expected_kinds=frozenset(str(k) for k in section["expected_kinds"]),
    )


def _reserve(section: Mapping[str, Any]) -> ReserveRule:
    return ReserveRule(
        level=WatchLevel(section["level"]),
        major_from_fen=parse_fen(str(section["major_from"])),
        fee_allowance_per_million=int(section["fee_allowance_per_million"]),
        tolerance_fen=parse_fen(str(section["tolerance"])),
    )


def _models(section: Mapping[str, Any]) -> ModelRule:
    return ModelRule(
        seed=int(section["seed"]),
        history_days_min=int(section["history_days_min"]),
        client_robust_z_min=parse_rate(str(section["client_robust_z_min"])),
        client_count_z_min=parse_rate(str(section["client_count_z_min"])),
        broker_robust_z_min=parse_rate(str(section["broker_robust_z_min"])),
        mad_floor_share=parse_rate(str(section["mad_floor_share"])),
        forest_trees=int(section["forest_trees"]),
        forest_false_alarms_per_10k=int(section["forest_false_alarms_per_10k_account_days"]),
        broker_false_alarms_per_10k=int(section["broker_false_alarms_per_10k_broker_days"]),
        level=WatchLevel(section["level"]),
        top_features=int(section["top_features"]),
    )


def _check_ranges(rules: WatchRules) -> None:
    burst = rules.burst
    if burst.window_seconds < 1 or burst.count_min < 2 or burst.amount_min_fen < 1:
        raise WatchRulesError("watch_burst_must_have_a_window_and_thresholds")
    if not burst.group_by or set(burst.group_by) - set(GROUPINGS):
        raise WatchRulesError(f"watch_burst_group_by_must_be_among: {', '.join(GROUPINGS)}")
    if rules.node.tolerance_fen < 0 or rules.reserve.tolerance_fen < 0:
        raise WatchRulesError("watch_tolerances_must_not_be_negative")
    if rules.models.history_days_min < 2 or rules.models.top_features < 1:
        raise WatchRulesError("watch_models_need_two_days_of_history_and_one_feature")
