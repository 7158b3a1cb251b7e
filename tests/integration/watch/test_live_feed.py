"""The importer's live feed to the watch: each delivery's events, keyed as a replay keys them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.events.memory import InProcessStream
from clearwatch.adapters.events.publisher import StreamPublisher
from clearwatch.bootstrap import Application, build_backoffice_tools
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.services.backoffice.import_batch import ImportStatus, import_batch
from tests.backoffice_batches import static_batch

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Recorded:
    def __init__(self) -> None:
        self.deliveries: list[Path] = []

    def batch_delivered(self, directory: Path) -> None:
        self.deliveries.append(directory)

    def occurred(self, events: Sequence[WatchEvent]) -> None:
        return None


def test_every_delivery_is_told_after_the_import_applied_or_absorbed_it(
    sqlite_app: Application, tmp_path: Path
) -> None:
    batch = static_batch(tmp_path / "inbox" / "S1")
    tools = build_backoffice_tools(sqlite_app.columnar, threads=1)
    feed = Recorded()
    first = import_batch(directory=batch, uow=sqlite_app.uow(), tools=tools, at=AT, publisher=feed)
    again = import_batch(directory=batch, uow=sqlite_app.uow(), tools=tools, at=AT, publisher=feed)
    assert (first.status, again.status) == (ImportStatus.APPLIED, ImportStatus.ALREADY_IMPORTED)
    assert feed.deliveries == [batch, batch]  # a repeat delivery is what the watch must see


def test_the_feed_publishes_the_keys_a_replay_of_the_inbox_gives(tmp_path: Path) -> None:
    batch = static_batch(tmp_path / "inbox" / "S1")
    stream = InProcessStream()
    StreamPublisher(stream=lambda: stream, source=DayFilesSource).batch_delivered(batch)
    replayed = [event.key for event in DayFilesSource(tmp_path / "inbox").events()]
    assert [event.key for event in stream.retained] == replayed
    assert stream.retained[0].kind is EventKind.BATCH_RECEIVED


class Down:
    def publish(self, events: Iterable[WatchEvent]) -> int:
        raise ConnectionRefusedError("nats is down")

    def consume(self, *args: object, **kwargs: object) -> int:
        return 0


def test_a_stream_that_is_down_does_not_undo_the_import(tmp_path: Path) -> None:
    batch = static_batch(tmp_path / "inbox" / "S1")
    StreamPublisher(stream=Down, source=DayFilesSource).batch_delivered(batch)  # no raise
