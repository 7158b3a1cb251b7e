"""Ports of the watch: where events come from, the stream they go through, where alerts go."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from clearwatch.domain.watch.alerts import Alert
from clearwatch.domain.watch.events import WatchEvent
from clearwatch.domain.watch.features import DailyFeatures
from clearwatch.domain.watch.flow_halts import Flow, FlowHalt
from clearwatch.domain.watch.reviews import AlertReview
from clearwatch.domain.watch.rules import WatchRules
from clearwatch.services.intraday.ports import IntradayUnitOfWork

if TYPE_CHECKING:  # models.py imports this module's ports
    from clearwatch.services.watch.models import BrokerReference, WatchModels

FloatMatrix = npt.NDArray[np.float64]


class EventSource(Protocol):
    """Events of the back office in the order they happened (files, the store, live hooks)."""

    def events(self) -> Iterator[WatchEvent]: ...


class EventStream(Protocol):
    """A retained, ordered stream of events, deduplicated by key at publication.

    `consume` delivers every retained event from the first, in order, then more as they come;
    it returns once nothing new arrived for `idle_seconds` (None: never), or after `limit`
    events (a consumer that dies mid-stream, in tests). A consumer that starts again replays
    from the first event: its state is rebuilt, and the alert log keeps alerts from repeating.
    """

    def publish(self, events: Iterable[WatchEvent]) -> int: ...

    def consume(
        self,
        handler: Callable[[WatchEvent], object],
        *,
        idle_seconds: float | None,
        limit: int | None = None,
    ) -> int: ...


class AlertLog(Protocol):
    """Alerts raised so far, by key: adding one already there changes nothing."""

    def add(self, alert: Alert) -> bool:
        """True when the alert is new (and now durably recorded)."""
        ...

    def keys(self) -> set[str]: ...

    def recorded(self) -> list[Alert]:
        """Every alert recorded, in the order raised (what the risk desk reviews)."""
        ...


class OutlierModel(Protocol):
    """An unsupervised model of account-days: fitted on clean days, higher score = odder."""

    def fit(self, rows: FloatMatrix, *, seed: int, trees: int) -> None: ...

    def scores(self, rows: FloatMatrix) -> npt.NDArray[np.float64]: ...


class ModelFiles(Protocol):
    """Where trained models are kept: the clean days they learned from, refitted on load."""

    def save(
        self, path: Path, training: DailyFeatures, calibration: DailyFeatures, models: WatchModels,
        rules: WatchRules, reference: BrokerReference | None = None,
    ) -> None: ...  # fmt: skip

    def load(self, path: Path, rules: WatchRules) -> WatchModels:
        """The models, fitted again from the file's rows and seed, or ModelFileError."""
        ...


class EventPublisher(Protocol):
    """The back office's live feed to the watch (issue 19).

    Told of each batch delivery once the import has committed it, found it already imported
    or refused it: the watch must see repeated and refused deliveries too (incident B). It
    publishes the delivery's events with the keys a replay of the same directory gives, so a
    later `watch publish --from` adds nothing. It never raises: the import is done whatever
    becomes of its events, and a missed delivery can be published again from its files.
    """

    def batch_delivered(self, directory: Path) -> None: ...

    def occurred(self, events: Sequence[WatchEvent]) -> None:
        """Events the back office made itself (an end-of-day step, a node's start, takeover
        or halt, a reversal), told once they are committed; keyed by what happened
        (`domain/watch/live.py`), so telling them again changes nothing. Never raises."""
        ...


class NoPublisher:
    """The default: nothing is listening (no stream configured, tests, drills)."""

    def batch_delivered(self, directory: Path) -> None:
        return None

    def occurred(self, events: Sequence[WatchEvent]) -> None:
        return None


NO_PUBLISHER = NoPublisher()


class AlertReviews(Protocol):
    """The risk desk's reviews, one per alert, appended and never changed."""

    def review(self, alert_key: str) -> AlertReview | None: ...

    def add(self, review: AlertReview, *, alert: dict[str, object]) -> bool:
        """False when the alert was reviewed already (a race lost); `alert` is kept whole."""
        ...

    def reviews(self, *, broker_id: str | None = None) -> list[AlertReview]: ...


class FlowHalts(Protocol):
    """Flows halted by approval and their lifts, appended and never changed."""

    def add(self, flow: Flow, *, approval_id: int, alert_key: str, at: datetime, by: str) -> int:
        """The new halt's id."""
        ...

    def lift(self, halt_id: int, *, approval_id: int, at: datetime, by: str) -> bool:
        """False when the halt was lifted already."""
        ...

    def halt(self, halt_id: int) -> FlowHalt | None: ...

    def by_approval(self, approval_id: int) -> FlowHalt | None: ...

    def halts(self, *, broker_id: str | None = None, in_force: bool = False) -> list[FlowHalt]: ...


class WatchUnitOfWork(IntradayUnitOfWork, Protocol):
    """Reviews, approvals, the intraday halts and the flow halts in one transaction."""

    @property
    def watch_reviews(self) -> AlertReviews: ...

    @property
    def flow_halts(self) -> FlowHalts: ...


@dataclass(frozen=True)
class WatchWiring:
    """What the watch's use cases need, built by bootstrap from the settings."""

    rules: WatchRules
    source: Callable[[Path], EventSource]  # the events of a simulated or recorded directory
    in_process_stream: Callable[[], EventStream]
    live_stream: Callable[[], EventStream] | None  # None: no NATS configured
    live_name: str  # where the live stream is, fit to print
    alert_log: Callable[[], AlertLog]  # the durable one, under the home
    model_files: ModelFiles | None = None
    outlier_model: Callable[[], OutlierModel] | None = None  # for training new models
