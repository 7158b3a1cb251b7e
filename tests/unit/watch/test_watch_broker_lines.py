"""The broker baseline's lines and scale floors, on clean z-scores and histories made here."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from clearwatch.adapters.watch.rules_file import load_watch_rules
from clearwatch.domain.watch.features import FEATURES
from clearwatch.services.watch.models import (
    BROKER_SCALE_FLOOR,
    BrokerReference,
    _broker_lines,
    _reference_floors,
    _tail_line,
)

RULES = load_watch_rules()
BUDGET = RULES.models.broker_false_alarms_per_10k  # per 10,000 broker-days


def _clean_z(rows: int, seed: int) -> list[np.ndarray]:
    """Exponential clean z (the tail `_tail_line` fits), the first two features one and the
    same, as a whole desk's two withdrawal counts nearly are."""
    z = np.random.default_rng(seed).exponential(2.0, size=(rows, len(FEATURES)))
    z[:, 1] = z[:, 0]
    return list(z)


def _crossed(lines: np.ndarray, z: list[np.ndarray]) -> int:
    return int(((np.vstack(z) / lines).max(axis=1) > 1.0).sum())


def test_enough_clean_broker_days_share_the_budget_jointly_and_keep_to_it() -> None:
    clean = _clean_z(4_000, seed=1)
    lines = _broker_lines(clean, RULES)
    assert _crossed(lines, clean) * 10_000 <= BUDGET * len(clean)
    # Equal shares spend two on the one withdrawal count: the joint lines sit lower.
    share = BUDGET / len(FEATURES)
    equal = np.array([max(8.0, _tail_line(column, share)) for column in np.vstack(clean).T])
    assert (lines <= equal + 1e-9).all() and (lines < equal).any()
    # Fresh clean days from the same distribution cross them near the budget, not far above.
    fresh = _clean_z(20_000, seed=2)
    assert _crossed(lines, fresh) * 10_000 <= 1.5 * BUDGET * len(fresh)


def test_too_few_clean_broker_days_give_each_feature_an_equal_share() -> None:
    few = _clean_z(36, seed=3)  # one bench market's own: 12 calibration, 24 left out
    lines = _broker_lines(few, RULES)
    assert (lines >= float(RULES.models.broker_robust_z_min)).all()
    assert (lines > np.vstack(few).max(axis=0)).all()  # extrapolated beyond every clean day
    assert _crossed(lines, few) == 0


def _market(spreads: list[float], days: int) -> dict[tuple[str, date], list[int]]:
    """Brokers whose daily sold amount varies by their spread (a share of it), nothing else."""
    rng = np.random.default_rng(7)
    start = date(2026, 11, 2)
    sold = FEATURES.index("sold_fen")
    return {
        (f"B{b:03d}", start + timedelta(days=d)): [
            int(1e9 * np.exp(rng.normal(0, spread))) if j == sold else 0
            for j in range(len(FEATURES))
        ]
        for b, spread in enumerate(spreads)
        for d in range(days)
    }


def test_the_reference_lifts_every_scale_to_its_lower_quartile_of_brokers_spreads() -> None:
    reference = BrokerReference((_market([0.2, 0.3, 0.4, 0.5], days=10),))
    windows = reference.windows(4)
    assert len(windows) == 4 * 6 and all(len(past) == 4 for past, _ in windows)
    floors = _reference_floors(windows)
    sold = FEATURES.index("sold_fen")
    # Every feature but the sold amount is all zeros: the floor stays the broker floor there.
    assert all(floors[j] == BROKER_SCALE_FLOOR for j in range(len(FEATURES)) if j != sold)
    assert BROKER_SCALE_FLOOR < floors[sold] < 0.35  # lifted, below a typical broker's spread
    assert (_reference_floors([]) == BROKER_SCALE_FLOOR).all()
