"""The back office's live feed: a delivered batch's events onto the watch's stream."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clearwatch.domain.watch.events import WatchEvent
from clearwatch.services.watch.ports import EventSource, EventStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamPublisher:
    """Reads the delivery as a replay would (`DayFilesSource`), so the keys are the same."""

    stream: Callable[[], EventStream]
    source: Callable[[Path], EventSource]

    def batch_delivered(self, directory: Path) -> None:
        try:
            self.stream().publish(self.source(directory).events())
        except Exception as error:  # the import stands; `watch publish --from` can redo this
            log.warning("watch_events_not_published: %s: %s", directory, error)

    def occurred(self, events: Sequence[WatchEvent]) -> None:
        if not events:
            return
        try:
            self.stream().publish(events)
        except Exception as error:  # the books stand; the events' keys make a retry harmless
            log.warning("watch_events_not_published: %s: %s", events[0].key, error)
