"""The learned models on the stream: account features per day, each day scored once complete.

A day is complete when the stream reaches a later business date (live), or at the end of a
replay. An open day is never scored: half a day's withdrawals and trades would look unlike
any whole day the models saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from clearwatch.domain.watch.alerts import Alert
from clearwatch.domain.watch.events import WatchEvent
from clearwatch.domain.watch.features import DailyFeatures
from clearwatch.domain.watch.rules import WatchRules
from clearwatch.services.watch.models import WatchModels, score_day


@dataclass
class ModelWatch:
    models: WatchModels
    rules: WatchRules
    features: DailyFeatures = field(default_factory=DailyFeatures)
    open_days: set[date] = field(default_factory=set)
    scored_days: set[date] = field(default_factory=set)

    def observe(self, event: WatchEvent) -> list[Alert]:
        """Add the event to its day's features; score the days before it not yet scored."""
        day = event.business_date
        complete = sorted(d for d in self.open_days if d < day)
        if day not in self.scored_days:  # a late event of a scored day changes no alert
            self.features.observe(event)
            self.open_days.add(day)
        return self._score(complete)

    def close(self) -> list[Alert]:
        """The end of a replay: every open day is complete."""
        return self._score(sorted(self.open_days))

    def _score(self, days: list[date]) -> list[Alert]:
        alerts: list[Alert] = []
        for day in days:
            alerts.extend(score_day(self.models, self.features, day, self.rules))
            self.open_days.discard(day)
            self.scored_days.add(day)
            self.features.forget(day)
        return alerts
