"""Security headers on every answer under `/web`: the Content-Security-Policy and its kin.

Only there: the API's `/docs` page is Swagger UI, whose own inline script such a policy would
stop. An ASGI middleware, so the static files and error pages carry the headers too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from clearwatch.entrypoints.web.site import SECURITY_HEADERS, WEB_PREFIX

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]
_HEADERS = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
# A page with a script (the upload form's progress) sends this policy itself, and the
# middleware leaves a header the page set: scripts from this server only (never inline), and
# the requests they make back to it. Every other page allows no script at all.
SCRIPTED_CONTENT_SECURITY_POLICY = (
    f"{SECURITY_HEADERS['content-security-policy']}; script-src 'self'; connect-src 'self'"
)


class PageHeaders:
    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path == WEB_PREFIX or path.startswith(f"{WEB_PREFIX}/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(header for header in _HEADERS if header[0] not in names),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
