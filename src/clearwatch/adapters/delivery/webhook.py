"""Signed webhooks: HMAC-SHA256 over timestamp and body, a secret per recipient, replays refused.

The sender signs `<unix seconds>.<nonce>.<body>` with the recipient's secret and sends the
signature, the timestamp, the nonce and the delivery key as headers. A receiver checks with
`verify_request`: the timestamp within the replay window, the signature equal in constant time,
and the nonce not seen before; it deduplicates deliveries by the key (a retry after a crash
carries the same key). The nonce is fresh on every attempt: without it a retry sent within the
same second as the attempt before it signed to the same bytes and was refused as a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping, MutableSet
from datetime import UTC, datetime

from clearwatch.adapters.crash_points import crash_point
from clearwatch.services.monitor.delivery_ports import DeliveryFailed, Endpoint

SIGNATURE_HEADER = "X-Clearwatch-Signature"
TIMESTAMP_HEADER = "X-Clearwatch-Timestamp"
DELIVERY_HEADER = "X-Clearwatch-Delivery"
NONCE_HEADER = "X-Clearwatch-Nonce"
nonce_bytes = 16
replay_window_seconds = 300
webhook_timeout_seconds = 10
error_text_chars_max = 300

TIMESTAMP_MUST_BE_WITHIN_WINDOW = "timestamp_must_be_within_the_replay_window"
SIGNATURE_MUST_MATCH = "signature_must_match"
REQUEST_MUST_NOT_BE_REPLAYED = "request_must_not_be_replayed"


def signature(secret: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + nonce + "." + body)."""
    signed = timestamp.encode("ascii") + b"." + nonce.encode("ascii") + b"." + body
    return f"sha256={hmac.new(secret, signed, hashlib.sha256).hexdigest()}"


def signed_headers(
    secret: bytes, *, key: str, body: bytes, at: datetime, nonce: str | None = None
) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    nonce = nonce if nonce is not None else secrets.token_hex(nonce_bytes)
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, timestamp, nonce, body),
        DELIVERY_HEADER: key,
    }


def verify_request(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    seen: MutableSet[str],
    window_seconds: int = replay_window_seconds,
) -> str | None:
    """None when the request is authentic and fresh; else the rule it breaks."""
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > window_seconds:
        return TIMESTAMP_MUST_BE_WITHIN_WINDOW
    nonce = lowered.get(NONCE_HEADER.lower(), "")
    if not nonce.isascii():
        return SIGNATURE_MUST_MATCH
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not hmac.compare_digest(given, signature(secret, timestamp, nonce, body)):
        return SIGNATURE_MUST_MATCH
    if nonce in seen or not nonce:
        return REQUEST_MUST_NOT_BE_REPLAYED
    seen.add(nonce)
    return None


class HttpWebhookSender:
    """POSTs over HTTP(S) with the standard library; anything but 2xx is a failed attempt."""

    def __init__(self, timeout_seconds: float = webhook_timeout_seconds) -> None:
        self._timeout = timeout_seconds

    def send(self, endpoint: Endpoint, *, key: str, body: bytes) -> None:
        # Signed at the real time, whatever clock schedules the worker: the receiver checks
        # the timestamp against its own clock.
        at = datetime.now(UTC)
        request = urllib.request.Request(
            endpoint.url,
            data=body,
            method="POST",
            headers=signed_headers(endpoint.secret, key=key, body=body, at=at),
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(f"HTTP {error.code} from {endpoint.url}") from error
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryFailed(f"{endpoint.url}: {error}"[:error_text_chars_max]) from error
        if not 200 <= status < 300:
            raise DeliveryFailed(f"HTTP {status} from {endpoint.url}")
        # Tests kill the worker here: sent, not yet recorded (the receiver dedupes by key).
        crash_point("webhook_sent")
