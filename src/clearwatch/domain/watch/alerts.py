"""Alerts: what a rule or a model saw, at which level, with its evidence and the rules' hash."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.shared.masking import mask
from clearwatch.domain.shared.money import format_fen, parse_fen
from clearwatch.domain.watch.events import WatchEvent, event_from_dict, event_to_dict


class WatchLevel(StrEnum):
    """The monitor's three tiers, so a reviewer reads one scale across findings and alerts."""

    ATTENTION = "attention"
    GENERAL = "general"
    MAJOR = "major"


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's part in a model alert: its value, what is usual, and its weight."""

    feature: str
    value: float  # float ok: a model feature, never money
    usual: float  # float ok
    weight: float  # float ok


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert. `key` is stable (rule, subject, date): raising it again changes nothing.
    It ends with the subject (a client's account), so it stays inside: what is printed, and
    what a review or a halt takes, is `number`, the alert's place among its broker's alerts
    in the alert log."""

    key: str
    rule: str
    level: WatchLevel
    business_date: date
    broker_id: str
    subject: str  # the account, counterparty, batch or node the alert is about
    summary: str
    amount_fen: int  # the money at stake (0 when a rule has none)
    raised_at: datetime  # the time of the last evidence event: business time, not wall time
    rules_sha256: str
    evidence: tuple[WatchEvent, ...] = ()
    contributions: tuple[Contribution, ...] = ()
    model_version: str = ""  # a model alert's model (sha256 of its training rows, rules, seed)
    number: int = 0  # its place among its broker's in the log, from 1 (0: not read from a log)


def alert_label(alert: Alert) -> str:
    """How a message names an alert: by its number, never by its key (which names a client);
    an alert read from no log by its key masked."""
    return f"alert #{alert.number}" if alert.number else f"alert {mask(alert.key)}"


def numbered_by_broker(alerts: Iterable[Alert]) -> list[Alert]:
    """Alerts in the order raised, each numbered by its place among its own broker's: an
    operator's numbers run 1, 2, 3 whatever other brokers of the store raised (a number by
    line would let the gaps count another broker's alerts). The log is only appended to, so
    a number never changes."""
    raised: Counter[str] = Counter()
    numbered = []
    for alert in alerts:
        raised[alert.broker_id] += 1
        numbered.append(replace(alert, number=raised[alert.broker_id]))
    return numbered


def is_alert_number(handle: str) -> bool:
    """Whether a handle a user gave is an alert's number (`12`) rather than its key (a key
    always holds a `/`)."""
    return handle.isascii() and handle.isdigit()


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "key": alert.key,
        "rule": alert.rule,
        "level": alert.level.value,
        "business_date": alert.business_date.isoformat(),
        "broker_id": alert.broker_id,
        "subject": alert.subject,
        "summary": alert.summary,
        "amount": format_fen(alert.amount_fen),
        "raised_at": alert.raised_at.isoformat(),
        "rules_sha256": alert.rules_sha256,
        "evidence": [event_to_dict(event) for event in alert.evidence],
        "contributions": [
            {"feature": c.feature, "value": c.value, "usual": c.usual, "weight": c.weight}
            for c in alert.contributions
        ],
        "model_version": alert.model_version,
    }


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """An alert as `alert_to_dict` wrote it (the alert log's lines), evidence and all."""
    return Alert(
        key=str(data["key"]),
        rule=str(data["rule"]),
        level=WatchLevel(data["level"]),
        business_date=date.fromisoformat(data["business_date"]),
        broker_id=str(data["broker_id"]),
        subject=str(data["subject"]),
        summary=str(data["summary"]),
        amount_fen=parse_fen(str(data["amount"])),
        raised_at=datetime.fromisoformat(data["raised_at"]),
        rules_sha256=str(data["rules_sha256"]),
        evidence=tuple(event_from_dict(event) for event in data.get("evidence", ())),
        contributions=tuple(
            Contribution(
                c["feature"],
                float(c["value"]),  # float ok
                float(c["usual"]),  # float ok
                float(c["weight"]),  # float ok
            )
            for c in data.get("contributions", ())
        ),
        model_version=str(data.get("model_version", "")),
    )
