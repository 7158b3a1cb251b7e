"""`clearwatch cases`: verification cases, the deadline sweep, warning approval and delivery.

Every command signs the caller in (`signed_in`) and hands the gate to the use case, which asks
the policy for what it touches. `--at` (replay mode only) sets the business time of a sweep.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from clearwatch.domain.monitor.cases import Case, CaseEvent, CaseStatus
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.domain.monitor.reminders import BureauReminder
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.cli.common import application, console, fail, signed_in
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    level_style,
    local_time,
    print_json,
    print_listing,
    say,
    status_style,
    wide_option,
)
from clearwatch.services.monitor.cases import (
    attachment_bytes,
    explain_case,
    list_cases,
    show_case,
)
from clearwatch.services.monitor.cases_review import approve_escalation, decide_case
from clearwatch.services.monitor.cases_sweep import sweep
from clearwatch.services.monitor.delivery import list_deliveries, read_inbox, run_worker
from clearwatch.services.monitor.delivery_approval import (
    approve_warning,
    review_warnings,
    withdraw_warning,
)
from clearwatch.services.monitor.reminder_ports import ReminderContext
from clearwatch.services.monitor.reminders import list_reminders, mark_reminder_done

cases_app = typer.Typer(
    help="Verification cases (核实说明), warning approval and delivery (预警推送).",
    no_args_is_help=True,
)
warnings_app = typer.Typer(
    help="Graded warnings awaiting a second analyst: list, approve, withdraw.",
    no_args_is_help=True,
)
cases_app.add_typer(warnings_app, name="warnings")
reminders_app = typer.Typer(
    help="Verbal reminders (口头提醒): the bureau's tasks, with due times; mark one done.",
    no_args_is_help=True,
)
cases_app.add_typer(reminders_app, name="reminders")

worker_interval_seconds_default = 10


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD") from error


def _status(text: str | None) -> CaseStatus | None:
    if text is None:
        return None
    try:
        return CaseStatus(text)
    except ValueError as error:
        raise typer.BadParameter(f"--status must be one of {', '.join(CaseStatus)}") from error


CASE_COLUMNS = (
    Column("case", "case_id", justify="right"),
    Column("institution", "institution_id"),
    Column("date", "business_date"),
    Column("finding", "finding_code"),
    Column("amount", "amount", justify="right"),
    Column("status", "status", style=status_style),
    Column("deadline", "deadline_at", show=local_time),
    Column("bureaus", "bureaus", wide=True),
    Column("version", "opened_in_version", wide=True, justify="right"),
)


def _case_row(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "institution_id": case.institution_id,
        "business_date": case.business_date.isoformat(),
        "finding_code": case.finding_code.value,
        "amount": format_fen(case.amount_fen),
        "status": case.status.value,
        "deadline_at": case.deadline_at,
        "bureaus": " ".join(case.bureaus),
        "opened_in_version": case.opened_in_version,
    }


@cases_app.command("list")
def list_command(
    business_date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD.")] = None,
    institution: Annotated[str | None, typer.Option("--institution")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open, overdue, …")] = None,
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """The cases you may read, with their status and deadline (Asia/Shanghai)."""
    wired = application()
    found = list_cases(
        gate=signed_in(wired),
        context=wired.cases_context(regrade=False),
        business_date=_date(business_date),
        institution_id=institution,
        status=_status(status),
    )
    rows = [_case_row(case) for case in found]
    print_listing(console, "Cases 核实说明", CASE_COLUMNS, rows, wide=wide, as_json=as_json)


def _event_row(event: CaseEvent) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": event.seq,
        "move": event.move.value,
        "status": event.status.value,
        "actor": event.actor,
        "at": event.at,
        "reason": event.reason,
        "criterion": None if event.criterion is None else event.criterion.value,
    }
    if event.explanation is not None:
        row["explanation"] = asdict(event.explanation)
    return row


EVENT_COLUMNS = (
    Column("#", "seq", justify="right"),
    Column("move", "move"),
    Column("status", "status", style=status_style),
    Column("who", "actor"),
    Column("when", "at", show=local_time),
    Column("criterion", "criterion"),
    Column("why", "reason", whole=False),
)


@cases_app.command("show")
def show_command(
    case_id: Annotated[int, typer.Argument(help="The case number.")],
    as_json: bool = json_option,
) -> None:
    """One case with its whole timeline: who, when, why; explanations and attachments."""
    wired = application()
    case, events = show_case(
        case_id=case_id, gate=signed_in(wired), context=wired.cases_context(regrade=False)
    )
    if as_json:
        print_json({"case": _case_row(case), "timeline": [_event_row(e) for e in events]})
        return
    print_listing(console, f"Case {case_id} 核实说明", CASE_COLUMNS, [_case_row(case)])
    print_listing(console, "Timeline", EVENT_COLUMNS, [_event_row(e) for e in events])
    for event in events:
        if event.explanation is not None:
            e = event.explanation
            say(console, f"#{event.seq} {e.category.value} — {e.responsible_party}: {e.text}")
            for a in e.attachments:
                say(console, f"  attachment {a.name} ({a.size_bytes} B) sha256 {a.sha256}")


@cases_app.command("explain")
def explain_command(
    case_id: Annotated[int, typer.Argument(help="The case number.")],
    category: Annotated[
        str,
        typer.Option(help="timing_difference, data_error, operational_error, misconduct or other."),
    ],
    text: Annotated[str, typer.Option(help="The explanation (核实说明).")],
    party: Annotated[str, typer.Option("--party", help="The responsible party.")],
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", help="A file to attach (repeatable).")
    ] = None,
) -> None:
    """Explain a case of your institution (officer), also one past its deadline."""
    attachments = []
    for path in attach or []:
        if not path.is_file():
            raise fail(f"{path} is not a file", 2)
        attachments.append((path.name, path.read_bytes()))
    wired = application()
    outcome = explain_case(
        case_id=case_id,
        category=category,
        text=text,
        responsible_party=party,
        attachments=attachments,
        gate=signed_in(wired),
        context=wired.cases_context(),
    )
    note = " (its deadline had passed: counted overdue first)" if outcome.counted_overdue else ""
    say(console, f"case {case_id} {outcome.case.status.value}{note}")


@cases_app.command("decide")
def decide_command(
    case_id: Annotated[int, typer.Argument(help="The case number.")],
    decision: Annotated[str, typer.Argument(help="accept, careless, falsified or escalate.")],
    reason: Annotated[str, typer.Option(help="Why: kept on the case's timeline.")],
    criterion: Annotated[str | None, typer.Option(help="For escalate: M4, G7 or A7.")] = None,
) -> None:
    """Review an explained case (analyst or reviewer); falsified adds M3 to its day."""
    wired = application()
    outcome = decide_case(
        case_id=case_id,
        decision=decision,
        reason=reason,
        criterion=criterion,
        gate=signed_in(wired),
        context=wired.cases_context(),
    )
    _say_decision(case_id, outcome.case.status.value, outcome.criterion, outcome.result_version)
    if outcome.counted_careless:
        say(console, f"{outcome.case.institution_id}: CARELESS_VERIFICATION counted")


def _say_decision(case_id: int, status: str, criterion: Any, version: int | None) -> None:
    added = "" if criterion is None else f"; {criterion} added"
    graded = "" if version is None else f"; the day graded again: result version {version}"
    say(console, f"case {case_id} {status}{added}{graded}")


@cases_app.command("approve")
def approve_command(
    case_id: Annotated[int, typer.Argument(help="The escalated case.")],
    reason: Annotated[str, typer.Option(help="Why the escalation stands.")],
) -> None:
    """Approve an escalation (a reviewer who did not escalate it): its criterion counts."""
    wired = application()
    outcome = approve_escalation(
        case_id=case_id, reason=reason, gate=signed_in(wired), context=wired.cases_context()
    )
    _say_decision(case_id, outcome.case.status.value, outcome.criterion, outcome.result_version)


@cases_app.command("attachment")
def attachment_command(
    case_id: Annotated[int, typer.Argument(help="The case number.")],
    sha256: Annotated[str, typer.Argument(help="The attachment's sha256 (from `cases show`).")],
    out: Annotated[Path, typer.Option("--out", help="Write the file here.")],
) -> None:
    """Save an attachment of a case you may read."""
    wired = application()
    data = attachment_bytes(
        case_id=case_id,
        sha256=sha256,
        gate=signed_in(wired),
        context=wired.cases_context(regrade=False),
    )
    out.write_bytes(data)
    say(console, f"{len(data)} bytes written to {out}", whole=True)


@cases_app.command("sweep")
def sweep_command(
    at: Annotated[
        str | None, typer.Option("--at", help="Replay: the sweep's business time (ISO 8601).")
    ] = None,
) -> None:
    """Mark open cases past their deadline overdue and missing packages LATE; idempotent."""
    wired = application(at)
    outcome = sweep(gate=signed_in(wired), context=wired.cases_context())
    late = ", ".join(f"{i} {k} {d}" for i, k, d in outcome.late) or "none"
    say(console, f"sweep at {local_time(outcome.at)}: {len(outcome.overdue)} case(s) overdue; "
        f"late packages: {late}")  # fmt: skip
    for day, version in outcome.regraded:
        say(console, f"{day}: graded again, result version {version}")
    if not outcome.recorded:
        say(console, "nothing new")


WARNING_COLUMNS = (
    Column("id", "warning_id", justify="right"),
    Column("date", "business_date"),
    Column("v", "result_version", justify="right", wide=True),
    Column("institution", "institution_id"),
    Column("level", "level", style=level_style),
    Column("criteria", "criteria", whole=False),
    Column("bureau", "route_to"),
    Column("problem", "problem_amount", justify="right"),
    Column("status", "status", style=status_style),
    Column("proposed by", "proposed_by", wide=True),
    Column("decided by", "decided_by", wide=True),
)


@warnings_app.command("list")
def warnings_list(
    business_date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="proposed, approved or withdrawn.")
    ] = None,
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """The warnings of each day's latest result, with their approval status."""
    try:
        wanted = None if status is None else WarningStatus(status)
    except ValueError as error:
        raise typer.BadParameter("--status must be proposed, approved or withdrawn") from error
    wired = application()
    found = review_warnings(
        gate=signed_in(wired),
        context=wired.delivery_context(),
        business_date=_date(business_date),
        status=wanted,
    )
    rows = [
        {
            "warning_id": w.warning_id,
            "business_date": w.business_date.isoformat(),
            "result_version": w.result_version,
            "institution_id": w.institution_id,
            "level": w.level,
            "criteria": " ".join(w.criteria),
            "route_to": w.route_to,
            "problem_amount": format_fen(w.problem_amount_fen),
            "status": w.status.value,
            "proposed_by": w.proposed_by,
            "decided_by": w.decided_by,
        }
        for w in found
    ]
    print_listing(console, "Warnings 预警审批", WARNING_COLUMNS, rows, wide=wide, as_json=as_json)


@warnings_app.command("approve")
def warnings_approve(
    warning_id: Annotated[int, typer.Argument(help="The warning's id (`warnings list`).")],
) -> None:
    """Approve a proposed warning (a reviewer, never its proposer): it goes to the outbox."""
    wired = application()
    outcome = approve_warning(
        warning_id=warning_id, gate=signed_in(wired), context=wired.delivery_context()
    )
    say(console, f"warning {warning_id} approved; {outcome.deliveries} delivery(ies) queued")


@warnings_app.command("withdraw")
def warnings_withdraw(
    warning_id: Annotated[int, typer.Argument(help="The warning's id (`warnings list`).")],
    reason: Annotated[str, typer.Option(help="Why it is withdrawn.")],
) -> None:
    """Withdraw a proposed warning, with a reason: it is never delivered."""
    wired = application()
    withdraw_warning(
        warning_id=warning_id,
        reason=reason,
        gate=signed_in(wired),
        context=wired.delivery_context(),
    )
    say(console, f"warning {warning_id} withdrawn")


@cases_app.command("deliver")
def deliver_command(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    interval: Annotated[
        int, typer.Option(help="Seconds between rounds when running on.")
    ] = worker_interval_seconds_default,
) -> None:
    """The delivery worker: inbox, signed webhooks, PDF and workbook; retries, parks."""
    wired = application()
    gate = signed_in(wired)
    context = wired.delivery_context()
    while True:
        done = run_worker(gate=gate, context=context, worker=gate.caller.label)
        say(console, f"attempted {done.attempted}: delivered {done.delivered}, "
            f"failed {done.failed}, parked {done.parked}")  # fmt: skip
        if once:
            return
        time.sleep(interval)


DELIVERY_COLUMNS = (
    Column("id", "delivery_id", justify="right"),
    Column("recipient", "recipient"),
    Column("channel", "channel"),
    Column("notice", "notice"),
    Column("state", "state", style=status_style),
    Column("attempts", "attempts", justify="right"),
    Column("last", "last_at", show=lambda at: "" if at is None else local_time(at)),
    Column("key", "delivery_key", wide=True),
    Column("error", "error", whole=False),
)


@cases_app.command("deliveries")
def deliveries_command(
    parked: Annotated[bool, typer.Option("--parked", help="Only the parked ones.")] = False,
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """The outbox: every delivery, its state and attempts; parked ones for an operator."""
    wired = application()
    found = list_deliveries(
        gate=signed_in(wired), context=wired.delivery_context(), parked_only=parked
    )
    rows = [
        {
            "delivery_id": d.delivery_id,
            "recipient": d.recipient,
            "channel": d.channel.value,
            "notice": d.notice.value,
            "state": "pending" if d.last_event is None else d.last_event.value,
            "attempts": d.attempts,
            "last_at": d.last_at,
            "delivery_key": d.delivery_key,
            "error": d.error,
        }
        for d in found
    ]
    print_listing(console, "Deliveries 推送", DELIVERY_COLUMNS, rows, wide=wide, as_json=as_json)


INBOX_COLUMNS = (
    Column("#", "message_id", justify="right"),
    Column("to", "recipient"),
    Column("title", "title"),
    Column("date", "business_date"),
    Column("institution", "institution_id"),
    Column("level", "level", style=level_style),
    Column("criteria", "criteria", whole=False),
    Column("problem", "problem_amount", justify="right"),
    Column("delivered", "delivered_at", show=local_time),
)


@cases_app.command("inbox")
def inbox_command(wide: bool = wide_option, as_json: bool = json_option) -> None:
    """Your organisation's inbox: the warnings delivered to it."""
    wired = application()
    messages = read_inbox(gate=signed_in(wired), context=wired.delivery_context())
    rows = [
        {
            "message_id": m.message_id,
            "recipient": m.recipient,
            "title": m.body.get("title"),
            "business_date": m.business_date.isoformat(),
            "institution_id": m.institution_id,
            "level": m.level,
            "criteria": " ".join(c["code"] for c in m.body.get("criteria", [])),
            "problem_amount": m.body.get("problem_amount"),
            "delivered_at": m.delivered_at,
        }
        for m in messages
    ]
    print_listing(console, "Inbox 收件箱", INBOX_COLUMNS, rows, wide=wide, as_json=as_json)


REMINDER_COLUMNS = (
    Column("id", "reminder_id", justify="right"),
    Column("bureau", "bureau"),
    Column("institution", "institution_id"),
    Column("category", "category"),
    Column("date", "business_date"),
    Column("due", "due_at", show=local_time),
    Column("done by", "done_by"),
    Column("done", "done_at", show=lambda at: "" if at is None else local_time(at)),
    Column("text", "text", whole=False, wide=True),
    Column("note", "note", whole=False, wide=True),
)


def reminder_row(task: BureauReminder) -> dict[str, Any]:
    r, mark = task.reminder, task.mark
    return {
        "reminder_id": r.reminder_id,
        "bureau": task.bureau,
        "institution_id": r.institution_id,
        "category": r.category.value,
        "business_date": r.business_date.isoformat(),
        "issued_at": r.issued_at,
        "due_at": task.due_at,
        "text": r.text,
        "done_by": None if mark is None else mark.done_by,
        "done_at": None if mark is None else mark.done_at,
        "note": None if mark is None else mark.note,
    }


@reminders_app.command("list")
def reminders_list(
    institution: Annotated[str | None, typer.Option("--institution")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only those not done.")] = False,
    wide: bool = wide_option,
    as_json: bool = json_option,
) -> None:
    """The reminders you may read: a bureau its tasks, SIPF all, an institution its own."""
    wired = application()
    found = list_reminders(
        gate=signed_in(wired),
        context=ReminderContext(clock=wired.real_clock, uow_factory=wired.uow),
        institution_id=institution,
        open_only=open_only,
    )
    rows = [reminder_row(t) for t in found]
    print_listing(console, "Reminders 口头提醒", REMINDER_COLUMNS, rows, wide=wide, as_json=as_json)


@reminders_app.command("done")
def reminders_done(
    reminder_id: Annotated[int, typer.Argument(help="The reminder's id (`reminders list`).")],
    note: Annotated[str, typer.Option(help="What was said, to whom.")],
) -> None:
    """Mark a reminder of your bureau done (bureau analyst or head), once, with a note."""
    wired = application()
    task = mark_reminder_done(
        reminder_id=reminder_id,
        note=note,
        gate=signed_in(wired),
        context=ReminderContext(clock=wired.real_clock, uow_factory=wired.uow),
    )
    say(console, f"reminder {reminder_id} of {task.reminder.institution_id} done ({task.bureau})")
