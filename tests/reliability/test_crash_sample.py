"""A sample of the crash harness in every test run: 20 kills, each followed by a re-run that
must end where a clean run ends (`python -m reliability.crash` runs 1,000).

The clean reference run is made once for the module and shared by its trials (it is about as
long as the twenty trials): a trial restores its own store from the reference's snapshots."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability.scenario import Job, MarketSize

from clearwatch.adapters import private_files
from clearwatch.adapters.delivery.blobs import DocumentShelf
from reliability import crash, state

TRIALS = 20
SEED = 20
# One market day (19 operations), small: the kills, not the data, are what is tested here.
SAMPLE_MARKET = MarketSize(days=1, clients=120, executions=600)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[crash.Reference]:
    ref = crash.prepare(tmp_path_factory.mktemp("crash") / "work", SAMPLE_MARKET)
    yield ref
    ref.close()


def test_twenty_commands_killed_at_random_each_converge_to_the_clean_run(
    reference: crash.Reference,
) -> None:
    summary = crash.run(
        trials=TRIALS, seed=SEED, work=reference.work, finish_plan=False, reference=reference
    )
    print(crash.result_line(summary))  # shown with -s: the figure bench/README.md quotes
    assert summary["failures"] == []
    assert summary["converged"] == TRIALS
    # The sample is worth something only if it killed each kind of command, mostly mid-way.
    assert {"submit", "run_day", "import", "eod"} <= set(summary["by_job"])
    assert summary["killed"] >= TRIALS // 2
    # And killed inside the operation's own work, not after it had finished (a random kill
    # is drawn again within the work when the operation finishes first).
    assert summary["killed_inside_work"] >= TRIALS * 3 // 4, crash.result_line(summary)


def test_a_random_kill_due_after_the_operation_finished_is_drawn_again_within_the_work(
    reference: crash.Reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A clean run measured as if at a crushing load: the first delay, drawn within 1,000 s,
    # outlasts the run-day, which finishes; the store is restored and the next delay drawn
    # within the duration that run took.
    run_day = next(i for i, op in enumerate(reference.plan) if op.job is Job.RUN_DAY)
    monkeypatch.setattr(reference, "durations", [1000.0] * len(reference.plan))
    summary = crash.run(
        trials=1, seed=SEED, work=reference.work, finish_plan=False, reference=reference,
        target=crash.Target(run_day, "random"),
    )  # fmt: skip
    assert summary["failures"] == [], summary["failures"]
    assert summary["redrawn"] >= 1
    assert (summary["killed_inside_work"], summary["finished_before_kill"]) == (1, 0)
    journal = reference.work / crash.journal_name(crash.Target(run_day, "random"))
    trial = json.loads(journal.read_text(encoding="utf-8").splitlines()[-1])
    assert trial["landed"] == "inside" and trial["exitcode"] == crash.KILLED
    assert trial["delay"] < reference.durations[run_day] / 10


UPLOAD_TRIALS = 6


def test_packages_uploaded_through_the_api_killed_at_random_converge_to_the_clean_run(
    reference: crash.Reference, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the API's uploads are killed here: the request streamed, unpacked, submitted.
    only_uploads = {job: 1.0 if job is Job.UPLOAD else 0.0 for job in Job}
    monkeypatch.setattr(crash, "JOB_WEIGHTS", only_uploads)
    summary = crash.run(
        trials=UPLOAD_TRIALS, seed=SEED, work=reference.work, finish_plan=False,
        reference=reference,
    )  # fmt: skip
    assert summary["failures"] == [], summary["failures"]
    assert summary["converged"] == UPLOAD_TRIALS
    assert set(summary["by_job"]) == {"upload"}


def test_a_webhook_sent_but_not_recorded_is_sent_again_and_the_receiver_keeps_it_once(
    reference: crash.Reference,
) -> None:
    deliver = next(i for i, op in enumerate(reference.plan) if op.job is Job.DELIVER)
    summary = crash.run(
        trials=1, seed=SEED, work=reference.work, finish_plan=False, reference=reference,
        target=crash.Target(deliver, "point:webhook_sent"),
    )  # fmt: skip
    assert summary["failures"] == [], summary["failures"]
    assert summary["killed"] == 1
    # Sent once before the kill, once by the round run again past the lease: at least once
    # on the wire, kept once by the receiver, recorded delivered once in the store.
    assert summary["webhook_repeats"] == 1


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


def test_a_document_a_killed_round_left_half_written_is_removed_when_the_shelf_opens(
    tmp_path: Path,
) -> None:
    dead = _a_dead_pid()
    folder = tmp_path / "deliveries" / "CN-SH"
    folder.mkdir(parents=True)
    left = folder / f".notice.pdf.{private_files._HOST}_{dead}.tmp"
    left.write_bytes(b"half")
    (folder / "notice.pdf").write_bytes(b"whole")
    DocumentShelf(tmp_path / "deliveries")
    assert sorted(p.name for p in folder.iterdir()) == ["notice.pdf"]
    assert state.orphans(tmp_path, tmp_path / "columnar") == []


def _a_dead_pid() -> int:
    """The pid of a process that has ended: its temporaries are a dead writer's."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
