"""The web's package upload is a multipart form, which the framework parses (and spools to
disk) before a page's own sign-in check runs: anyone could make the server write an upload of
any size. The session is now checked before a byte of the body is read."""

from __future__ import annotations

import asyncio
from typing import Any

from clearwatch.bootstrap import Application
from clearwatch.entrypoints.api.app import create_app
from clearwatch.entrypoints.web import UPLOAD_PATH

FORTY_MB = 40 * 1024 * 1024


def _post_upload(app: Application, cookie: bytes | None) -> tuple[list[dict[str, Any]], int]:
    """POST a 40 MB multipart body to the upload page straight through ASGI; what was sent
    back, and how many times the server asked for the body."""
    asgi = create_app(app, anchor_every_seconds=None)
    asked = 0

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"multipart/form-data; boundary=xyz"),
        (b"content-length", str(FORTY_MB).encode()),
    ]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": UPLOAD_PATH, "raw_path": UPLOAD_PATH.encode(),
        "query_string": b"", "root_path": "", "headers": headers,
        "server": ("testserver", 80), "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    asyncio.run(asgi(scope, receive, send))
    return sent, asked


def test_an_unsigned_upload_is_sent_to_sign_in_before_its_body_is_read(
    web_app: Application,
) -> None:
    for cookie in (None, b"cw_session=forged-session-id"):
        sent, asked = _post_upload(web_app, cookie)
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 303, start
        assert dict(start["headers"])[b"location"].endswith(b"/web/login")
        assert asked == 0  # not one chunk of the 40 MB was read
