"""Same seed, same bytes; another seed, another market."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.unit.sim.conftest import run_small


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_two_runs_with_the_same_seed_write_identical_files(tmp_path: Path) -> None:
    faults = "misappropriation,duplicate_import,timing_difference,broken_package"
    run_small(tmp_path / "a", faults=faults)
    run_small(tmp_path / "b", faults=faults)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(first) > 40
    assert first == second


def test_another_seed_gives_other_executions(tmp_path: Path) -> None:
    run_small(tmp_path / "a", seed=1, days=1)
    run_small(tmp_path / "b", seed=2, days=1)
    path = "2026-11-16/broker/B001/trading/executions.csv"
    assert _digests(tmp_path / "a")[path] != _digests(tmp_path / "b")[path]
