"""What the authorization matrix needs of cases, warnings, deliveries and reminders.

The matrix's market has one case (B002's F2, routed to CITY-SZ) and one proposed warning
(B002's, major, with a special report). Before the matrix runs, B002's officer explains the
case with an attachment, a reviewer approves the warning and the worker delivers it (so that
every inbox the policy reaches has a message), and B002 gets a verbal reminder.
"""

from __future__ import annotations

from typing import Any

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.services.monitor.cases import explain_case
from clearwatch.services.monitor.delivery import deliver_due
from clearwatch.services.monitor.delivery_approval import approve_warning
from tests.api.support import BUSINESS_TIME, DAY, person

ATTACHMENT = b"bank statement, page 1"


def case_id_of(app: Application) -> str:
    with app.read_uow() as uow:
        [case] = [c for c in uow.cases.cases() if c.institution_id == "B002"]
    return str(case.case_id)


def case_attachment_path(app: Application) -> str:
    """`<case>/attachments/<sha256>` of the explanation's attachment."""
    case_id = case_id_of(app)
    with app.read_uow() as uow:
        events = uow.cases.events(int(case_id))
    [sha256] = [a.sha256 for e in events if e.explanation for a in e.explanation.attachments]
    return f"{case_id}/attachments/{sha256}"


def warning_id_of(app: Application) -> str:
    with app.read_uow() as uow:
        [warning] = [w for w in uow.warning_review.warnings() if w.institution_id == "B002"]
    return str(warning.warning_id)


def reminder_id_of(app: Application) -> str:
    with app.read_uow() as uow:
        [reminder] = [r for r in uow.reporting.reminders() if r.institution_id == "B002"]
    return str(reminder.reminder_id)


def explain_form() -> tuple[dict[str, str], list[tuple[str, Any]]]:
    data = {"category": "data_error", "text": "录入错误", "responsible_party": "清算部"}
    return data, [("attachments", ("statement.txt", ATTACHMENT, "text/plain"))]


def prepare_cases_world(app: Application) -> None:
    officer = app.gate(local_caller(person(app, "B002", Role.OFFICER)))
    data, _ = explain_form()
    explain_case(
        case_id=int(case_id_of(app)),
        category=data["category"],
        text=data["text"],
        responsible_party=data["responsible_party"],
        attachments=[("statement.txt", ATTACHMENT)],
        gate=officer,
        context=app.cases_context(regrade=False),
    )
    reviewer = app.gate(local_caller(person(app, "SIPF", Role.REVIEWER, "matrix-reviewer")))
    approve_warning(
        warning_id=int(warning_id_of(app)), gate=reviewer, context=app.delivery_context()
    )
    deliver_due(context=app.delivery_context(), worker="matrix-worker")
    with app.uow() as uow:
        uow.reporting.record_occurrence(
            institution_id="B002", category=ReportingCategory.BATCH_ERROR, business_date=DAY,
            package_kind="broker_daily", occurred_at=BUSINESS_TIME, detail="rejected (matrix)",
        )  # fmt: skip
        uow.commit()
