"""The sweep and the delivery of a month of a 200-broker market (issue 14): throughput.

The state is built directly through the repositories, not by simulating 20 full days (which
would spend an hour in end of days and comparisons that this bench does not measure):

- cases: `uow.cases.open` of one or two cases a broker and business day (F1, and F3 every
  other day: 200 brokers × 20 days ≈ 6,000 cases), each with its real deadline (17:00 of the
  second business day after D), as `open_day_cases` writes them;
- warnings: `notice_payload` of 1,000 synthetic approved warnings (one in twenty major),
  written to the outbox with `uow.outbox.add` exactly as an approval writes them: one inbox
  row per recipient (the bureau, the institution, CSRC for a major one).

Then, on a SQLite store in a temporary directory (nothing leaves the machine):

- the sweep (`cases_sweep.sweep`, regrading off: no day has a result) after the last
  deadline, so every case becomes overdue and counts CARELESS_VERIFICATION; cases/s;
- the delivery worker (`delivery.deliver_due`, rounds of `batch_max`) over the inbox rows;
  deliveries/s;
- documents (PDF + workbook) on a sample of `--documents` deliveries; documents/s.

Each has a baseline in the same run: a bare Core `executemany` of the very rows the service
wrote (events, occurrences, reminders; delivery events and inbox messages), copied into a
second store built the same way, in one transaction; for documents, the renderer alone. The
services also write their audit records (the sweep one, the worker one per delivery); the
baselines do not. Nothing is asserted. Run (the machine is shared):
`nice -n 10 .venv/bin/python bench/cases.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select

from clearwatch.adapters.clock import FixedClock, SystemClock
from clearwatch.adapters.db.monitor.cases_tables import case_events, delivery_events, inbox
from clearwatch.adapters.db.monitor.intake_tables import reporting_occurrences, verbal_reminders
from clearwatch.bootstrap import Application, build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.organisations import SIPF_ID
from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.monitor.cases_notice import (
    Channel,
    WarningStatus,
    delivery_key,
    recipients_of,
)
from clearwatch.domain.monitor.findings import FindingCode
from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar, explanation_deadline_at
from clearwatch.services.access.users import add_user
from clearwatch.services.monitor.cases_ports import NewCase
from clearwatch.services.monitor.cases_sweep import sweep
from clearwatch.services.monitor.delivery import deliver_due
from clearwatch.services.monitor.delivery_approval import notice_payload
from clearwatch.services.monitor.delivery_ports import (
    NewDelivery,
    NewWarningDecision,
    ReviewWarning,
)

MONTH_FIRST = date(2026, 11, 2)
OPENED_AT = datetime(2026, 11, 2, 11, 0, tzinfo=SHANGHAI)
BUREAUS = ("CITY-SH", "CITY-SZ", "CITY-BJ", "CITY-NB", "CITY-XM", "CITY-QD", "CITY-DL")
ADMIN = "bench-admin"
ANALYST = "bench-analyst"
# Bounds: the bench builds its state in memory and in one transaction.
brokers_max = 2_000
days_max = 23
warnings_max = 20_000
documents_max = 20


def _app(home: Path, clock: FixedClock) -> Application:
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'clearwatch.sqlite3'}",
        columnar_root=str(home / "columnar"),
        audit_algorithm=HashAlgorithm.SHA256,
        engine_backend=EngineBackend.DUCKDB,
        audit_key=home / "audit-key" / "ed25519.pem",
    )
    app = build_application(settings, clock)
    app.init_schema(actor="bench")
    for user_id, role, by in ((ADMIN, Role.ADMIN, None), (ANALYST, Role.ANALYST, ADMIN)):
        add_user(
            uow=app.uow(), user_id=user_id, roles=[role], organisation=SIPF_ID, actor=by,
            at=app.real_clock.now(),
        )  # fmt: skip
    return app


def _business_days(days: int) -> tuple[BusinessCalendar, list[date]]:
    calendar = BusinessCalendar.with_holidays(())
    found = list(calendar.business_days_between(MONTH_FIRST, MONTH_FIRST + timedelta(days=40)))
    return calendar, found[:days]


def new_cases(brokers: int, days: int) -> list[NewCase]:
    """F1 on every broker and day, F3 every other one: what a month's runs open."""
    calendar, dates = _business_days(days)
    cases = []
    for d, day in enumerate(dates):
        for b in range(1, brokers + 1):
            codes = (FindingCode.F1, FindingCode.F3) if (b + d) % 2 else (FindingCode.F1,)
            for code in codes:
                cases.append(
                    NewCase(
                        institution_id=f"B{b:03d}", business_date=day, finding_code=code,
                        amount_fen=1_000_00 * (b + d), region=None,
                        bureaus=(BUREAUS[b % len(BUREAUS)],), opened_at=OPENED_AT,
                        opened_by=ANALYST, opened_in_version=1,
                        deadline_at=explanation_deadline_at(calendar, day),
                    )
                )  # fmt: skip
    return cases


def _open(app: Application, cases: list[NewCase]) -> None:
    with app.uow() as uow:
        for case in cases:
            uow.cases.open(case)
        uow.commit()


def _warning(n: int, day: date) -> ReviewWarning:
    major = n % 20 == 0
    b = n % 200 + 1
    evidence = {
        "problem_ratio": "0.012000",
        "findings": [
            {"code": "F1", "type": "CLIENT_FUNDS_MISMATCH", "amount": f"{1000 + n}.00",
             "evidence": {"items_count": 3, "largest": [
                 {"ref": f"C{n:06d}", "amount": f"{1000 + n}.00"}]}},
        ],
    }  # fmt: skip
    return ReviewWarning(
        warning_id=n, business_date=day, result_version=1, latest=True,
        institution_id=f"B{b:03d}", level="major" if major else "attention",
        criteria=("M1",) if major else ("A4",), route_to=BUREAUS[b % len(BUREAUS)],
        cc=f"B{b:03d}", special_report=major, problem_amount_fen=(1000 + n) * 100,
        rules_version="bench", evidence_json=json.dumps(evidence), proposed_by=ANALYST,
        warning_key=f"{n:064x}", status=WarningStatus.APPROVED, decided_by="bench-reviewer",
    )  # fmt: skip


def new_deliveries(warnings: int, days: int, channel: Channel) -> list[NewDelivery]:
    """The outbox rows the approvals of `warnings` warnings write, on one channel."""
    _, dates = _business_days(days)
    rows = []
    for n in range(1, warnings + 1):
        warning = _warning(n, dates[n % len(dates)])
        decision = NewWarningDecision(
            warning, WarningStatus.APPROVED, "bench-reviewer", OPENED_AT, ""
        )
        for recipient in recipients_of(
            route_to=warning.route_to, cc=warning.cc, special_report=warning.special_report
        ):
            key = delivery_key(warning.warning_key, recipient.organisation)
            payload = notice_payload(warning, decision, None, recipient.organisation, key)
            payload["notice"], payload["title"] = recipient.notice.value, recipient.notice.heading
            rows.append(
                NewDelivery(key, warning.warning_key, recipient.organisation, channel,
                            recipient.notice, payload, OPENED_AT)
            )  # fmt: skip
    return rows


def _add(app: Application, rows: list[NewDelivery]) -> None:
    with app.uow() as uow:
        uow.outbox.add(rows)
        uow.commit()


def _rows(app: Application, table: Table, since: int = 0) -> list[dict[str, Any]]:
    """Every row of `table` (past the first `since`), to insert bare elsewhere."""
    with app.engine.connect() as connection:
        found = [dict(r._mapping) for r in connection.execute(select(table))]
    return found[since:]


def _bare_insert(app: Application, copies: dict[Table, list[dict[str, Any]]]) -> float:
    """The baseline: the same rows in one transaction, `executemany`, no service around."""
    started = time.perf_counter()
    with app.engine.begin() as connection:
        for table, rows in copies.items():
            if rows:
                connection.execute(insert(table), rows)
    return time.perf_counter() - started


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _report(label: str, count: int, unit: str, seconds: float, baseline: float) -> None:
    print(
        f"{label:<28} {count:>6,} {unit:<11} {seconds:7.2f} s {count / seconds:9,.1f}/s"
        f"   baseline {baseline:6.2f} s {count / baseline:9,.1f}/s"
        f"   ratio {seconds / baseline:5.1f}"
    )


def bench_sweep(root: Path, brokers: int, days: int) -> None:
    cases = new_cases(brokers, days)
    after = max(c.deadline_at for c in cases) + timedelta(minutes=1)
    swept_app = _app(root / "sweep", FixedClock(after))
    bare_app = _app(root / "sweep-bare", FixedClock(after))
    for app in (swept_app, bare_app):
        _open(app, cases)
    opened = {t: len(_rows(swept_app, t)) for t in (case_events, reporting_occurrences)}
    gate = swept_app.gate(local_caller(ANALYST))
    context = swept_app.cases_context(regrade=False)
    outcome = None

    def run() -> None:
        nonlocal outcome
        outcome = sweep(gate=gate, context=context)

    seconds = _timed(run)
    assert outcome is not None and len(outcome.overdue) == len(cases), "every case overdue"
    copies = {
        case_events: _rows(swept_app, case_events, opened[case_events]),
        reporting_occurrences: _rows(swept_app, reporting_occurrences),
        verbal_reminders: _rows(swept_app, verbal_reminders),
    }
    for rows in copies.values():
        for row in rows:
            row.pop(next(iter(row)))  # the bare insert numbers its own rows
    baseline = _bare_insert(bare_app, copies)
    _report("sweep (all overdue)", len(cases), "cases", seconds, baseline)
    for app in (swept_app, bare_app):
        app.dispose()


def bench_delivery(root: Path, warnings: int, days: int) -> None:
    rows = new_deliveries(warnings, days, Channel.INBOX)
    worked = _app(root / "deliver", FixedClock(OPENED_AT))
    bare = _app(root / "deliver-bare", FixedClock(OPENED_AT))
    for app in (worked, bare):
        _add(app, rows)
    context = worked.delivery_context(clock=SystemClock())
    delivered = 0

    def run() -> None:
        nonlocal delivered
        while (done := deliver_due(context=context, worker="bench-worker")).attempted:
            delivered += done.delivered

    seconds = _timed(run)
    assert delivered == len(rows), f"{delivered} of {len(rows)} delivered"
    copies = {delivery_events: _rows(worked, delivery_events), inbox: _rows(worked, inbox)}
    for table_rows in copies.values():
        for row in table_rows:
            row.pop(next(iter(row)))
    baseline = _bare_insert(bare, copies)
    _report(f"delivery, inbox ({warnings:,} w.)", len(rows), "deliveries", seconds, baseline)
    for app in (worked, bare):
        app.dispose()


def bench_documents(root: Path, sample: int, days: int) -> None:
    rows = new_deliveries(sample, days, Channel.DOCUMENTS)[:sample]
    app = _app(root / "documents", FixedClock(OPENED_AT))
    _add(app, rows)
    context = replace(app.delivery_context(clock=SystemClock()), batch_max=sample)
    context.renderer.pdf(rows[0].payload)  # the font parsed once, as a running worker has it
    seconds = _timed(lambda: deliver_due(context=context, worker="bench-worker"))

    def render() -> None:
        for row in rows:
            context.renderer.pdf(row.payload)
            context.renderer.workbook(row.payload)

    baseline = _timed(render)
    _report("delivery, documents", len(rows), "deliveries", seconds, baseline)
    app.dispose()


def _bounded(limit: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text.replace("_", ""))
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"between 1 and {limit:,}")
        return value

    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=_bounded(brokers_max), default=200)
    parser.add_argument("--days", type=_bounded(days_max), default=20)
    parser.add_argument("--warnings", type=_bounded(warnings_max), default=1_000)
    parser.add_argument("--documents", type=_bounded(documents_max), default=5)
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="cw-bench-cases-") as scratch:
        root = Path(scratch)
        bench_sweep(root, args.brokers, args.days)
        bench_delivery(root, args.warnings, args.days)
        bench_documents(root, args.documents, args.days)
    print(f"load average at end:   {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
