"""Start-up time of `clearwatch --version` and `--help` against a bare `import typer, rich`.

Each command runs `--runs` times in a fresh interpreter, interleaved so that a busy machine
slows all of them alike; the report is the median wall time, peak memory, and the ratio to
the baseline. Run: `.venv/bin/python bench/startup.py --runs 21`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c 'import typer, rich'": [sys.executable, "-c", "import typer, rich"],
    "clearwatch --version": [sys.executable, "-m", "clearwatch.entrypoints.cli", "--version"],
    "clearwatch --help": [sys.executable, "-m", "clearwatch.entrypoints.cli", "--help"],
}
BASELINE = "python -c 'import typer, rich'"


def peak_rss_mib(command: list[str]) -> float:
    """The child's peak resident memory, measured in a child of its own."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    return int(out.stdout) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            seconds[name].append(time.perf_counter() - started)
    baseline = statistics.median(seconds[BASELINE])
    print(f"{'command':<32} {'median s':>9} {'peak MiB':>9} {'× baseline':>11}")
    for name, command in COMMANDS.items():
        median = statistics.median(seconds[name])
        print(f"{name:<32} {median:>9.3f} {peak_rss_mib(command):>9.1f} {median / baseline:>11.2f}")


if __name__ == "__main__":
    main()
