"""Detection benchmark: many seeded market days with random faults, through the whole system.

For each fault kind: how often it was injected, how often the monitor's warnings for its target
matched the expectation the simulator's oracle computed from the spec (level, criteria, route),
and how often that level was the catalogue's; plus false general or major warnings (on an
institution no fault touched). Not a test: it prints the table (and a JSON summary).

    .venv/bin/python bench/detection.py --seeds 30            # monitor on simulated packages
    .venv/bin/python bench/detection.py --seeds 10 --with-eod # brokers' packages from their EOD
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.entrypoints.cli.demo import (
    DemoLog,
    load_market_registry,
    run_back_offices,
    run_monitor_day,
    submit_day,
)
from clearwatch.entrypoints.cli.demo_people import DemoPeople
from clearwatch.sim.faults import CATALOGUE, KIND_OF, plan_faults
from clearwatch.sim.simulate import DEFAULT_START, SimParameters, simulate

BANK_TARGETED = {"fault_deduction_bank", "late_package", "broken_package"}
BROKERS, BANKS, CLIENTS, EXECUTIONS = 4, 3, 400, 2_000
FAULTS_PER_MARKET = 3
CLEAN_EVERY = 5  # every fifth market is clean


def _warnings(document: dict[str, Any], institution: str) -> list[tuple[str, tuple[str, ...], str]]:
    return sorted(
        (w["level"], tuple(w["criteria"]), w["route_to"])
        for i in document["institutions"]
        if i["institution_id"] == institution
        for w in i["warnings"]
    )


def _one_market(root: Path, seed: int, with_eod: bool, tally: dict[str, Counter[str]]) -> int:
    """Simulate, submit, run the monitor; count detections. Returns false G/M warnings."""
    chooser = random.Random(seed)
    count = 0 if seed % CLEAN_EVERY == 0 else FAULTS_PER_MARKET
    names = chooser.sample([k.name for k in CATALOGUE], count)
    plans = plan_faults(",".join(names), days=2, brokers=BROKERS, banks=BANKS)
    market = root / f"m{seed}"
    parameters = SimParameters(
        brokers=BROKERS,
        banks=BANKS,
        clients=CLIENTS,
        executions=EXECUTIONS,
        days=2,
        seed=seed,
        faults=plans,
    )
    simulate(parameters, market)
    home = root / f"h{seed}"
    clock = FixedClock(datetime.combine(DEFAULT_START, datetime.min.time(), tzinfo=SHANGHAI))
    app = build_application(
        Settings(
            home,
            f"sqlite:///{home / 'db.sqlite3'}",
            str(home / "columnar"),
            HashAlgorithm.SHA256,
            EngineBackend.DUCKDB,
        ),
        clock,
    )
    app.init_schema()
    people = DemoPeople(app)
    people.admit()
    load_market_registry(app, market)
    log = DemoLog()
    false_alarms = 0
    for day in json.loads((market / "sim.json").read_text())["business_dates"]:
        if with_eod:
            run_back_offices(app, clock, market, day, log)
        submit_day(
            app, clock, market, day, log, people=people, expected_broker_packages=not with_eod
        )
        document = run_monitor_day(app, clock, market, day, people).document
        faults = json.loads((market / day / "faults.json").read_text())
        touched = set()
        for record in faults["faults"]:
            target = record["target"]
            touched |= {record["broker_id"], record["bank_id"], target}
            counts = tally[record["fault"]]
            counts["injected"] += 1
            expected = sorted(
                (w["level"], tuple(w["criteria"]), w["route_to"])
                for i in record["expected"]["institutions"]
                for w in i["warnings"]
            )
            found = _warnings(document, target)
            counts["as expected"] += found == expected
            nominal = KIND_OF[record["fault"]].level
            levels = {w[0] for w in found}
            counts["at catalogue level"] += (levels == {nominal}) or (
                nominal == "none" and not found
            )
        for institution in document["institutions"]:
            if institution["institution_id"] in touched:
                continue
            false_alarms += any(w["level"] in ("major", "general") for w in institution["warnings"])
    return false_alarms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--with-eod", action="store_true")
    args = parser.parse_args()
    tally: dict[str, Counter[str]] = {k.name: Counter() for k in CATALOGUE}
    false_alarms = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, args.seeds + 1):
            false_alarms += _one_market(Path(tmp), seed, args.with_eod, tally)
            print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    print("| fault | injected | as expected (level, criteria, route) | at catalogue level |")
    print("|---|---|---|---|")
    for name, counts in tally.items():
        print(
            f"| `{name}` | {counts['injected']} | {counts['as expected']} | "
            f"{counts['at catalogue level']} |"
        )
    print(f"\nfalse general or major warnings (institutions no fault touched): {false_alarms}")
    print(
        f"{args.seeds} markets × 2 days, {time.perf_counter() - started:.0f} s, "
        f"{'brokers through their EOD' if args.with_eod else 'simulated broker packages'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
