"""A sample of the crash harness in every test run: 20 kills, each followed by a re-run that
must end where a clean run ends (`python -m reliability.crash` runs 1,000)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reliability.scenario import Job, MarketSize

from reliability import crash, state

TRIALS = 20
SEED = 20
# One market day (17 operations), small: the kills, not the data, are what is tested here.
SAMPLE_MARKET = MarketSize(days=1, clients=120, executions=600)


def test_twenty_commands_killed_at_random_each_converge_to_the_clean_run(tmp_path: Path) -> None:
    summary = crash.run(
        trials=TRIALS, seed=SEED, work=tmp_path / "crash", size=SAMPLE_MARKET, finish_plan=False
    )
    assert summary["failures"] == []
    assert summary["converged"] == TRIALS
    # The sample is worth something only if it killed each kind of command, mostly mid-way.
    assert {"submit", "run_day", "import", "eod"} <= set(summary["by_job"])
    assert summary["killed"] >= TRIALS // 2


UPLOAD_TRIALS = 6


def test_packages_uploaded_through_the_api_killed_at_random_converge_to_the_clean_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the API's uploads are killed here: the request streamed, unpacked, submitted.
    only_uploads = {job: 1.0 if job is Job.UPLOAD else 0.0 for job in Job}
    monkeypatch.setattr(crash, "JOB_WEIGHTS", only_uploads)
    summary = crash.run(
        trials=UPLOAD_TRIALS, seed=SEED, work=tmp_path / "crash", size=SAMPLE_MARKET,
        finish_plan=False,
    )  # fmt: skip
    assert summary["failures"] == [], summary["failures"]
    assert summary["converged"] == UPLOAD_TRIALS
    assert set(summary["by_job"]) == {"upload"}


def test_a_temporary_file_a_live_writer_left_is_an_orphan_the_check_names(tmp_path: Path) -> None:
    home, columnar = tmp_path / "home", tmp_path / "home" / "columnar"
    (columnar / "tmp").mkdir(parents=True)
    (home / "audit-checkpoints").mkdir()
    (columnar / "tmp" / f"host_{os.getpid()}_x.parquet.part").write_bytes(b"half")
    (home / "audit-checkpoints" / ".000000000007.json.123.tmp").write_bytes(b"half")
    (home / "audit-checkpoints" / "000000000007.json").write_bytes(b"{}")
    assert state.orphans(home, columnar) == [
        "audit-checkpoints/.000000000007.json.123.tmp",
        f"columnar/tmp/host_{os.getpid()}_x.parquet.part",
    ]


def test_a_row_lost_or_doubled_is_a_difference_from_the_clean_run() -> None:
    clean = {"tables": {"bo_entries": [["a"], ["b"]]}, "objects": ["x"], "outputs": {"o": "1"}}
    lost = {"tables": {"bo_entries": [["a"]]}, "objects": ["x"], "outputs": {"o": "1"}}
    doubled = {"tables": {"bo_entries": [["a"], ["b"], ["b"]]}, "objects": ["x"], "outputs": {}}
    assert state.differences(clean, clean) == []
    assert [d.split(":")[0] for d in state.differences(clean, lost)] == ["tables.bo_entries"]
    assert [d.split(":")[0] for d in state.differences(clean, doubled)] == [
        "tables.bo_entries",
        "outputs.o",
    ]
