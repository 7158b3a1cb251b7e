"""The concurrency matrix, small: two workers of each kind, one round, on SQLite and PostgreSQL
(`python -m reliability.concurrency` runs more workers and rounds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability import concurrency
from tests.conftest import postgres_url_or_skip

WORKERS = 2
ROUNDS = 1


def _run(backend: str, tmp_path: Path, postgres_url: str | None = None) -> dict[str, object]:
    return concurrency.run(
        backend=backend,
        workers=WORKERS,
        rounds=ROUNDS,
        work=tmp_path / backend,
        postgres_url=postgres_url,
    )


def _check(summary: dict[str, object]) -> None:
    assert summary["problems"] == []
    outcomes = summary["outcomes"]
    assert isinstance(outcomes, dict)
    # Every package was sent twice at once: one accepted and one duplicate each, no more.
    packages = len(concurrency.INSTITUTIONS) * concurrency.DAYS_PER_ROUND
    assert outcomes["submit accepted"] == outcomes["submit duplicate"] == packages
    # One bank batch per date won; every other import of it was a no-op or refused by name.
    assert outcomes["import applied"] == concurrency.DAYS_PER_ROUND + 1  # + the adjustments
    approvals = WORKERS * concurrency.ADJUSTMENTS_PER_MAKER
    assert outcomes["approve approved"] == outcomes["request made"] == approvals


def test_submitters_run_days_importers_and_approvers_at_once_on_sqlite(tmp_path: Path) -> None:
    _check(_run("sqlite", tmp_path))


@pytest.mark.postgres
def test_submitters_run_days_importers_and_approvers_at_once_on_postgres(tmp_path: Path) -> None:
    _check(_run("postgres", tmp_path, postgres_url_or_skip()))


def test_a_worker_that_raises_or_hangs_is_reported_not_lost() -> None:
    tally = concurrency.Tally()

    def broken() -> None:
        raise RuntimeError("a bug in a worker")

    def refused() -> None:
        tally.count("fine")

    concurrency.run_workers([("broken", broken), ("fine", refused)], tally)
    assert tally.outcomes["fine"] == 1
    assert [p.split(" [")[0] for p in tally.problems] == [
        "broken: unhandled RuntimeError: a bug in a worker"
    ]
