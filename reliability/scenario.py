"""The crash harness's market: a small simulated market and the ordered operations run on it.

The operations are what the back office and the monitor do in a market day, in the order of
the day's clock: load the registry; per broker, import each batch delivered (incident B's
retried deliveries included) and run end of day; submit every package at its scheduled time
(the brokers' own from their end of day, a broken bank package among them); run the day;
approve its warnings and deliver them (inbox, documents, webhooks).
Each operation carries the business time it runs at, so two runs of a plan are the same run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import SimParameters, simulate

# Faults that give the plan more than the happy path: the same trading batch delivered four
# times (incident B), a bank package rejected before its good one, a package after the deadline,
# and client balances the bank disagrees with (a warning for run-day to store and route).
SCENARIO_FAULTS = "duplicate_import,broken_package,late_package,client_mismatch"
HOME_MARK = "{home}"  # an operation's path under the store's home, filled in per run
REGISTRY_AT = time(8, 0)
EOD_AT = time(17, 30)
APPROVE_AFTER = timedelta(minutes=30)  # after the daily run
DELIVER_AFTER = timedelta(minutes=31)
PLAN_NAME = "plan.json"


class Job(StrEnum):
    REGISTRY = "registry"
    IMPORT = "import"
    EOD = "eod"
    SUBMIT = "submit"
    UPLOAD = "upload"  # a package submitted through the HTTP API (`POST /packages`)
    RUN_DAY = "run_day"
    APPROVE = "approve"  # a reviewer approves the day's proposed warnings (the outbox filled)
    DELIVER = "deliver"  # one round of the delivery worker: inbox, documents, webhooks


@dataclass(frozen=True)
class Op:
    """One operation: the job, the business time it runs at, and what it works on."""

    job: Job
    at: str  # ISO 8601 with offset
    path: str = ""  # a directory; HOME_MARK stands for the store's home
    institution: str = ""  # the broker whose books, or the institution that submits
    day: str = ""

    def directory(self, home: Path) -> Path:
        return Path(self.path.replace(HOME_MARK, str(home)))

    @property
    def label(self) -> str:
        where = Path(self.path).name if self.path else ""
        parts = (self.job.value, self.institution, self.day, where)
        return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class MarketSize:
    brokers: int = 2
    banks: int = 2
    clients: int = 300
    executions: int = 2_000
    days: int = 2
    seed: int = 17


def _at(day: str, moment: time) -> str:
    return datetime.combine(date.fromisoformat(day), moment, tzinfo=SHANGHAI).isoformat()


def write_market(root: Path, size: MarketSize) -> list[Op]:
    """Simulate the market under `root/market` and write the plan of operations beside it."""
    market = root / "market"
    faults = plan_faults(SCENARIO_FAULTS, days=size.days, brokers=size.brokers, banks=size.banks)
    params = SimParameters(
        brokers=size.brokers,
        banks=size.banks,
        clients=size.clients,
        executions=size.executions,
        days=size.days,
        seed=size.seed,
        faults=faults,
    )
    simulate(params, market)
    plan = plan_operations(market)
    save_plan(root / PLAN_NAME, plan)
    return plan


def plan_operations(market: Path) -> list[Op]:
    """Every operation of the simulated days, in the order of the business clock."""
    dates = json.loads((market / "sim.json").read_text(encoding="utf-8"))["business_dates"]
    plan = [Op(Job.REGISTRY, _at(dates[0], REGISTRY_AT), str(market / "registry"))]
    for day in dates:
        plan += _back_office_day(market, day)
        schedule = json.loads((market / day / "schedule.json").read_text(encoding="utf-8"))
        for item in schedule["submissions"]:
            path = str(market / day / item["path"])
            if item["kind"] == "broker_daily":  # the broker's own end of day wrote it
                path = f"{HOME_MARK}/out/{item['institution_id']}/{day}/package"
            # The banks' packages come over the HTTP API, the rest from the command line, so
            # that a kill lands in an upload as often as in a submit.
            job = Job.UPLOAD if item["kind"] == "bank_daily" else Job.SUBMIT
            plan.append(Op(job, item["submit_at"], path, item["institution_id"], day))
        plan.append(Op(Job.RUN_DAY, schedule["run_day_at"], day=day))
        plan += _warnings_out(schedule["run_day_at"], day)
    return plan


def _warnings_out(run_day_at: str, day: str) -> list[Op]:
    """After the run, a reviewer approves its warnings and a delivery round sends them."""
    ran = datetime.fromisoformat(run_day_at)
    return [
        Op(Job.APPROVE, (ran + APPROVE_AFTER).isoformat(), day=day),
        Op(Job.DELIVER, (ran + DELIVER_AFTER).isoformat(), day=day),
    ]


def _back_office_day(market: Path, day: str) -> list[Op]:
    """Per broker: each batch but the bank's imported on its own, then the end of day, which
    imports the rest of the inbox and re-imports nothing."""
    at = _at(day, EOD_AT)
    ops: list[Op] = []
    for inbox in sorted((market / day / "broker").iterdir()):
        for batch in sorted(p for p in inbox.iterdir() if p.name != "bank"):
            ops.append(Op(Job.IMPORT, at, str(batch), inbox.name, day))
        ops.append(Op(Job.EOD, at, str(inbox), inbox.name, day))
    return ops


def institutions(registry: Path) -> list[str]:
    """Every institution of a registry directory (who may need to act in the market)."""
    lines = (registry / "institutions.csv").read_text(encoding="utf-8").splitlines()
    return [line.split(",", 1)[0] for line in lines[1:] if line]


def save_plan(path: Path, plan: list[Op]) -> None:
    path.write_text(json.dumps([asdict(op) for op in plan], indent=1) + "\n", encoding="utf-8")


def load_plan(path: Path) -> list[Op]:
    return [
        Op(Job(item["job"]), item["at"], item["path"], item["institution"], item["day"])
        for item in json.loads(path.read_text(encoding="utf-8"))
    ]
