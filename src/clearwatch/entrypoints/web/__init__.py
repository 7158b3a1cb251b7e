"""The platform's web pages (交互平台), served by the API's own application under `/web`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from clearwatch.entrypoints.web.headers import PageHeaders
from clearwatch.entrypoints.web.pages import EXPLAIN_PATH, UPLOAD_PATH, router
from clearwatch.entrypoints.web.site import STATIC_DIR, WEB_PREFIX, build_pages, has_live_session

__all__ = ["EXPLAIN_PATH", "UPLOAD_PATH", "WEB_PREFIX", "has_live_session", "mount_web"]


def mount_web(app: FastAPI) -> None:
    """The pages, their style sheet (from the package), their headers, and `/` leading there."""
    app.state.web_pages = build_pages()
    app.include_router(router)
    app.mount(f"{WEB_PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="web-static")

    async def root() -> RedirectResponse:
        return RedirectResponse(f"{WEB_PREFIX}/", status_code=303)

    app.add_api_route("/", root, methods=["GET"], include_in_schema=False)
    app.add_middleware(PageHeaders)
