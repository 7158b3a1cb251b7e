"""A process killed mid-write leaves a temporary file; the next opening of the store removes
it, and never a file a live writer still holds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from clearwatch.adapters import columnar
from clearwatch.adapters.columnar import ParquetStore

KILLED_MID_WRITE = """
import os, signal, sys
import pyarrow as pa
from clearwatch.adapters.columnar import ParquetStore

store = ParquetStore(sys.argv[1])
table = pa.table({"balance": list(range(1000))})
with store.writer(table.schema) as writer:
    writer.write(table)
    os.kill(os.getpid(), signal.SIGKILL)  # a crash before the object is published
"""


def _temporaries(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "tmp").iterdir())


def _dead_pid() -> int:
    probe = subprocess.Popen([sys.executable, "-c", "pass"])
    probe.wait()  # reaped: the pid names no process now
    return probe.pid


def test_a_write_killed_mid_way_leaves_an_orphan_the_next_opening_removes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "col"
    crashed = subprocess.run([sys.executable, "-c", KILLED_MID_WRITE, str(root)], check=False)
    assert crashed.returncode == -9
    assert len(_temporaries(root)) == 1  # the orphan
    ParquetStore(str(root))
    assert _temporaries(root) == []


def test_a_live_writers_file_is_kept_and_a_dead_ones_removed(tmp_path: Path) -> None:
    root = tmp_path / "col"
    store = ParquetStore(str(root))
    host = columnar._HOST
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp / f"{host}_{sleeper.pid}_live{columnar.TEMPORARY_SUFFIX}").write_bytes(b"x")
        (tmp / f"{host}_{_dead_pid()}_dead{columnar.TEMPORARY_SUFFIX}").write_bytes(b"x")
        table = pa.table({"balance": [1, 2, 3]})
        with store.writer(table.schema) as writer:
            writer.write(table)
            ParquetStore(str(root))  # another opening while this process writes
            names = _temporaries(root)
        assert any(n.startswith(f"{host}_{os.getpid()}_") for n in names)  # own write kept
        assert f"{host}_{sleeper.pid}_live{columnar.TEMPORARY_SUFFIX}" in names
        assert not any("_dead" in n for n in names)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_another_hosts_file_is_removed_only_past_the_age_limit(tmp_path: Path) -> None:
    root = tmp_path / "col"
    store = ParquetStore(str(root))
    recent = root / "tmp" / f"elsewhere_123_a{columnar.TEMPORARY_SUFFIX}"
    old = root / "tmp" / f"elsewhere_123_b{columnar.TEMPORARY_SUFFIX}"
    unnamed = root / "tmp" / f"0123abcd{columnar.TEMPORARY_SUFFIX}"  # before pids were named
    (root / "tmp").mkdir()
    for path in (recent, old, unnamed):
        path.write_bytes(b"x")
    long_ago = time.time() - columnar.temporary_age_max_seconds - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(unnamed, (long_ago, long_ago))
    assert store.remove_orphans() == 2
    assert _temporaries(root) == [recent.name]
