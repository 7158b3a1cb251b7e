"""Small simulated markets shared by the simulator's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import SimParameters, SimSummary, simulate

SMALL = {"brokers": 3, "banks": 3, "clients": 900, "executions": 6_000}


def run_small(out: Path, *, faults: str = "", days: int = 2, seed: int = 11) -> SimSummary:
    plans = plan_faults(faults, days=days, brokers=SMALL["brokers"], banks=SMALL["banks"])
    return simulate(SimParameters(**SMALL, days=days, seed=seed, faults=plans), out)


@pytest.fixture(scope="module")
def clean_market(tmp_path_factory: pytest.TempPathFactory) -> SimSummary:
    return run_small(tmp_path_factory.mktemp("clean") / "market", days=3)
