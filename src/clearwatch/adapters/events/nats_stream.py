"""The watch's stream through NATS JetStream: retained, ordered, deduplicated by event key.

Each event goes to `<prefix>.<yyyymmdd>.<broker>.<kind>` with `Nats-Msg-Id` = its key, so the
server drops a republished key within the duplicate window. A consumer is an ephemeral ordered
push consumer from the first retained message (no acknowledgements: a restarted consumer
replays from the start, see `services/watch/consume.py`), so one that dies leaves nothing
behind. Why push and not pull: measured in bench/README.md, a pull `fetch` costs nats-py
twice the CPU per message (a timed wait per message) and waits out its expiry whenever fewer
than a batch are there; the push consumer's callback gets each message as the server sends it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy, PubAck, StreamConfig
from nats.js.errors import NotFoundError

from clearwatch.adapters.events.codec import decode_event, encode_event
from clearwatch.domain.watch.events import WatchEvent

STREAM_DEFAULT = "CLEARWATCH_WATCH"
SUBJECT_PREFIX_DEFAULT = "clearwatch.watch"
duplicate_window_seconds = 3600.0  # a republished key within this is dropped by the server
retained_age_max_seconds = 7 * 24 * 3600.0  # a week: a restarted consumer's history
# Acknowledgements outstanding before the publisher waits. It bounds the publisher's own queue:
# 4,096 was 0.4 s of lag at 10,000 events/s as soon as the server or the publisher's reader
# fell behind once (measured); 256 is 26 ms and still keeps the pipe full on loopback.
publish_pending_max = 256
acks_wait_seconds = 30.0  # the server acknowledges in milliseconds; past this it is gone
connect_timeout_seconds = 5.0


def subject_prefix_for(stream: str) -> str:
    """Each stream its own subjects: NATS refuses a stream whose subjects overlap another's,
    so a second configured stream on one server would fail under the default prefix."""
    return SUBJECT_PREFIX_DEFAULT if stream == STREAM_DEFAULT else f"clearwatch.stream.{stream}"


def subject_of(prefix: str, event: WatchEvent) -> str:
    broker = event.broker_id or "_"
    return f"{prefix}.{event.business_date:%Y%m%d}.{broker}.{event.kind.value.replace('.', '_')}"


@dataclass
class _Acks:
    """Acknowledgements counted as they come, not kept: a week's replay is millions."""

    new: int = 0
    failure: BaseException | None = None

    def count(self, future: asyncio.Future[PubAck]) -> None:
        if future.cancelled():
            self.failure = self.failure or asyncio.CancelledError()
        elif (error := future.exception()) is not None:
            self.failure = self.failure or error
        elif not future.result().duplicate:
            self.new += 1


@dataclass
class _Delivery:
    """One consumer's messages, handed to the handler inside nats-py's callback task."""

    handler: Callable[[WatchEvent], object]
    last_seq: int | None  # stop once this stream sequence is handled (None: do not)
    limit: int | None
    delivered: int = 0
    failure: BaseException | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    last_arrival: float = field(default_factory=time.monotonic)  # float ok

    async def on_message(self, message: Msg) -> None:
        if self.done.is_set():
            return  # past the limit: a consumer that "dies" here reads no further
        try:
            self.handler(decode_event(message.data))
        except Exception as error:  # nats-py hands a callback's error to a log, not to us
            self.failure = error
            self.done.set()
            return
        self.delivered += 1
        self.last_arrival = time.monotonic()
        if (self.limit is not None and self.delivered >= self.limit) or (
            self.last_seq is not None and message.metadata.sequence.stream >= self.last_seq
        ):
            self.done.set()

    async def finished(self, idle_seconds: float | None) -> int:
        if not idle_seconds:  # 0: up to `last_seq`; None: forever (or the limit)
            await self.done.wait()
        while idle_seconds and not self.done.is_set():
            quiet_left = self.last_arrival + idle_seconds - time.monotonic()
            if quiet_left <= 0:
                break
            try:
                await asyncio.wait_for(self.done.wait(), quiet_left)
            except TimeoutError:
                continue
        if self.failure is not None:
            raise self.failure
        return self.delivered


@dataclass
class JetStreamEvents:
    url: str
    stream: str = STREAM_DEFAULT
    subject_prefix: str = SUBJECT_PREFIX_DEFAULT

    async def _connect(self) -> tuple[Client, JetStreamContext]:
        client = await nats.connect(
            self.url, connect_timeout=connect_timeout_seconds, max_reconnect_attempts=3
        )
        js = client.jetstream(publish_async_max_pending=publish_pending_max)
        return client, js

    async def ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[f"{self.subject_prefix}.>"],
                    duplicate_window=duplicate_window_seconds,
                    max_age=retained_age_max_seconds,
                )
            )

    # -- publishing ---------------------------------------------------------------------

    def publish(self, events: Iterable[WatchEvent]) -> int:
        return asyncio.run(self.publish_async(events))

    async def publish_async(
        self, events: Iterable[WatchEvent], *, pace: Callable[[int], Awaitable[None]] | None = None
    ) -> int:
        """Publish and wait for every acknowledgement; returns how many were new (a key the
        server already holds is acknowledged as a duplicate and not counted). `pace`, if
        given, is awaited before each event is published (a bench paces its rate with it)."""
        client, js = await self._connect()
        try:
            await self.ensure_stream(js)
            acks = _Acks()
            for count, event in enumerate(events):
                if pace is not None:
                    await pace(count)
                future = await js.publish_async(
                    subject_of(self.subject_prefix, event),
                    encode_event(event),
                    headers={"Nats-Msg-Id": event.key},
                )
                future.add_done_callback(acks.count)
            await asyncio.wait_for(js.publish_async_completed(), acks_wait_seconds)
            if acks.failure is not None:
                raise acks.failure
            return acks.new
        finally:
            await client.close()

    # -- consuming ----------------------------------------------------------------------

    def consume(
        self,
        handler: Callable[[WatchEvent], object],
        *,
        idle_seconds: float | None,
        limit: int | None = None,
    ) -> int:
        return asyncio.run(self.consume_async(handler, idle_seconds=idle_seconds, limit=limit))

    async def consume_async(
        self,
        handler: Callable[[WatchEvent], object],
        *,
        idle_seconds: float | None,
        limit: int | None = None,
    ) -> int:
        """From the first retained event, in order. `idle_seconds` 0: what is retained now;
        > 0: until nothing new came for that long; None: forever."""
        client, js = await self._connect()
        try:
            await self.ensure_stream(js)
            last = (await js.stream_info(self.stream)).state.last_seq
            if limit == 0 or (idle_seconds == 0 and last == 0):
                return 0
            delivery = _Delivery(handler, last if idle_seconds == 0 else None, limit)
            # Ordered: one ephemeral consumer, flow-controlled, re-created from the last
            # sequence handled if a message goes missing, so delivery stays in stream order.
            subscription = await js.subscribe(
                f"{self.subject_prefix}.>",
                stream=self.stream,
                cb=delivery.on_message,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.ALL,
            )
            try:
                return await delivery.finished(idle_seconds)
            finally:
                await subscription.unsubscribe()
        finally:
            await client.close()
