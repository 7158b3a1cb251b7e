"""The embedded default: an in-process stream with JetStream's semantics and nothing to start.

Events are retained in order and deduplicated by key at publication (as JetStream does with
`Nats-Msg-Id`), and every consumer reads from the first one, so a replay through this stream
and through NATS gives the same alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from clearwatch.domain.watch.events import WatchEvent


class InProcessStream:
    def __init__(self) -> None:
        self.retained: list[WatchEvent] = []
        self._keys: set[str] = set()

    def publish(self, events: Iterable[WatchEvent]) -> int:
        published = 0
        for event in events:
            if event.key not in self._keys:
                self._keys.add(event.key)
                self.retained.append(event)
                published += 1
        return published

    def consume(
        self,
        handler: Callable[[WatchEvent], object],
        *,
        idle_seconds: float | None,
        limit: int | None = None,
    ) -> int:
        """Deliver what is retained; nothing else can arrive while this runs in-process, so
        it returns at the end whatever `idle_seconds` says."""
        delivered = 0
        for event in self.retained:
            if limit is not None and delivered >= limit:
                break
            handler(event)
            delivered += 1
        return delivered
