"""A webhook receiver on loopback, as a recipient would run one: verifies, dedupes by key.

Started by a test on 127.0.0.1 (a free port), it checks each request with `verify_request`,
answers 401 to a forged, stale or replayed one, keeps the first body of each delivery key, and
answers 200 to a repeat of a key it already has (a retry after a crash), counting repeats.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from clearwatch.adapters.delivery.webhook import DELIVERY_HEADER, verify_request

SECRET = b"a-test-secret-of-the-bureau-0123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → first body
    repeats: int = 0
    refused: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(received: Received, secret: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with received.lock:
                broken = verify_request(
                    secret, dict(self.headers), body, now=datetime.now(UTC), seen=received.seen
                )
                key = self.headers.get(DELIVERY_HEADER, "")
                if broken is not None:
                    received.refused.append(broken)
                elif key in received.bodies:
                    received.repeats += 1
                else:
                    received.bodies[key] = json.loads(body)
            self.send_response(401 if broken else 200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            """Quiet: the test reads `Received`."""

    return Handler


@contextmanager
def receiver(port: int, secret: bytes = SECRET) -> Iterator[Received]:
    """Serve on 127.0.0.1:`port` until the block ends."""
    received = Received()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(received, secret))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
