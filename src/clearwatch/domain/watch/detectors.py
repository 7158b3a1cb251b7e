"""The rules over the stream: one detector per rule, each a small state machine fed in order.

A detector sees only the kinds it declares and keeps only what its rule needs (a window of
withdrawals per account, a running total of deductions per reason). Each alert's key names the
rule, the subject and the day, so the engine raises it once however often a replay shows it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol

from clearwatch.domain.shared.money import format_fen
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.domain.watch.events import EventKind, WatchEvent
from clearwatch.domain.watch.rules import WatchRules

evidence_events_max = 20  # the events kept behind one alert; the first ones say what happened
TOTAL_PREFIX = "total:"  # batch events carry each reason's file total as `total:<reason>`
PER_MILLION = 1_000_000


class Detector(Protocol):
    kinds: frozenset[EventKind]

    def observe(self, event: WatchEvent) -> Alert | None: ...


def _alert(
    rules: WatchRules,
    *,
    rule: str,
    level: WatchLevel,
    subject: str,
    summary: str,
    amount_fen: int,
    evidence: Sequence[WatchEvent],
    suffix: str = "",
) -> Alert:
    last = evidence[-1]
    key = f"{rule}/{last.broker_id}/{last.business_date.isoformat()}/{subject}{suffix}"
    return Alert(
        key=key,
        rule=rule,
        level=level,
        business_date=last.business_date,
        broker_id=last.broker_id,
        subject=subject,
        summary=summary,
        amount_fen=amount_fen,
        raised_at=last.occurred_at,
        rules_sha256=rules.content_sha256,
        evidence=tuple(evidence[:evidence_events_max]),
    )


class WithdrawalBurst:
    """Withdrawals from one account (bank transfers) or outflows to one counterparty (special
    accounts) bursting: `count_min` of them, or `amount_min` in two or more, within the window."""

    kinds = frozenset({EventKind.BANK_TRANSFER, EventKind.SPECIAL_ACCOUNT_MOVEMENT})

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self.rule = rules.burst
        self.windows: dict[tuple[str, str, date, str], deque[WatchEvent]] = {}

    def _group(self, event: WatchEvent) -> tuple[str, str] | None:
        if event.amount_fen >= 0:
            return None
        if event.kind is EventKind.BANK_TRANSFER:
            return ("account", event.account) if "account" in self.rule.group_by else None
        if "counterparty" not in self.rule.group_by or not event.counterparty:
            return None
        if event.detail in self.rule.counterparty_kinds_exempt:
            return None
        return ("counterparty", event.counterparty)

    def observe(self, event: WatchEvent) -> Alert | None:
        group = self._group(event)
        if group is None:
            return None
        slot = (group[0], event.broker_id, event.business_date, group[1])
        window = self.windows.get(slot)
        if window is None:
            window = self.windows[slot] = deque()
        window.append(event)
        while (
            event.occurred_at - window[0].occurred_at
        ).total_seconds() > self.rule.window_seconds:
            window.popleft()
        total = -sum(e.amount_fen for e in window)
        count = len(window)
        if count < self.rule.count_min and (count < 2 or total < self.rule.amount_min_fen):
            return None
        what = "withdrawals from" if group[0] == "account" else "outflows to"
        return _alert(
            self.rules,
            rule="withdrawal_burst",
            level=self.rule.level,
            subject=f"{group[0]}:{group[1]}",
            summary=f"{count} {what} {group[1]} within {self.rule.window_seconds} s, "
            f"{format_fen(total)} in all",
            amount_fen=total,
            evidence=list(window),
        )


class DeductionExcess:
    """Deductions of one reason on one day beyond the total of the day's distinct files."""

    kinds = frozenset({EventKind.BATCH_RECEIVED, EventKind.CASH_ADJUSTMENT})

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self.rule = rules.deduction
        self.files: dict[tuple[str, date], set[str]] = defaultdict(set)
        self.file_total: dict[tuple[str, date, str], int] = defaultdict(int)
        self.deducted: dict[tuple[str, date, str], int] = defaultdict(int)
        self.evidence: dict[tuple[str, date], list[WatchEvent]] = defaultdict(list)

    def _file(self, event: WatchEvent) -> None:
        digest = event.extra_value("adjustments_sha256")
        seen = self.files[(event.broker_id, event.business_date)]
        self.evidence[(event.broker_id, event.business_date)].append(event)
        if not digest or digest in seen:
            return  # the same file again adds nothing to what the day's files say
        seen.add(digest)
        for name, value in event.extra:
            if name.startswith(TOTAL_PREFIX):
                reason = name.removeprefix(TOTAL_PREFIX)
                self.file_total[(event.broker_id, event.business_date, reason)] += -int(value)

    def observe(self, event: WatchEvent) -> Alert | None:
        if event.kind is EventKind.BATCH_RECEIVED:
            self._file(event)
            return None
        if event.detail not in self.rule.reasons or event.amount_fen >= 0:
            return None
        slot = (event.broker_id, event.business_date, event.detail)
        self.deducted[slot] += -event.amount_fen
        excess = self.deducted[slot] - self.file_total[slot]
        if excess <= 0:
            return None
        trail = self.evidence[(event.broker_id, event.business_date)]
        if len(trail) < evidence_events_max:
            trail.append(event)
        level = WatchLevel.MAJOR if excess >= self.rule.major_from_fen else self.rule.level
        return _alert(
            self.rules,
            rule="deduction_excess",
            level=level,
            subject=f"reason:{event.detail}",
            summary=f"{event.detail} deducted {format_fen(self.deducted[slot])} against "
            f"{format_fen(self.file_total[slot])} in the day's files: "
            f"{format_fen(excess)} too much",
            amount_fen=excess,
            evidence=[*trail, event] if trail[-1] is not event else trail,
            suffix=f"/{level.value}",  # an escalation is a new alert; the same level is not
        )


class UnexpectedCounterparty:
    """An outflow from a special account to a kind of counterparty client money never goes to."""

    kinds = frozenset({EventKind.SPECIAL_ACCOUNT_MOVEMENT})

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self.rule = rules.counterparty

    def observe(self, event: WatchEvent) -> Alert | None:
        if event.amount_fen >= 0 or event.detail in self.rule.expected_kinds:
            return None
        amount = -event.amount_fen
        level = WatchLevel.MAJOR if amount >= self.rule.major_from_fen else self.rule.level
        return _alert(
            self.rules,
            rule="unexpected_counterparty",
            level=level,
            subject=f"account:{event.account}",
            summary=f"{format_fen(amount)} left {event.account} for {event.counterparty} "
            f"({event.detail or 'unknown kind'})",
            amount_fen=amount,
            evidence=[event],
            suffix=f"/{event.key}",
        )


class NodeDivergence:
    """Σ available across a broker's nodes for one client above the central books' figure."""

    kinds = frozenset({EventKind.NODE_FUNDS})

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self.rule = rules.node
        self.held: dict[tuple[str, date, str], dict[str, WatchEvent]] = defaultdict(dict)

    def observe(self, event: WatchEvent) -> Alert | None:
        nodes = self.held[(event.broker_id, event.business_date, event.account)]
        nodes[event.counterparty] = event  # a node's latest figure replaces its earlier one
        central = int(event.extra_value("central", "0"))
        total = sum(e.amount_fen for e in nodes.values())
        excess = total - central
        if excess <= self.rule.tolerance_fen:
            return None
        return _alert(
            self.rules,
            rule="node_divergence",
            level=self.rule.level,
            subject=f"account:{event.account}",
            summary=f"{len(nodes)} nodes hold {format_fen(total)} for {event.account}; "
            f"the central books {format_fen(central)}: {format_fen(excess)} phantom",
            amount_fen=excess,
            evidence=sorted(nodes.values(), key=lambda e: e.occurred_at),
        )


class SpecialAccountDivergence:
    """Σ available across a broker's nodes for the clients of one special account above the
    central books' figures for them, where the node's events name it (`special_account`): the
    account the phantom money would leave by, which a flow halt of its outflows stops. Small
    excesses, each within the tolerance, add up here; a client over it alone is also alerted
    on its own (`NodeDivergence`)."""

    kinds = frozenset({EventKind.NODE_FUNDS})

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self.rule = rules.node
        # (broker, date, client) → node → the node's latest figure, as `NodeDivergence` keeps it
        self.held: dict[tuple[str, date, str], dict[str, WatchEvent]] = defaultdict(dict)
        # (broker, date, special account) → client → its excess over the central figure, > 0;
        # kept as it changes, so a start of day of thousands of clients stays linear.
        self.over: dict[tuple[str, date, str], dict[str, int]] = defaultdict(dict)

    def observe(self, event: WatchEvent) -> Alert | None:
        special = event.extra_value("special_account")
        if not special:
            return None
        nodes = self.held[(event.broker_id, event.business_date, event.account)]
        nodes[event.counterparty] = event
        excess = sum(e.amount_fen for e in nodes.values()) - int(event.extra_value("central", "0"))
        over = self.over[(event.broker_id, event.business_date, special)]
        if excess > 0:
            over[event.account] = excess
        else:  # a node holding less than the books frees nothing another holds too much of
            over.pop(event.account, None)
            return None
        phantom = sum(over.values())
        if phantom <= self.rule.tolerance_fen:
            return None
        day = (event.broker_id, event.business_date)
        evidence = [e for account in over for e in self.held[(*day, account)].values()]
        return _alert(
            self.rules,
            rule="node_divergence",
            level=self.rule.level,
            subject=f"special_account:{special}",
            summary=f"the nodes hold {format_fen(phantom)} more than the central books for "
            f"{len(over)} clients of special account {special}",
            amount_fen=phantom,
            evidence=sorted(evidence, key=lambda e: e.occurred_at),
        )


class BatchAgain:
    """A batch of one kind and date arriving again, with the same bytes or with others."""

    kinds = frozenset({EventKind.BATCH_RECEIVED})

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self.first: dict[tuple[str, str, date], WatchEvent] = {}

    def observe(self, event: WatchEvent) -> Alert | None:
        slot = (event.broker_id, event.detail, event.business_date)
        first = self.first.setdefault(slot, event)
        if first is event:
            return None
        same = first.extra_value("sha256") == event.extra_value("sha256")
        batch = self.rules.batch
        level = batch.same_content_level if same else batch.different_content_level
        content = "the same bytes" if same else "different bytes"
        return _alert(
            self.rules,
            rule="batch_again",
            level=level,
            subject=f"batch:{event.detail}",
            summary=f"{event.detail} batch of {event.business_date} arrived again "
            f"({event.extra_value('delivery')}, {content})",
            amount_fen=0,
            evidence=[first, event],
            suffix=f"/{event.key}",
        )


class ReserveDrain:
    """The reserve at CSDC falling by more than the net trades since the last balance explain."""

    kinds = frozenset({EventKind.EXECUTION, EventKind.RESERVE_BALANCE})

    def __init__(self, rules: WatchRules) -> None:
        self.rules = rules
        self.rule = rules.reserve
        # Per (broker, market, date): Σ buys − Σ sells (due to CSDC) and the gross traded.
        self.due: dict[tuple[str, str, date], int] = defaultdict(int)
        self.gross: dict[tuple[str, str, date], int] = defaultdict(int)
        self.last: dict[tuple[str, str], WatchEvent] = {}

    def observe(self, event: WatchEvent) -> Alert | None:
        if event.kind is EventKind.EXECUTION:
            slot = (event.broker_id, event.detail, event.business_date)
            self.due[slot] -= event.amount_fen
            self.gross[slot] += abs(event.amount_fen)
            return None
        previous = self.last.get((event.broker_id, event.detail))
        self.last[(event.broker_id, event.detail)] = event
        if previous is None or previous.business_date > event.business_date:
            return None
        days = self._dates_between(event, previous.business_date)
        due = sum(self.due[(event.broker_id, event.detail, d)] for d in days)
        gross = sum(self.gross[(event.broker_id, event.detail, d)] for d in days)
        unexplained = previous.amount_fen - event.amount_fen - due
        allowance = gross * self.rule.fee_allowance_per_million // PER_MILLION
        if unexplained <= allowance + self.rule.tolerance_fen:
            return None
        level = WatchLevel.MAJOR if unexplained >= self.rule.major_from_fen else self.rule.level
        return _alert(
            self.rules,
            rule="reserve_drain",
            level=level,
            subject=f"reserve:{event.detail}",
            summary=f"{event.account} fell {format_fen(previous.amount_fen - event.amount_fen)}; "
            f"net trades explain {format_fen(due)} (+ fees ≤ {format_fen(allowance)}): "
            f"{format_fen(unexplained)} unexplained",
            amount_fen=unexplained,
            evidence=[previous, event],
        )

    def _dates_between(self, event: WatchEvent, since: date) -> list[date]:
        """The trading dates whose dues the reserve paid between two balances: [since, now)."""
        return sorted(
            {
                d
                for (broker, market, d) in self.due
                if broker == event.broker_id
                and market == event.detail
                and since <= d < event.business_date
            }
        )


def rule_detectors(rules: WatchRules) -> tuple[Detector, ...]:
    return (
        WithdrawalBurst(rules),
        DeductionExcess(rules),
        UnexpectedCounterparty(rules),
        NodeDivergence(rules),
        SpecialAccountDivergence(rules),
        BatchAgain(rules),
        ReserveDrain(rules),
    )


class WatchEngine:
    """Feeds each event to the detectors of its kind; each alert key is raised once."""

    def __init__(self, rules: WatchRules, detectors: Iterable[Detector] | None = None) -> None:
        self.rules = rules
        chosen = tuple(detectors) if detectors is not None else rule_detectors(rules)
        self.by_kind: dict[EventKind, tuple[Detector, ...]] = {
            kind: tuple(d for d in chosen if kind in d.kinds) for kind in EventKind
        }
        self.raised: set[str] = set()

    def observe(self, event: WatchEvent) -> list[Alert]:
        alerts: list[Alert] = []
        for detector in self.by_kind[event.kind]:
            alert = detector.observe(event)
            if alert is not None and alert.key not in self.raised:
                self.raised.add(alert.key)
                alerts.append(alert)
        return alerts
