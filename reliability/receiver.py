"""The crash harness's webhook recipient: a loopback receiver that outlives every killed worker.

It runs in the harness's own process on 127.0.0.1, so a worker killed mid-send and the worker
run again after it talk to the same receiver. It verifies each request as a recipient must
(`verify_request`: signature, replay window, fresh nonce) and deduplicates by the delivery key
(`X-Clearwatch-Delivery`): the first body of a key is kept, a later request with that key is
answered 200 and counted as a repeat — the at-least-once duplicate a kill between "sent" and
"recorded delivered" causes. The webhooks file the stores read points every recipient here.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from clearwatch.adapters.delivery.webhook import DELIVERY_HEADER, verify_request

SECRET = "crash-harness-receiver-secret-0001"
WEBHOOKS_NAME = "webhooks.toml"


@dataclass
class Received:
    """What the receiver kept: each delivery key's first body (its sha256), repeats, refusals."""

    bodies: dict[str, str] = field(default_factory=dict)
    repeats: int = 0
    refused: list[str] = field(default_factory=list)


class Receiver:
    """A `ThreadingHTTPServer` on a free loopback port, started and stopped by the harness."""

    def __init__(self) -> None:
        self.received = Received()
        self._seen: set[str] = set()  # nonces: a replayed request is refused
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/clearwatch"

    def restore(self, bodies: dict[str, str]) -> None:
        """Start a trial from what the receiver held before the operation, in the clean run."""
        with self._lock:
            self.received = Received(bodies=dict(bodies))

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self.received.bodies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _take(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            broken = verify_request(
                SECRET.encode(), headers, body, now=datetime.now(UTC), seen=self._seen
            )
            if broken is not None:
                self.received.refused.append(broken)
                return 401
            key = {k.lower(): v for k, v in headers.items()}.get(DELIVERY_HEADER.lower(), "")
            if key in self.received.bodies:
                self.received.repeats += 1
            else:
                self.received.bodies[key] = hashlib.sha256(body).hexdigest()
            return 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(receiver._take(dict(self.headers), body))
                self.end_headers()

            def log_message(self, *_: object) -> None:
                """Quiet: the harness reads `Received`."""

        return Handler


def write_webhooks(path: Path, url: str, recipients: list[str]) -> Path:
    """The owner-only webhooks file sending every recipient's notices to `url`."""
    lines = []
    for recipient in sorted(set(recipients)):
        lines += [f'[recipients."{recipient}"]', f'url = "{url}"', f'secret = "{SECRET}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(path, 0o600)
    return path
