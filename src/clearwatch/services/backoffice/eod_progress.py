"""End of day by step, as the step log tells it: what ran, when, and what it wrote.

Read only, for the back office's page. A step the log shows started but never completed is
`started`: it is running, or it failed or crashed there, and a re-run resumes at it. A step
completed more than once (its outputs written again) shows its latest completion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.services.access.authorize import Gate
from clearwatch.services.backoffice.ports import BackOfficeUnitOfWork
from clearwatch.services.backoffice.run_eod import EOD_STEPS


class StepState(StrEnum):
    NOT_STARTED = "not_started"
    STARTED = "started"  # running, or stopped there (failed, crashed): a re-run resumes here
    COMPLETED = "completed"


@dataclass(frozen=True)
class StepProgress:
    step: str
    state: StepState
    started_at: datetime | None = None
    completed_at: datetime | None = None
    runs: int = 0  # how many times it completed (an output written again counts)
    outputs: dict[str, str] = field(default_factory=dict)  # file → sha256, for output steps
    detail: dict[str, Any] = field(default_factory=dict)


def eod_progress(
    *, gate: Gate, uow: BackOfficeUnitOfWork, broker_id: str, business_date: date
) -> list[StepProgress]:
    """Every step of the day in run order with its state, times and outputs."""
    gate.check(Action.BROKER_EOD_STATUS, Resource(institution=broker_id))
    with uow:
        events = uow.eod.events(broker_id, business_date)
    return [_progress(step.value, events) for step in EOD_STEPS]


def _progress(step: str, events: list[tuple[str, str, str, dict[str, Any]]]) -> StepProgress:
    mine = [(event, datetime.fromisoformat(at), detail) for name, event, at, detail in events
            if name == step]  # fmt: skip
    if not mine:
        return StepProgress(step, StepState.NOT_STARTED)
    starts = [at for event, at, _ in mine if event == "started"]
    completions = [(at, detail) for event, at, detail in mine if event == "completed"]
    last_start = starts[-1] if starts else None
    # In log order: a start after the last completion is a run that has not finished.
    if mine[-1][0] != "completed":
        return StepProgress(step, StepState.STARTED, last_start, runs=len(completions))
    at, detail = completions[-1]
    outputs = detail.get("outputs")
    return StepProgress(
        step,
        StepState.COMPLETED,
        last_start,
        at,
        runs=len(completions),
        outputs={str(k): str(v) for k, v in outputs.items()} if isinstance(outputs, dict) else {},
        detail={k: v for k, v in detail.items() if k != "outputs"},
    )
