"""A bureau's other pages: the verbal reminders it is to carry out (mark done with a note), a
month's summary of the warnings routed to it (counts by level, by day), and its inbox (the
notices delivered to it, `read_inbox` of the delivery, each linked to its warning).

The reminders are `list_reminders` and `mark_reminder_done`, asked with the viewer's gate: a
bureau sees and marks its own tasks; another bureau's reminder is answered as one that does not
exist (its denial audited), as the API answers it.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.criteria import Level
from clearwatch.domain.monitor.reminders import ReminderRule
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.web.site import (
    WEB_PREFIX,
    PageNotFound,
    SignedIn,
    application_of,
    check_form,
    render,
)
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.monitor.delivery import read_inbox
from clearwatch.services.monitor.reminder_ports import ReminderContext
from clearwatch.services.monitor.reminders import list_reminders, mark_reminder_done
from clearwatch.services.monitor.warning_release import readable_warnings

REMINDERS_PATH = f"{WEB_PREFIX}/bureau/reminders"
MONTH_MUST_BE_YYYY_MM = "month_must_be_yyyy_mm"
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
LEVELS = tuple(Level)


def _reminders(request: Request) -> ReminderContext:
    # A done-mark is a person's act now, never a replay's business time.
    wired = application_of(request)
    return ReminderContext(clock=wired.real_clock, uow_factory=wired.uow)


def bureau_reminders(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The bureau's tasks, open ones first by when they are due; a form on each open one."""
    tasks = list_reminders(gate=viewer.gate, context=_reminders(request))
    tasks.sort(key=lambda t: (t.done, t.due_at))
    own = Resource(bureau=viewer.actor.organisation.code, released=True)  # as any reminder
    return render(
        request, "bureau_reminders.html.j2", viewer=viewer, reminders=tasks,
        may_mark=viewer.may(Action.REMINDERS_DONE, own),
    )  # fmt: skip


def reminder_done(
    request: Request,
    viewer: SignedIn,
    reminder_id: Annotated[int, FastApiPath(ge=1, le=2**31 - 1)],
    note: Annotated[str, Form()] = "",  # the domain bounds it and names the rule
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.REMINDERS_DONE)  # a role that never marks: 403 before a lookup
    try:
        mark_reminder_done(
            reminder_id=reminder_id, note=note, gate=viewer.gate, context=_reminders(request)
        )
    except PolicyDenied as denied:  # audited; another bureau's reminder is not found
        raise PageNotFound(f"{ReminderRule.REMINDER_MUST_EXIST}: {reminder_id}") from denied
    except Refused as refusal:  # and none at all is answered the very same way
        if refusal.rule != ReminderRule.REMINDER_MUST_EXIST:
            raise
        raise PageNotFound(f"{ReminderRule.REMINDER_MUST_EXIST}: {reminder_id}") from refusal
    return RedirectResponse(f"{REMINDERS_PATH}#reminder-{reminder_id}", status_code=303)


def _month_of(text: str | None, today: date) -> date:
    """The first day of the month asked for (`YYYY-MM`), else of this month in Shanghai."""
    if text is None:
        return today.replace(day=1)
    found = _MONTH.fullmatch(text.strip())
    if found is None:
        raise Refused(MONTH_MUST_BE_YYYY_MM, repr(text))
    return date(int(found.group(1)), int(found.group(2)), 1)


def bureau_month(
    request: Request,
    viewer: SignedIn,
    month: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """A month's warnings routed to the bureau (each date's latest result): counts by level,
    and by day and level."""
    wired = application_of(request)
    first = _month_of(month, wired.real_clock.now().astimezone(SHANGHAI).date())
    with wired.read_uow() as uow:
        # A bureau: only the approved ones.
        readable = readable_warnings(viewer.gate, uow.monitor_runs.warnings)
    warnings = [
        w
        for w in readable
        if (w.business_date.year, w.business_date.month) == (first.year, first.month)
    ]
    totals = Counter(w.level for w in warnings)
    by_date: dict[date, Counter[str]] = {}
    for warning in sorted(warnings, key=lambda w: w.business_date):
        by_date.setdefault(warning.business_date, Counter())[warning.level] += 1
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return render(
        request, "bureau_month.html.j2", viewer=viewer, month=first.strftime("%Y-%m"),
        totals=totals, by_date=by_date, levels=LEVELS, count=len(warnings),
        previous_month=previous.strftime("%Y-%m"), next_month=following.strftime("%Y-%m"),
    )  # fmt: skip


def bureau_inbox(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The notices delivered to the viewer's bureau, newest first, each linked to its warning.
    The inbox keeps no mark of having been read, so none is shown."""
    code = viewer.actor.organisation.code
    # A bureau's own inbox: an institution's user (who reads its own copies on its messages
    # page) or SIPF is refused here (403, audited) rather than shown a list.
    viewer.gate.check(Action.INBOX_READ, Resource(bureau=code, released=True))  # delivered
    context = application_of(request).delivery_context()
    inbox = [m for m in read_inbox(gate=viewer.gate, context=context) if m.recipient == code]
    inbox.sort(key=lambda m: (m.delivered_at, m.message_id), reverse=True)
    return render(request, "bureau_inbox.html.j2", viewer=viewer, inbox=inbox)


BUREAU_PAGES = (
    ("GET", "/bureau/reminders", bureau_reminders),
    ("POST", "/bureau/reminders/{reminder_id}/done", reminder_done),
    ("GET", "/bureau/month", bureau_month),
    ("GET", "/bureau/inbox", bureau_inbox),
)
