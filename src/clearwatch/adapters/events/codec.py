"""Events on the wire: compact UTF-8 JSON, amounts as integers (never floats)."""

from __future__ import annotations

import json

from clearwatch.domain.watch.events import WatchEvent, event_from_dict, event_to_dict


def encode_event(event: WatchEvent) -> bytes:
    return json.dumps(event_to_dict(event), separators=(",", ":"), ensure_ascii=False).encode()


def decode_event(data: bytes) -> WatchEvent:
    return event_from_dict(json.loads(data))
