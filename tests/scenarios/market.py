"""Run a simulated market through the whole system: back offices, submissions, monitor."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import Settings
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.entrypoints.cli.demo import (
    DemoLog,
    MonitorDay,
    load_market_registry,
    run_back_offices,
    run_monitor_day,
    submit_day,
)
from clearwatch.entrypoints.cli.demo_people import DemoPeople
from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import DEFAULT_START, SimParameters, SimSummary, simulate

AMOUNT_KEYS = ("client_fund_balance", "problem_amount", "problem_ratio")
SMALL = {"brokers": 1, "banks": 2, "clients": 120, "executions": 500}


@dataclass
class Run:
    """A simulated market after it went through the system."""

    market: Path
    app: Application
    clock: FixedClock
    summary: SimSummary
    people: DemoPeople
    log: DemoLog = field(default_factory=DemoLog)

    @property
    def dates(self) -> list[str]:
        return [d.isoformat() for d in self.summary.business_dates]

    def faults(self, day: str) -> dict[str, Any]:
        return json.loads((self.market / day / "faults.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def monitor(self, day: str) -> MonitorDay:
        return run_monitor_day(self.app, self.clock, self.market, day, self.people)

    def schedule(self, day: str) -> dict[str, Any]:
        return json.loads((self.market / day / "schedule.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def new_app(home: Path) -> tuple[Application, FixedClock]:
    clock = FixedClock(datetime.combine(DEFAULT_START, time(8), tzinfo=SHANGHAI))
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'clearwatch.sqlite3'}",
        columnar_root=str(home / "columnar"),
        audit_algorithm="sha256",
        engine_backend="duckdb",
    )
    app = build_application(settings, clock)
    app.init_schema()
    return app, clock


def run_market(
    root: Path,
    *,
    faults: str = "",
    days: int = 1,
    seed: int = 5,
    back_office: bool = True,
    size: dict[str, int] | None = None,
) -> Run:
    """Simulate, load the registry, and for each day run EOD and submit as scheduled."""
    params = {**SMALL, **(size or {})}
    plans = plan_faults(faults, days=days, brokers=params["brokers"], banks=params["banks"])
    market = root / "market"
    summary = simulate(SimParameters(**params, days=days, seed=seed, faults=plans), market)
    app, clock = new_app(root / "home")
    people = DemoPeople(app)
    people.admit()
    run = Run(market, app, clock, summary, people)
    load_market_registry(app, market)
    for day in run.dates:
        if back_office:
            run_back_offices(app, clock, market, day, run.log)
        submit_day(
            app,
            clock,
            market,
            day,
            run.log,
            people=people,
            expected_broker_packages=not back_office,
        )
    return run


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def outcome(document: dict[str, Any]) -> dict[str, Any]:
    """The comparable part of a run-day document: findings and warnings per institution."""
    institutions = {}
    for institution in document["institutions"]:
        findings = sorted(
            (f["code"], f["amount"]) for f in institution["findings"] if f["code"] != "F9"
        )
        warnings = sorted(
            (w["level"], tuple(w["criteria"]), w["route_to"], bool(w["special_report"]))
            for w in institution["warnings"]
        )
        if findings or warnings:
            institutions[institution["institution_id"]] = {
                "findings": findings,
                "warnings": warnings,
                **{
                    key: institution.get(key)
                    for key in AMOUNT_KEYS
                    if institution["kind"] == "broker" or key == "problem_amount"
                },
            }
    reminders = sorted(
        (r["institution_id"], r["category"], r["count_this_year"])
        for r in document.get("reminders", [])
    )
    return {"institutions": institutions, "reminders": reminders}
