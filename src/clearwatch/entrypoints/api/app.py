"""The API's application factory: routes under `/api/v1`, problem+json errors, OpenAPI.

`create_app(application)` wires nothing itself: every store, engine and key comes from the
`bootstrap.Application` it is given, so a server holds no state of its own and any number of
them may serve one PostgreSQL. While it runs, the audit log's head is signed now and then and
once more at shutdown, as the CLI does at the end of each command.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from swagger_ui_bundle import swagger_ui_path

from clearwatch import __version__
from clearwatch.bootstrap import Application, build_application
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.entrypoints.api import (
    access,
    auth,
    backoffice,
    cases,
    cases_delivery,
    filings,
    monitor,
    watch,
)
from clearwatch.entrypoints.api.cases_jobs import BackgroundJob, serve_jobs
from clearwatch.entrypoints.api.problems import (
    JSON_BODY_MUST_FIT,
    PROBLEM_MEDIA_TYPE,
    install_problem_handlers,
    problem_response,
)
from clearwatch.entrypoints.api.security import document_bearer
from clearwatch.entrypoints.api.store_threads import StoreThreads
from clearwatch.entrypoints.web import EXPLAIN_PATH as WEB_EXPLAIN_PATH
from clearwatch.entrypoints.web import UPLOAD_PATH as WEB_UPLOAD_PATH
from clearwatch.entrypoints.web import WEB_PREFIX, has_live_session, mount_web

API_PREFIX = "/api/v1"

anchor_interval_seconds = 300.0  # how often a running server signs the audit log's head
json_body_bytes_max = 1024 * 1024  # a JSON request body; uploads have their own limit
UPLOAD_PATHS = frozenset(
    {f"{API_PREFIX}/packages", f"{API_PREFIX}/registry", f"{API_PREFIX}/backoffice/batches",
     WEB_UPLOAD_PATH}
)  # fmt: skip
_log = logging.getLogger("clearwatch.api")
DOCS_ASSETS = "/docs/assets"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def create_app(
    application: Application,
    *,
    anchor_every_seconds: float | None = anchor_interval_seconds,
    jobs: Sequence[BackgroundJob] = (),
) -> FastAPI:
    """The API over `application`; `anchor_every_seconds` None: sign only at shutdown; `jobs`
    run in the background while it serves (`serve`: the sweep and the delivery worker)."""
    app = FastAPI(
        title="clearwatch",
        version=__version__,
        summary="Client-fund monitor and broker back office (交易结算资金监控 · 证券结算后台).",
        description="Bearer tokens from `POST /api/v1/auth/login` (people) or API tokens "
        "(machines). Errors are `application/problem+json` (RFC 9457) with the broken "
        "rule's name in `rule`. Amounts are integer fen (`*_fen`) or yuan as text with two "
        "decimals; never floats.",
        docs_url=None,  # served below from the installed package, never from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_lifespan(application, anchor_every_seconds, jobs),
        # clearwatch configures no OpenTelemetry provider; left on, FastAPI would ask the
        # global ones (and the environment) on every request: 6% of a small read's time.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.application = application
    app.state.store_threads = StoreThreads()  # entrypoints/api/store_threads.py
    application.remove_orphaned_uploads()  # a request killed mid-upload left its folder
    install_problem_handlers(app)
    # Each area's router straight under the app: FastAPI matches a request against every
    # route before the one it finds, level by level, twice. The monitor first: its warnings
    # are the read asked most often (bureaus' screens); no two areas' paths overlap.
    for area in (monitor, auth, access, filings, backoffice, cases, cases_delivery, watch):
        app.include_router(area.router, prefix=API_PREFIX)
    app.add_api_route("/health", health, methods=["GET"], tags=["health"])
    _serve_docs(app)
    mount_web(app)  # the platform's pages (交互平台) under /web
    app.add_middleware(JsonBodyLimit)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs with its script and styles from the swagger-ui-bundle package: the
    page works on a machine without internet and loads nothing from elsewhere."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="clearwatch API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)


def app_from_environment() -> FastAPI:
    """For `clearwatch serve --workers N`: each server process wires its own application."""
    application = build_application()
    return served_for_life(create_app(application, jobs=serve_jobs(application)))


def served_for_life(app: FastAPI) -> FastAPI:
    """`app`, about to be what this process serves until it stops: what importing and wiring
    it allocated (hundreds of thousands of objects that live as long as the process) is moved
    out of the cyclic collector's sight, so that its full collections stop walking them in the
    middle of requests. Measured: the small reads' p99 at 32 clients fell from 121–152 ms to
    54–62 ms, throughput rose by an eighth (bench/README.md)."""
    gc.collect()
    gc.freeze()
    return app


async def health() -> dict[str, str]:
    """The server answers (no store is touched, no token needed)."""
    return {"status": "ok"}


def _lifespan(
    application: Application, every_seconds: float | None, jobs: Sequence[BackgroundJob]
) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = None
        if every_seconds is not None:
            task = asyncio.create_task(_anchor_every(application, every_seconds))
        running = [asyncio.create_task(job.run_forever()) for job in jobs]
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            for job in running:
                job.cancel()
            # A round already in its thread finishes (and commits or rolls back) first.
            await asyncio.gather(*running, return_exceptions=True)
            try:
                # Requests' store work still running finishes (and commits) first.
                await run_in_threadpool(_app.state.store_threads.shutdown)
                await run_in_threadpool(_anchor, application)
            finally:
                application.dispose()

    return lifespan


async def _anchor_every(application: Application, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await run_in_threadpool(_anchor, application)
        except Exception:
            # A bug in signing must not stop the serving; it is logged with its traceback,
            # and shutdown tries once more (and fails loudly if it still cannot).
            _log.exception("audit log not anchored")


def _anchor(application: Application) -> None:
    """Sign the audit log's head if this server wrote; a failure is logged, never raised: the
    next `clearwatch audit verify` names it."""
    try:
        application.anchor_appended()
    except ClearwatchError as error:
        _log.error("audit log not anchored: %s: %s", type(error).__name__, error)


async def _signed(scope: Scope) -> bool:
    wired: Application = scope["app"].state.application
    return await run_in_threadpool(has_live_session, wired, Request(scope).cookies)


def _body_bytes_max(scope: Scope) -> int:
    """A web upload's limit is the uploads'; an explanation's form carries its attachments
    (the CLI's limits, not a JSON body's, on the web's form as on the API's)."""
    if scope["path"] == WEB_UPLOAD_PATH:
        wired: Application = scope["app"].state.application
        return int(wired.settings.upload_limit_mb) * 1024 * 1024
    if cases.EXPLANATION_PATH.fullmatch(scope["path"]) or WEB_EXPLAIN_PATH.fullmatch(scope["path"]):
        return cases.explanation_body_bytes_max
    return json_body_bytes_max


class JsonBodyLimit:
    """Refuse a request body past its path's limit (413) without reading it all: a JSON body's
    `json_body_bytes_max`, an explanation's, a web upload's (whose session is checked first).
    The API's uploads stream and limit their bodies themselves, after the bearer."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        web_upload = scope["type"] == "http" and scope["path"] == WEB_UPLOAD_PATH
        if scope["type"] != "http" or (scope["path"] in UPLOAD_PATHS and not web_upload):
            await self.app(scope, receive, send)  # the API's uploads stream after the bearer
            return
        if web_upload and scope["method"] == "POST" and not await _signed(scope):
            # The form is parsed (and its file spooled) before the page's own check runs.
            await RedirectResponse(f"{WEB_PREFIX}/login", status_code=303)(scope, receive, send)
            return
        body_bytes_max = _body_bytes_max(scope)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > body_bytes_max:
            detail = f"a request body may hold {body_bytes_max} bytes here"
            await problem_response(413, JSON_BODY_MUST_FIT, detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > body_bytes_max:
                # An HTTP error, so that FastAPI's body reading passes it on as it is.
                raise StarletteHTTPException(413, f"a request body may hold {body_bytes_max}")
            return message

        await self.app(scope, counted, send)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with every error response under `application/problem+json`."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                _problems_as_problem_json(operation.get("responses", {}))
        document_bearer(schema, app.routes)
        app.openapi_schema = schema
    return app.openapi_schema


def _problems_as_problem_json(responses: dict[str, Any]) -> None:
    for status, response in responses.items():
        content = response.get("content", {})
        plain = content.get("application/json", {})
        if status[:1] in "45" and plain.get("schema", {}).get("$ref", "").endswith("/Problem"):
            content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
