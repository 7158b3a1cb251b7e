"""Consume the event stream: each event once by key, each alert once by key, durably.

A consumer keeps its detectors' state in memory. Killed, it loses that state and nothing else:
its successor replays the retained stream from the first event, which rebuilds the state, and
the alert log drops the alerts its predecessor already recorded. So nothing is lost (every
event is seen again) and nothing is doubled (keys, not positions, decide).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from clearwatch.domain.watch.alerts import Alert, numbered_by_broker
from clearwatch.domain.watch.detectors import WatchEngine
from clearwatch.domain.watch.events import WatchEvent
from clearwatch.domain.watch.rules import WatchRules
from clearwatch.services.watch.ports import AlertLog, EventSource, EventStream
from clearwatch.services.watch.scoring import ModelWatch


class AlertsInMemory:
    """An alert log for replays and tests: kept for the life of the process."""

    def __init__(self) -> None:
        self.alerts: dict[str, Alert] = {}

    def add(self, alert: Alert) -> bool:
        if alert.key in self.alerts:
            return False
        self.alerts[alert.key] = alert
        return True

    def keys(self) -> set[str]:
        return set(self.alerts)

    def recorded(self) -> list[Alert]:
        """In the order raised, numbered among each broker's as the durable log numbers them."""
        return numbered_by_broker(self.alerts.values())


@dataclass
class WatchConsumer:
    engine: WatchEngine
    log: AlertLog
    on_alert: Callable[[Alert], None] | None = None
    models: ModelWatch | None = None  # the learned models, when a model file is given
    seen: set[str] = field(default_factory=set)
    duplicates: int = 0  # events delivered again (a redelivery or a republished key)
    raised: list[Alert] = field(default_factory=list)

    @classmethod
    def for_rules(
        cls,
        rules: WatchRules,
        log: AlertLog,
        on_alert: Callable[[Alert], None] | None = None,
        models: ModelWatch | None = None,
    ) -> WatchConsumer:
        return cls(engine=WatchEngine(rules), log=log, on_alert=on_alert, models=models)

    def handle(self, event: WatchEvent) -> list[Alert]:
        if event.key in self.seen:
            self.duplicates += 1
            return []
        self.seen.add(event.key)
        alerts = self.engine.observe(event)
        if self.models is not None:
            alerts = [*alerts, *self.models.observe(event)]
        return self._raise(alerts)

    def finish(self) -> list[Alert]:
        """The stream ended (a replay): the models score the days still open."""
        return self._raise(self.models.close() if self.models is not None else [])

    def _raise(self, alerts: list[Alert]) -> list[Alert]:
        fresh = [alert for alert in alerts if self.log.add(alert)]
        for alert in fresh:
            self.raised.append(alert)
            if self.on_alert is not None:
                self.on_alert(alert)
        return fresh


@dataclass(frozen=True)
class ReplayResult:
    published: int
    consumed: int
    alerts: tuple[Alert, ...]


def replay(*, source: EventSource, stream: EventStream, consumer: WatchConsumer) -> ReplayResult:
    """Publish a day's (or market's) events to the stream and consume them to the end."""
    published = stream.publish(source.events())
    consumed = stream.consume(consumer.handle, idle_seconds=0.0)
    consumer.finish()
    return ReplayResult(published=published, consumed=consumed, alerts=tuple(consumer.raised))
