"""SIPF's registry page and its run of a day from the day page.

The same use cases as `clearwatch registry show` / `GET /registry` and `clearwatch monitor
run-day` / `POST /monitor/days/{date}/run`: the policy decides (the registry for who may read
it; the run for SIPF's analyst or reviewer), and a special account's number is shown masked, as
everything printed is (the whole number is the API's `?evidence=true`, for whom the policy
allows). The run is a form with its CSRF token; the day page then shows what it graded.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.masking import mask
from clearwatch.entrypoints.web.site import (
    WEB_PREFIX,
    SignedIn,
    application_of,
    check_form,
    render,
)
from clearwatch.services.monitor.registry import show_registry
from clearwatch.services.monitor.run_day import run_day


def sipf_registry(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The registry in force (institutions, special accounts masked, holidays) and its versions."""
    viewer.gate.check(Action.REGISTRY_SHOW, Resource())
    snapshot, history = show_registry(uow=application_of(request).read_uow())
    accounts = [] if snapshot is None else [
        (mask(a.account_no), a) for a in snapshot.special_accounts
    ]  # fmt: skip
    return render(
        request, "sipf_registry.html.j2", viewer=viewer, snapshot=snapshot, accounts=accounts,
        history=sorted(history, key=lambda v: v.version, reverse=True),
    )  # fmt: skip


def sipf_run_day(
    request: Request,
    viewer: SignedIn,
    business_date: date,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Compare the day's packages, grade and route its warnings; then back to the day."""
    check_form(request, viewer, csrf_token)
    viewer.gate.check(Action.RUN_DAY, Resource())
    wired = application_of(request)
    outcome = run_day(
        business_date=business_date, actor=viewer.gate.caller.label,
        context=wired.run_day_context(),
    )  # fmt: skip
    wired.write_day_report(outcome.result)
    return RedirectResponse(
        f"{WEB_PREFIX}/sipf?date={business_date.isoformat()}&ran={outcome.result_version}",
        status_code=303,
    )


SIPF_PAGES = (
    ("GET", "/sipf/registry", sipf_registry),
    ("POST", "/sipf/days/{business_date}/run", sipf_run_day),
)
