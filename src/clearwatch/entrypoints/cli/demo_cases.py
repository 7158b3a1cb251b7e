"""The demo past run-day: explanations, an analyst's review, the sweep, approvals, delivery.

The script is fixed by the cases the runs opened, in (date, institution, finding) order, so
the same market tells the same story:

- the first case is never explained: the sweep at its deadline marks it overdue (one
  CARELESS_VERIFICATION for its institution);
- the largest of the others is explained as a timing difference that the bank's statement
  contradicts: the analyst finds it falsified (M3 joins its day, graded again); the same
  institution's other cases carry the same story and wait for the analyst;
- the last of the others gets a one-line explanation: careless (CARELESS_VERIFICATION);
- every other case is explained with the correction and its voucher, and accepted.

Each explanation is made at 14:00 and decided at 16:00 of the business day after D (before
any deadline); the warnings of every day's latest result are approved by a second analyst at
17:30 of the business day after the last one. Delivery runs on the real clock, inbox always;
PDF and workbook only for the notices of a major warning (at most `demo_documents_max`: a PDF
costs about 1.5 s), the others deferred to `clearwatch cases deliver`; webhooks only when
`CLEARWATCH_WEBHOOKS` configures a receiver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any

from clearwatch.bootstrap import Application, FixedClock
from clearwatch.domain.monitor.cases import Case, CaseStatus
from clearwatch.domain.monitor.cases_notice import Channel, DeliveryEvent, WarningStatus
from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar, package_deadline_at
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.cli.common import console
from clearwatch.entrypoints.cli.demo_people import DemoPeople
from clearwatch.entrypoints.cli.output import Column, listing_table, say
from clearwatch.services.monitor.cases import explain_case, list_cases
from clearwatch.services.monitor.cases_review import decide_case
from clearwatch.services.monitor.cases_sweep import sweep
from clearwatch.services.monitor.delivery import list_deliveries, run_worker
from clearwatch.services.monitor.delivery_approval import approve_warning, review_warnings
from clearwatch.services.monitor.delivery_ports import DeliveryFailed, NoticeRenderer

EXPLAIN_AT = time(14, 0)
DECIDE_AT = time(16, 0)
APPROVE_AT = time(17, 30)
# PDF notices cost about 1.5 s each (font subsetting): the demo renders a handful.
demo_documents_max = 3
# Rounds of the delivery worker; a round that attempts nothing ends it sooner.
demo_worker_rounds_max = 10

# (category, text, responsible party) of each kind of explanation the institutions give.
CAREFUL = ("data_error", "经核实，差异系客户资金台账录入错误，已于次日更正，附更正凭证。", "清算部")
CARELESS = ("other", "系统原因。", "信息技术部")
COVER_STORY = ("timing_difference", "在途资金，次日到账，属时间性差异。", "财务部")

DEFERRED = (
    "deferred by the demo, which renders only a major warning's notices (a PDF costs about "
    "1.5 s): `clearwatch cases deliver` renders it"
)


@dataclass
class CasesLog:
    """What the continuation did, for the summary."""

    overdue: list[str] = field(default_factory=list)
    falsified: list[str] = field(default_factory=list)
    careless: list[str] = field(default_factory=list)
    regraded: list[str] = field(default_factory=list)
    approved: int = 0
    refused: list[str] = field(default_factory=list)
    sweep_skipped: bool = False


@dataclass
class HandfulRenderer:
    """The real notice renderer for a major warning's notices, at most `documents_max`; any
    other notice is deferred (a failed attempt, retried by the next `cases deliver`)."""

    renderer: NoticeRenderer
    documents_max: int
    rendered: int = 0

    def pdf(self, payload: Mapping[str, Any]) -> bytes:
        if not payload.get("special_report") or self.rendered >= self.documents_max:
            raise DeliveryFailed(DEFERRED)
        self.rendered += 1
        return self.renderer.pdf(payload)

    def workbook(self, payload: Mapping[str, Any]) -> bytes:
        return self.renderer.workbook(payload)  # asked only after its PDF was rendered


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


def _label(case: Case) -> str:
    return f"{case.institution_id} {case.business_date} {case.finding_code.value}"


def continue_past_run_day(
    wired: Application, clock: FixedClock, people: DemoPeople, dates: list[str]
) -> CasesLog:
    """Explain, review, sweep, approve and deliver: the Measures after the warning."""
    log = CasesLog()
    context = wired.cases_context()
    with wired.read_uow() as uow:
        registry = uow.registry.current()
    assert registry is not None, "the demo loaded its registry before running any day"
    calendar = registry.calendar
    cases = sorted(
        list_cases(gate=people.analyst(), context=context),
        key=lambda c: (c.business_date, c.institution_id, c.finding_code.value),
    )
    if cases:
        silent, others = cases[0], cases[1:]
        falsified = max(others, key=lambda c: (c.amount_fen, -c.case_id), default=None)
        careless = next((c for c in reversed(others) if c is not falsified), None)
        # A demo run again in its home finds its cases handled: it explains only open ones.
        others = [c for c in others if c.status is CaseStatus.OPEN]
        for case in others:
            story = _story(case, falsified, careless)
            clock.at = _at(calendar.next_business_day(case.business_date), EXPLAIN_AT)
            explain_case(
                case_id=case.case_id, category=story[0], text=story[1],
                responsible_party=story[2], gate=people.officer(case.institution_id),
                context=context,
            )  # fmt: skip
        _review(wired, clock, people, calendar, others, falsified, careless, log)
        # The sweep only while no simulated-out day's packages are due: the market ends.
        last = date.fromisoformat(dates[-1])
        if silent.deadline_at < package_deadline_at(calendar, calendar.next_business_day(last)):
            clock.at = silent.deadline_at
            swept = sweep(gate=people.analyst(), context=context)
            log.overdue += [_label(silent)] if silent.case_id in swept.overdue else []
            log.regraded += [f"{d} v{v}" for d, v in swept.regraded]
        else:
            log.sweep_skipped = True
    clock.at = _at(calendar.next_business_day(date.fromisoformat(dates[-1])), APPROVE_AT)
    _approve(wired, clock, people, log)
    _deliver(wired, people)
    return log


def _story(case: Case, falsified: Case | None, careless: Case | None) -> tuple[str, str, str]:
    """The falsified institution tells its cover story on every case of that day."""
    if falsified is not None and (case.institution_id, case.business_date) == (
        falsified.institution_id,
        falsified.business_date,
    ):
        return COVER_STORY
    return CARELESS if case is careless else CAREFUL


def _review(
    wired: Application,
    clock: FixedClock,
    people: DemoPeople,
    calendar: BusinessCalendar,
    cases: list[Case],
    falsified: Case | None,
    careless: Case | None,
    log: CasesLog,
) -> None:
    """The analyst's decisions: falsified on one, careless on one, the plain ones accepted;
    the falsified institution's other cases of that day wait for the analyst."""
    context = wired.cases_context()
    for case in cases:
        if case is falsified:
            decision, reason = "falsified", "银行流水显示资金划至第三方，说明与事实不符"
        elif case is careless:
            decision, reason = "careless", "说明未列明差异原因，也无更正凭证"
        elif _story(case, falsified, careless) is COVER_STORY:
            continue
        else:
            decision, reason = "accept", "说明与更正凭证一致"
        clock.at = _at(calendar.next_business_day(case.business_date), DECIDE_AT)
        outcome = decide_case(
            case_id=case.case_id, decision=decision, reason=reason,
            gate=people.analyst(), context=context,
        )  # fmt: skip
        if outcome.criterion is not None:
            log.falsified.append(f"{_label(case)} → {outcome.criterion.value}")
        if outcome.counted_careless:
            log.careless.append(_label(case))
        if outcome.result_version is not None and (outcome.criterion or outcome.counted_careless):
            log.regraded.append(f"{case.business_date} v{outcome.result_version}")


def _approve(wired: Application, clock: FixedClock, people: DemoPeople, log: CasesLog) -> None:
    """The second analyst approves every proposed warning of each day's latest result."""
    reviewer = people.reviewer()
    context = wired.delivery_context(clock=clock)  # approved at the replay's business time
    proposed = review_warnings(gate=reviewer, context=context, status=WarningStatus.PROPOSED)
    for warning in proposed:
        try:
            approve_warning(warning_id=warning.warning_id, gate=reviewer, context=context)
        except Refused as refused:  # e.g. the reviewer proposed it: maker-checker holds
            log.refused.append(f"warning {warning.warning_id}: {refused}")
            continue
        log.approved += 1


def _deliver(wired: Application, people: DemoPeople) -> None:
    """The worker's rounds on the real clock until a round attempts nothing."""
    worker = people.delivery_worker()
    context = wired.delivery_context()
    context = replace(context, renderer=HandfulRenderer(context.renderer, demo_documents_max))
    for _ in range(demo_worker_rounds_max):
        done = run_worker(gate=worker, context=context, worker=worker.caller.label)
        if done.attempted == 0:
            return


STATE_LABELS = {
    CaseStatus.OPEN: "待说明",
    CaseStatus.EXPLAINED: "已说明，待审核",
    CaseStatus.OVERDUE: "逾期未说明",
    CaseStatus.ESCALATED: "已升级，待复核",
    CaseStatus.CLOSED_ACCEPTED: "说明已采纳",
    CaseStatus.CLOSED_CARELESS: "核实不认真",
    CaseStatus.CLOSED_FALSIFIED: "虚假说明",
    CaseStatus.CLOSED_ESCALATED: "升级已批准",
}
CHANNEL_LABELS = {
    Channel.INBOX: "站内收件箱",
    Channel.DOCUMENTS: "通知书 PDF + XLSX",
    Channel.WEBHOOK: "签名回调",
}
CASE_STATE_COLUMNS = (
    Column("state", "state"),
    Column("状态", "label"),
    Column("cases", "cases", justify="right"),
)
CHANNEL_COLUMNS = (
    Column("channel", "channel"),
    Column("渠道", "label"),
    Column("delivered", "delivered", justify="right"),
    Column("waiting", "waiting", justify="right"),
    Column("parked", "parked", justify="right"),
)


def print_cases_summary(wired: Application, people: DemoPeople, log: CasesLog) -> None:
    """Cases by state and deliveries by channel, then what the review and the sweep did."""
    analyst = people.analyst()
    states = Counter(c.status for c in list_cases(gate=analyst, context=wired.cases_context()))
    rows = [{"state": s.value, "label": STATE_LABELS[s], "cases": states[s]} for s in CaseStatus]
    console.print(listing_table("Cases by state 核实说明案件", CASE_STATE_COLUMNS, rows))
    deliveries = list_deliveries(gate=analyst, context=wired.delivery_context())
    by_channel: dict[Channel, Counter[str]] = {c: Counter() for c in Channel}
    for d in deliveries:
        done = d.last_event in (DeliveryEvent.DELIVERED, DeliveryEvent.PARKED)
        by_channel[d.channel][d.last_event.value if done and d.last_event else "waiting"] += 1
    rows = [
        {"channel": c.value, "label": CHANNEL_LABELS[c], **{k: counts[k] for k in _COUNTS}}
        for c, counts in by_channel.items()
        if counts or c is not Channel.WEBHOOK  # webhooks only where a receiver is configured
    ]
    console.print(listing_table("Deliveries by channel 预警推送", CHANNEL_COLUMNS, rows))
    if not by_channel[Channel.WEBHOOK]:
        say(console, "webhooks: no receiver configured (CLEARWATCH_WEBHOOKS)")
    _say_log(log, waiting=by_channel[Channel.DOCUMENTS]["waiting"])


_COUNTS = ("delivered", "waiting", "parked")


def _say_log(log: CasesLog, *, waiting: int) -> None:
    for line in log.falsified:
        say(console, f"falsified explanation: {line}")
    for line in log.careless:
        say(console, f"careless explanation: {line} (CARELESS_VERIFICATION)")
    for line in log.overdue:
        say(console, f"overdue at the sweep: {line} (CARELESS_VERIFICATION)")
    if log.sweep_skipped:
        say(console, "sweep skipped: the market ends before the first case's deadline")
    if log.regraded:
        say(console, f"graded again: {', '.join(log.regraded)}")
    say(console, f"warnings approved by a second analyst: {log.approved}")
    for refused in log.refused:
        say(console, ("approval refused", "yellow"), f": {refused}")
    if waiting:
        say(
            console,
            f"documents: a major warning's notices only (≤ {demo_documents_max} PDFs), "
            f"{waiting} deferred to `cases deliver`",
        )
