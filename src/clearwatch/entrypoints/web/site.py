"""What every page shares: templates, the signed-in viewer, CSRF, languages, error pages.

A page's handler runs only for a viewer with a live session (else the browser is sent to the
login page); every thing it shows is asked of the policy through the viewer's gate, exactly
as the API asks it. A denial is a 403 page (or 404 where the thing's existence is private),
already audited by the gate. Every POST carries the session's CSRF token or is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup

from clearwatch.bootstrap import Application
from clearwatch.charts import figure_html
from clearwatch.domain.access.callers import Caller, CredentialKind
from clearwatch.domain.access.organisations import OrganisationKind
from clearwatch.domain.access.policy import Action, Actor, Allowed, Resource, decide
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.api.cases import STATUS_OF_RULE as CASES_STATUS_OF_RULE
from clearwatch.entrypoints.api.filings import STATUS_OF_RULE as FILINGS_STATUS_OF_RULE
from clearwatch.entrypoints.web.i18n import (
    DEFAULT_LANGUAGE,
    Language,
    Speaker,
    language_of,
    load_catalogues,
)
from clearwatch.services.access.authorize import Gate, PolicyDenied, actor_of
from clearwatch.services.access.web_sessions import (
    LiveWebSession,
    StoredWebSession,
    csrf_matches,
    refuse_forged_form,
    web_session,
)

WEB_PREFIX = "/web"
SESSION_COOKIE = "cw_session"
LANG_COOKIE = "lang"
CSRF_FIELD = "csrf_token"
CSRF_TOKEN_MUST_MATCH = "csrf_token_must_match"
PAGE_MUST_EXIST = "page_must_exist"
lang_cookie_days = 365
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# No script at all; styles and images only from this server; nothing may frame a page.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


# A refusal about the thing asked for, as the API answers it: it does not exist (404), or its
# state forbids the move now (409). Any other rule is a bad input (422).
STATUS_OF_RULE = {**CASES_STATUS_OF_RULE, **FILINGS_STATUS_OF_RULE}


class NotSignedIn(Exception):
    """No live session: the browser goes to the login page."""


class PageNotFound(Refused):
    """A page for a thing that does not exist, or whose existence is not the viewer's."""

    def __init__(self, what: str) -> None:
        super().__init__(PAGE_MUST_EXIST, what)


@dataclass(frozen=True)
class Pages:
    """The template environment and the catalogues, built once per application."""

    environment: Environment
    catalogues: Mapping[Language, Mapping[str, str]]


def build_pages() -> Pages:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,  # a misspelt name is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for name in ("amount", "figure", "percent", "number", "time"):
        environment.filters[name] = _spoken(name)
    return Pages(environment, load_catalogues())


def _spoken(name: str) -> Callable[..., str]:
    """A filter that formats in the page's own language (its `speaker`)."""

    @pass_context
    def spoken(context: Context, value: Any) -> str:
        formatted: str = getattr(context["speaker"], name)(value)
        return formatted

    return spoken


def application_of(request: Request) -> Application:
    wired: Application = request.app.state.application
    return wired


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.web_pages
    return pages


def language_for(request: Request) -> Language:
    """The `lang` query first (the switch link), then the cookie, then Chinese."""
    return (
        language_of(request.query_params.get(LANG_COOKIE))
        or language_of(request.cookies.get(LANG_COOKIE))
        or DEFAULT_LANGUAGE
    )


def speaker_for(request: Request) -> Speaker:
    language = language_for(request)
    return Speaker(language, pages_of(request).catalogues[language])


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: their session, the policy's gate for them, who they are now."""

    session: StoredWebSession
    gate: Gate
    actor: Actor

    @property
    def organisation_kind(self) -> OrganisationKind:
        return self.actor.organisation.kind

    def may(self, action: Action, resource: Resource) -> bool:
        """Whether the policy table allows it, to decide whether a page shows a section or a
        form at all (nothing is done, so nothing is audited); the use case asks again."""
        return isinstance(decide(self.actor, action, resource), Allowed)


def signed_in(request: Request) -> Viewer:
    wired = application_of(request)
    at = wired.real_clock.now()
    live = _live_session(wired, request.cookies, at)
    if live is None:
        raise NotSignedIn
    session = live.session
    caller = Caller(session.user_id, CredentialKind.PASSWORD, second_factor=session.second_factor)
    # The user as the session's lookup read them decides this request's checks, as the API's
    # bearer does; nothing of it outlives the request.
    gate = Gate(
        caller=caller,
        uow_factory=wired.uow,
        clock=wired.real_clock,
        read_uow_factory=wired.read_uow,
        known=live.record,
    )
    viewer = Viewer(session, gate, actor_of(live.record, at))
    request.state.web_viewer = viewer  # an error page still shows who is signed in
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]


def has_live_session(wired: Application, cookies: Mapping[str, str]) -> bool:
    """Whether the cookies name a live session: asked before a large form's body is read, so
    that nobody unsigned can make the server spool an upload to disk."""
    return _live_session(wired, cookies, wired.real_clock.now()) is not None


def _live_session(
    wired: Application, cookies: Mapping[str, str], at: datetime
) -> LiveWebSession | None:
    """The session the cookie names; None also when the user was removed, or changed password
    or second factor, since."""
    session_id = cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    return web_session(uow=wired.read_uow(), session_id=session_id, at=at)


def check_form(request: Request, viewer: Viewer, presented: str | None) -> None:
    """A POST must carry the session's CSRF token; a forged one is refused and audited."""
    if not csrf_matches(viewer.session, presented):
        wired = application_of(request)
        refuse_forged_form(
            uow=wired.uow(),
            user_id=viewer.session.user_id,
            path=request.url.path,
            at=wired.real_clock.now(),
        )
        raise Refused(CSRF_TOKEN_MUST_MATCH, "the form is not this session's")


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A page in the request's language, the language switch and logout in its header."""
    pages = pages_of(request)
    speaker = speaker_for(request)
    language = speaker.language
    page = pages.environment.get_template(template).render(
        _=speaker.gettext,
        speaker=speaker,
        lang=language,
        html_lang=language.html_lang,
        switch_url=str(request.url.include_query_params(lang=language.other.value)),
        viewer=viewer,
        csrf_field=CSRF_FIELD,
        csrf_token=viewer.session.csrf_token if viewer else "",
        prefix=WEB_PREFIX,
        chart=lambda figure, label, value: Markup(
            figure_html(figure, label_header=label, value_header=value)
        ),
        **values,
    )
    response = HTMLResponse(page, status_code=status_code)
    if request.query_params.get(LANG_COOKIE) == language.value:
        response.set_cookie(
            LANG_COOKIE, language.value, max_age=lang_cookie_days * 86400, httponly=True,
            samesite="strict", secure=request.url.scheme == "https", path="/",
        )  # fmt: skip
    return response


def error_page(request: Request, status_code: int, rule: str) -> HTMLResponse:
    viewer = getattr(request.state, "web_viewer", None)
    return render(request, "error.html.j2", viewer=viewer, status_code=status_code, rule=rule)


class WebRoute(APIRoute):
    """A page route: no session → login; a refusal → an HTML error page naming the rule."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except NotSignedIn:
                return RedirectResponse(f"{WEB_PREFIX}/login", status_code=303)
            except PolicyDenied as denied:  # audited by the gate
                return error_page(request, 403, denied.rule)
            except PageNotFound as missing:
                return error_page(request, 404, missing.rule)
            except Refused as refusal:
                status = (
                    403
                    if refusal.rule == CSRF_TOKEN_MUST_MATCH
                    else STATUS_OF_RULE.get(refusal.rule, 422)
                )
                return error_page(request, status, refusal.rule)

        return handler
