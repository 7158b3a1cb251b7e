"""The pages: login and logout, SIPF's day, a bureau's warnings, an institution's packages.

Each handler is a thin reader: it asks a use case (which asks the policy through the viewer's
gate) and hands the values to a template. Forms post back here with the session's CSRF token.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.charts import Bar, Figure, column_chart
from clearwatch.domain.access.credentials import ACCOUNT_LOCKED, PASSWORD_MAX_LENGTH
from clearwatch.domain.access.organisations import OrganisationKind
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases import (
    CaseRule,
    CaseStatus,
    ExplanationCategory,
    attachment_bytes_max,
)
from clearwatch.domain.monitor.criteria import Level
from clearwatch.domain.monitor.evidence_masking import masked_finding
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.api.problems import UPLOAD_MUST_FIT_LIMIT
from clearwatch.entrypoints.api.uploads import (
    UPLOAD_MEMBER_MUST_BE_UNIQUE,
    UPLOAD_MEMBER_NAME_MUST_BE_PLAIN,
    UPLOAD_MEMBERS_MUST_FIT,
    upload_members_max,
)
from clearwatch.entrypoints.web.headers import SCRIPTED_CONTENT_SECURITY_POLICY
from clearwatch.entrypoints.web.pages_admin import ACCESS_PATH, ADMIN_PAGES
from clearwatch.entrypoints.web.pages_backoffice import BACKOFFICE_PAGES
from clearwatch.entrypoints.web.pages_bureau import BUREAU_PAGES
from clearwatch.entrypoints.web.pages_csrc import CSRC_PAGES
from clearwatch.entrypoints.web.pages_institution import INSTITUTION_PAGES
from clearwatch.entrypoints.web.pages_review import REVIEW_PAGES
from clearwatch.entrypoints.web.pages_sipf import SIPF_PAGES
from clearwatch.entrypoints.web.site import (
    CSRF_TOKEN_MUST_MATCH,
    SESSION_COOKIE,
    WEB_PREFIX,
    PageNotFound,
    SignedIn,
    Viewer,
    WebRoute,
    application_of,
    check_form,
    render,
    speaker_for,
)
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.access.web_sessions import close_web_session, open_web_session
from clearwatch.services.monitor.cases import explain_case, list_cases
from clearwatch.services.monitor.day_trend import TrendDay, day_trend
from clearwatch.services.monitor.run_ports import StoredWarning
from clearwatch.services.monitor.submission_grid import Submission, submission_grid
from clearwatch.services.monitor.submit_package import submit_package
from clearwatch.services.monitor.warning_release import readable_warnings, warning_resource

router = APIRouter(prefix=WEB_PREFIX, route_class=WebRoute, include_in_schema=False)
LOGIN_CSRF_COOKIE = "cw_login_csrf"  # double-submit token of the login form (no session yet)
UPLOAD_PATH = f"{WEB_PREFIX}/institution/packages"
# The explanation form carries attachments: its body gets the API's explanation limit.
EXPLAIN_PATH = re.compile(rf"{WEB_PREFIX}/institution/cases/[^/]+/explain")
UPLOAD_MUST_NOT_BE_EMPTY = "upload_must_not_be_empty"
WARNING_MUST_EXIST = "warning_must_exist"
trend_days = 30
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # as a package's files are named
_HOME_OF = {
    OrganisationKind.SIPF: "/sipf",
    OrganisationKind.BUREAU: "/bureau",
    OrganisationKind.CSRC: "/csrc",
    OrganisationKind.INSTITUTION: "/institution",
    OrganisationKind.BACK_OFFICE: "/backoffice",
}
LEVELS = tuple(Level)
EXPLAINABLE = frozenset({CaseStatus.OPEN, CaseStatus.OVERDUE})  # the moves allow `explain`


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def home(viewer: SignedIn) -> Response:
    """Each organisation's own first page; an admin's is the access page (it reads nothing
    of the organisation's work)."""
    if viewer.actor.roles == {Role.ADMIN}:
        return RedirectResponse(ACCESS_PATH, status_code=303)
    where = _HOME_OF.get(viewer.organisation_kind, "/me")
    return RedirectResponse(f"{WEB_PREFIX}{where}", status_code=303)


def me(request: Request, viewer: SignedIn) -> HTMLResponse:
    """Who is signed in (organisations without pages of their own yet)."""
    return render(request, "me.html.j2", viewer=viewer)


def _login_page(request: Request, *, rule: str | None, status_code: int) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html.j2", viewer=None, status_code=status_code, rule=rule,
        login_csrf=token,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
        path=f"{WEB_PREFIX}/login",
    )  # fmt: skip
    return response


def login_form(request: Request) -> HTMLResponse:
    return _login_page(request, rule=None, status_code=200)


def login(
    request: Request,
    user_id: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=PASSWORD_MAX_LENGTH)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The sign-in service's checks (second factor, lockout, audit); then a session."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _login_page(request, rule=CSRF_TOKEN_MUST_MATCH, status_code=403)
    wired = application_of(request)
    try:
        opened = open_web_session(
            uow=wired.uow(), tools=wired.authentication, user_id=user_id.strip(),
            password=password, code=totp.strip() or None, at=wired.real_clock.now(),
        )  # fmt: skip
    except Refused as refusal:  # counted and audited by the service
        status = 429 if refusal.rule == ACCOUNT_LOCKED else 401
        return _login_page(request, rule=refusal.rule, status_code=status)
    response = RedirectResponse(f"{WEB_PREFIX}/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, opened.session_id, expires=opened.session.expires_at,
        httponly=True, samesite="strict", secure=_secure(request), path=WEB_PREFIX,
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{WEB_PREFIX}/login")
    return response


def logout(
    request: Request, viewer: SignedIn, csrf_token: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    """The session's row is deleted; the cookie with it."""
    check_form(request, viewer, csrf_token)
    wired = application_of(request)
    close_web_session(
        uow=wired.uow(),
        session_id=request.cookies.get(SESSION_COOKIE, ""),
        at=wired.real_clock.now(),
    )
    response = RedirectResponse(f"{WEB_PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=WEB_PREFIX)
    return response


# -- SIPF --------------------------------------------------------------------------------------


def _latest_day(request: Request) -> date:
    """The last day anything arrived for, else today in Shanghai (the date's index: the page
    must not read every receipt ever received to choose its default)."""
    wired = application_of(request)
    with wired.read_uow() as uow:
        latest = uow.packages.latest_business_date()
    return latest or wired.real_clock.now().astimezone(SHANGHAI).date()


_PERCENT_PLACES = Decimal("0.0001")  # a six-decimal ratio is a percentage of four


def _ratio_column(day: TrendDay) -> Bar:
    """A day's market ratio in percent; a day without a result draws nothing and says so."""
    if day.ratio is None:
        return Bar(day.business_date.isoformat(), Decimal(0), "–")
    percent = (day.ratio * 100).quantize(_PERCENT_PLACES)
    return Bar(day.business_date.isoformat(), percent, str(percent))


def _warnings_column(day: TrendDay) -> Bar:
    shown = "–" if day.result_version is None else str(day.warnings)
    return Bar(day.business_date.isoformat(), Decimal(day.warnings), shown)


def _trend_figures(
    trend: tuple[TrendDay, ...], title_ratio: str, title_warnings: str
) -> tuple[Figure, Figure]:
    ratio = column_chart(
        chart_id="trend-ratio",
        title=title_ratio,
        unit="%",
        columns=[_ratio_column(d) for d in trend],
    )
    warnings = column_chart(
        chart_id="trend-warnings",
        title=title_warnings,
        unit="#",
        columns=[_warnings_column(d) for d in trend],
    )
    return ratio, warnings


def sipf_day(
    request: Request, viewer: SignedIn, day: Annotated[date | None, Query(alias="date")] = None
) -> HTMLResponse:
    """The day's submission grid, its warnings by level and bureau, the 30-day trend."""
    wired = application_of(request)
    business_date = day or _latest_day(request)
    grid = submission_grid(gate=viewer.gate, uow=wired.read_uow(), business_date=business_date)
    with wired.read_uow() as uow:
        warnings = readable_warnings(
            viewer.gate, uow.monitor_runs.warnings, business_date=business_date
        )
    trend = day_trend(
        gate=viewer.gate, uow=wired.read_uow(), last_date=business_date, days=trend_days
    )
    _ = speaker_for(request).gettext
    ratio_chart, warnings_chart = _trend_figures(
        trend, _("Market problem ratio Σ P / Σ L"), _("Warnings per day")
    )
    return render(
        request,
        "sipf.html.j2",
        viewer=viewer,
        business_date=business_date,
        grid=grid,
        submissions=tuple(Submission),
        warnings=warnings,
        by_level_bureau=_by_level_bureau(warnings),
        levels=LEVELS,
        ratio_chart=ratio_chart,
        warnings_chart=warnings_chart,
        previous_day=business_date - timedelta(days=1),
        next_day=business_date + timedelta(days=1),
    )


def _by_level_bureau(warnings: list[StoredWarning]) -> dict[str, Counter[str]]:
    """Bureau → count per level."""
    table: dict[str, Counter[str]] = {}
    for warning in warnings:
        table.setdefault(warning.route_to, Counter())[warning.level] += 1
    return dict(sorted(table.items()))


# -- bureaus -----------------------------------------------------------------------------------


def bureau_warnings(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The warnings routed to the viewer's bureau, by date (newest first) and level."""
    wired = application_of(request)
    with wired.read_uow() as uow:
        # Only the approved ones: spec platform §5.
        readable = readable_warnings(viewer.gate, uow.monitor_runs.warnings)
    warnings = sorted(
        readable,
        key=lambda w: (-w.business_date.toordinal(), LEVELS.index(Level(w.level)),
                       w.institution_id),
    )  # fmt: skip
    by_date: dict[date, Counter[str]] = {}
    for warning in warnings:
        by_date.setdefault(warning.business_date, Counter())[warning.level] += 1
    return render(
        request, "bureau.html.j2", viewer=viewer, warnings=warnings, by_date=by_date,
        levels=LEVELS,
    )  # fmt: skip


def warning_page(
    request: Request, viewer: SignedIn, business_date: date, institution_id: str
) -> HTMLResponse:
    """An institution's warnings of a day: one, or a bank's one per branch region (each routed
    to its own bureau), every one the viewer may read. Outside the viewer's scope the page is
    answered as one that does not exist."""
    wired = application_of(request)
    viewer.gate.lister(Action.WARNINGS_LIST)  # whoever may read no warning at all: 403
    with wired.read_uow() as uow:
        stored = uow.monitor_runs.warnings(business_date=business_date)
    found = [w for w in stored if w.institution_id == institution_id]
    shown = [w for w in found if viewer.may(Action.WARNINGS_LIST, warning_resource(w))]
    if not shown:
        # Audited when denied (another bureau's, or one not yet approved for a bureau, CSRC or
        # the institution); then answered exactly like a warning that never was.
        missing = PageNotFound(f"{WARNING_MUST_EXIST}: {business_date} {institution_id}")
        if found:
            try:
                viewer.gate.check(Action.WARNINGS_LIST, warning_resource(found[0]))
            except Refused as denied:
                raise missing from denied
        raise missing
    # The findings behind each, their accounts masked (the unmasked evidence is the API's
    # `?evidence=true`, for whom the policy allows); the cases they opened, for who may read.
    warnings = [
        (w, [masked_finding(f) for f in json.loads(w.evidence_json).get("findings", [])])
        for w in shown
    ]
    cases = None
    if viewer.may(Action.CASES_READ, warning_resource(shown[0])):
        cases = list_cases(
            gate=viewer.gate, context=wired.cases_context(regrade=False),
            business_date=business_date, institution_id=institution_id,
        )  # fmt: skip
    return render(
        request, "warning.html.j2", viewer=viewer, warnings=warnings,
        institution_id=institution_id, business_date=business_date, cases=cases,
    )  # fmt: skip


# -- institutions ------------------------------------------------------------------------------


def _institution_page(request: Request, viewer: Viewer) -> HTMLResponse:
    wired = application_of(request)
    sees = viewer.gate.lister(Action.PACKAGES_LIST)
    code = viewer.actor.organisation.code
    with wired.read_uow() as uow:
        receipts = uow.packages.receipts(institution_id=code)
    receipts = [r for r in receipts if sees(Resource(institution=r.institution_id))]
    receipts.sort(key=lambda r: r.received_at, reverse=True)
    # A submitter uploads but reads no case: the section is left out rather than the page
    # refused (the use case would deny and audit it on every visit).
    cases = (
        list_cases(gate=viewer.gate, context=wired.cases_context(), institution_id=code)
        if viewer.may(Action.CASES_READ, Resource(institution=code))
        else []
    )
    page = render(
        request,
        "institution.html.j2",
        viewer=viewer,
        receipts=receipts,
        cases=cases,
        explainable=EXPLAINABLE,
        categories=tuple(ExplanationCategory),
        upload_path=UPLOAD_PATH,
    )
    page.headers["content-security-policy"] = SCRIPTED_CONTENT_SECURITY_POLICY  # its progress
    return page


def institution_home(request: Request, viewer: SignedIn) -> HTMLResponse:
    """Upload a package; the institution's receipts and cases."""
    return _institution_page(request, viewer)


def institution_upload(
    request: Request,
    viewer: SignedIn,
    files: Annotated[list[UploadFile], Form()],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    """A package's files (manifest.json and its CSVs) through `submit_package`; its receipt
    with every error's file, line and column."""
    check_form(request, viewer, csrf_token)
    wired = application_of(request)
    folder = wired.upload_folder()
    try:
        _keep_files(files, folder, wired.settings.upload_limit_mb * 1024 * 1024)
        receipt = submit_package(
            directory=str(folder),
            context=wired.submit_context(),
            gate=viewer.gate,
            reason=reason.strip() or None,  # a later sequence supersedes: its officer, a reason
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    status = 422 if receipt.status.value == "rejected" else 200
    return render(request, "receipt.html.j2", viewer=viewer, receipt=receipt, status_code=status)


def _keep_files(files: list[UploadFile], folder: Path, limit_bytes: int) -> None:
    """The uploaded files into the private folder: plain names, each once, within limits."""
    chosen = [f for f in files if f.filename]
    if not chosen:
        raise Refused(UPLOAD_MUST_NOT_BE_EMPTY, "choose the package's files")
    if len(chosen) > upload_members_max:
        raise Refused(UPLOAD_MEMBERS_MUST_FIT, f"at most {upload_members_max} files")
    seen: set[str] = set()
    total = 0
    for upload in chosen:
        name = Path(upload.filename or "").name
        if not _FILE_NAME.fullmatch(name):
            raise Refused(UPLOAD_MEMBER_NAME_MUST_BE_PLAIN, repr(name))
        if name in seen:
            raise Refused(UPLOAD_MEMBER_MUST_BE_UNIQUE, name)
        seen.add(name)
        data = upload.file.read(limit_bytes - total + 1)
        total += len(data)
        if total > limit_bytes:
            raise Refused(UPLOAD_MUST_FIT_LIMIT, f"an upload may hold {limit_bytes} bytes")
        (folder / name).write_bytes(data)
        (folder / name).chmod(0o600)


def institution_explain(
    request: Request,
    viewer: SignedIn,
    case_id: Annotated[int, FastApiPath(ge=1, le=2**31 - 1)],
    # Unbounded here: the domain refuses a bad one by its rule's name (the body is bounded).
    category: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    responsible_party: Annotated[str, Form()] = "",
    attachments: Annotated[list[UploadFile] | None, Form()] = None,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The institution's officer explains its case (the use case checks scope and content);
    then back to the institution's page, which shows the case explained."""
    check_form(request, viewer, csrf_token)
    wired = application_of(request)
    files = [
        (upload.filename or "", upload.file.read(attachment_bytes_max + 1))
        for upload in attachments or []
        if upload.filename
    ]
    try:
        explain_case(
            case_id=case_id, category=category, text=text, responsible_party=responsible_party,
            attachments=files, gate=viewer.gate, context=wired.cases_context(),
        )  # fmt: skip
    except PolicyDenied as denied:  # audited; another institution's case is not found
        raise PageNotFound(f"case {case_id}") from denied
    except Refused as refusal:  # and none at all is answered the very same way
        if refusal.rule != CaseRule.CASE_MUST_EXIST:
            raise
        raise PageNotFound(f"case {case_id}") from refusal
    return RedirectResponse(f"{WEB_PREFIX}/institution#case-{case_id}", status_code=303)


# Every page this module serves, in one table (rather than scattered decorators).
PAGES = (
    ("GET", "/", home),
    ("GET", "/me", me),
    ("GET", "/login", login_form),
    ("POST", "/login", login),
    ("POST", "/logout", logout),
    ("GET", "/sipf", sipf_day),
    ("GET", "/bureau", bureau_warnings),
    ("GET", "/warnings/{business_date}/{institution_id}", warning_page),
    ("GET", "/institution", institution_home),
    ("POST", "/institution/packages", institution_upload),
    ("POST", "/institution/cases/{case_id}/explain", institution_explain),
    *REVIEW_PAGES,
    *SIPF_PAGES,
    *INSTITUTION_PAGES,
    *BUREAU_PAGES,
    *ADMIN_PAGES,
    *BACKOFFICE_PAGES,
    *CSRC_PAGES,
)
for _method, _path, _endpoint in PAGES:
    router.add_api_route(_path, _endpoint, methods=[_method])
