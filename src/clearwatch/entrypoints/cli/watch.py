"""`clearwatch watch`: rules and models over the back office's event stream (issue 19)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approval_masking import masked_request
from clearwatch.domain.access.approvals import ApprovalRequest
from clearwatch.domain.access.policy import Action
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.masking import mask_in
from clearwatch.domain.shared.money import format_fen
from clearwatch.domain.watch.alert_masking import masked_alert
from clearwatch.domain.watch.alerts import Alert, alert_label, alert_to_dict
from clearwatch.domain.watch.features import DailyFeatures
from clearwatch.domain.watch.flow_halts import ANY_COUNTERPARTY, Flow, FlowHalt
from clearwatch.domain.watch.reviews import ReviewDecision, client_accounts
from clearwatch.entrypoints.cli.common import EXIT_USAGE, application, console, fail, signed_in
from clearwatch.entrypoints.cli.evidence import books_of, evidence_option, whole_for
from clearwatch.entrypoints.cli.output import (
    Column,
    json_option,
    level_style,
    local_time,
    print_listing,
    say,
    wide_option,
)
from clearwatch.services.watch.consume import AlertsInMemory, WatchConsumer, replay
from clearwatch.services.watch.flow_halts import (
    FlowOutcome,
    approve_flow_halt,
    approve_lift,
    flow_halts,
    request_flow_halt,
    request_lift,
)
from clearwatch.services.watch.models import BrokerReference, split_days, train_models
from clearwatch.services.watch.ports import EventStream, WatchWiring
from clearwatch.services.watch.review import (
    HaltOutcome,
    alert_reviews,
    approve_halt,
    named_alert,
    request_halt,
    review_alert,
)
from clearwatch.services.watch.scoring import ModelWatch

watch_app = typer.Typer(
    help="Real-time watch over trade → clearing → account: rules and models (实时监测).",
    no_args_is_help=True,
)

ALERT_COLUMNS = (
    Column("level", "level", style=level_style),
    Column("rule", "rule"),
    Column("broker", "broker_id"),
    Column("date", "business_date"),
    Column("subject", "subject", whole=False),
    Column("amount", "amount", justify="right"),
    Column("what", "summary", whole=False, wide=True),
    Column("at", "raised_at", wide=True, show=lambda at: local_time(at, "%H:%M:%S")),
    Column("evidence", "evidence", wide=True, show=lambda found: f"{len(found)} events"),
)


def _watching(action: Action, *, evidence: bool = False) -> tuple[Application, Whole]:
    """The application, once the policy let the signed-in caller watch (a risk desk), and
    which brokers' alerts it shows whole (`--evidence`, asked before anything is read)."""
    wired = application()
    gate = signed_in(wired)
    gate.check_own(action)
    return wired, whole_for(gate, evidence, read="watch replay")


MODELS_HELP = "A model file (`watch train`): the learned models score each complete day too."
models_option = typer.Option(None, "--models", help=MODELS_HELP)


def _model_watch(wiring: WatchWiring, path: str | None) -> ModelWatch | None:
    """The models of the file, refitted from its clean days and checked against its version."""
    if path is None:
        return None
    assert wiring.model_files is not None
    try:
        models = wiring.model_files.load(Path(path), wiring.rules)
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from error
    return ModelWatch(models, wiring.rules)


Whole = Callable[[str], bool]  # whether a broker's rows are shown whole (`--evidence`)
SHOWN_MASKED: Whole = lambda _broker_id: False  # noqa: E731 - printed lines, never evidence


def _rows(alerts: tuple[Alert, ...] | list[Alert], whole: Whole) -> list[dict[str, Any]]:
    """The alerts as rows, table and `--json` alike, each with its number (the handle a review
    or a halt takes): the accounts they name, and the key, masked unless shown as the evidence
    the policy allowed (`domain/watch/alert_masking.py`)."""
    rows = [(alert, alert_to_dict(alert)) for alert in alerts]
    return [
        {"number": alert.number, **(row if whole(alert.broker_id) else masked_alert(row))}
        for alert, row in rows
    ]


def _subject(request: ApprovalRequest) -> str:
    """A halt's or a lift's request as printed: the client it names masked."""
    return masked_request(request.subject_ref, dict(request.payload))[0]


@watch_app.command("replay")
def replay_command(
    source: str = typer.Option(
        ..., "--from", help="A simulated market, one of its days, or an inbox of batches."
    ),
    through_nats: bool = typer.Option(
        False, "--through-nats", help="Go through the configured NATS stream, not in-process."
    ),
    models: str | None = models_option,
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: bool = evidence_option,
) -> None:
    """Run the detectors over a simulated or recorded day (or market) and print the alerts;
    the clients' accounts masked unless asked with `--evidence`."""
    directory = Path(source)
    if not directory.is_dir():
        raise fail(f"--from {source} is not a directory", EXIT_USAGE)
    wired, whole = _watching(Action.WATCH_READ, evidence=evidence)
    wiring = wired.watch_wiring()
    stream: EventStream = wiring.in_process_stream()
    if through_nats:
        if wiring.live_stream is None:
            raise fail("--through-nats needs CLEARWATCH_WATCH_NATS_URL", EXIT_USAGE)
        stream = wiring.live_stream()
    events = wiring.source(directory)
    raised = AlertsInMemory()  # numbered as a log would number them; nothing is kept
    consumer = WatchConsumer.for_rules(wiring.rules, raised, models=_model_watch(wiring, models))
    result = replay(source=events, stream=stream, consumer=consumer)
    title = (
        f"Watch alerts over {source} ({result.consumed:,} events, rules {wiring.rules.version_ref})"
    )
    rows = _rows(raised.recorded(), whole)
    print_listing(console, title, ALERT_COLUMNS, rows, wide=wide, as_json=as_json)


@watch_app.command("publish")
def publish(
    source: str = typer.Option(..., "--from", help="A simulated market, day or inbox."),
) -> None:
    """Publish a directory's events to the live stream (NATS), for `watch serve` to consume."""
    wiring = _watching(Action.WATCH_FEED)[0].watch_wiring()
    if wiring.live_stream is None:
        raise fail("publishing needs CLEARWATCH_WATCH_NATS_URL", EXIT_USAGE)
    published = wiring.live_stream().publish(wiring.source(Path(source)).events())
    say(console, ("published", "green"), f" {published:,} new events to {wiring.live_name}")


@watch_app.command("serve")
def serve(
    idle_exit: float | None = typer.Option(  # float ok
        None, "--idle-exit", min=0.0, help="Stop after this many seconds without an event."
    ),
    models: str | None = models_option,
) -> None:
    """Consume the live stream (NATS), print each new alert and keep it in the alert log.

    On start the stream is replayed from its first retained event to rebuild the detectors;
    alerts already in the log are not raised again.
    """
    wiring = _watching(Action.WATCH_FEED)[0].watch_wiring()
    if wiring.live_stream is None:
        raise fail(
            "serving needs CLEARWATCH_WATCH_NATS_URL (the in-process stream has no "
            "publisher outside this process)",
            EXIT_USAGE,
        )

    def show(alert: Alert) -> None:
        [row] = _rows([alert], SHOWN_MASKED)  # the alert log keeps it whole
        say(
            console,
            (alert.level.value, level_style(alert.level.value)),
            f" {alert.rule} {alert.broker_id} {row['subject']} {format_fen(alert.amount_fen)}: "
            f"{row['summary']}",
        )

    watch = _model_watch(wiring, models)
    consumer = WatchConsumer.for_rules(
        wiring.rules, wiring.alert_log(), on_alert=show, models=watch
    )
    shown = f", models {watch.models.version[:12]}" if watch is not None else ""
    say(console, f"watching {wiring.live_name} (rules {wiring.rules.version_ref}{shown})")
    consumed = wiring.live_stream().consume(consumer.handle, idle_seconds=idle_exit)
    say(console, f"{consumed:,} events consumed, {len(consumer.raised)} new alerts")


def _features_of(wiring: WatchWiring, directory: Path) -> DailyFeatures:
    features = DailyFeatures()
    for event in wiring.source(directory).events():
        features.observe(event)
    return features


@watch_app.command("train")
def train(
    source: str = typer.Option(..., "--from", help="Clean days: a simulated market or recording."),
    out: str = typer.Option(..., "--out", help="The model file to write (replaced if there)."),
    calibration_days: int = typer.Option(
        2, "--calibration-days", min=1, help="The last days, kept out of training, to calibrate."
    ),
    reference: list[str] = typer.Option(  # noqa: B008 (typer's way to repeat an option)
        [],
        "--reference",
        help="A clean simulated market (`sim day`, a seed of its own) whose broker-days "
        "calibrate the broker lines too; repeat it. A budget of 1 in 100 broker-days needs "
        "about 1,000 clean broker-days.",
    ),
) -> None:
    """Train the learned models on clean days and keep them in a versioned model file.

    The file holds the days' account features, the reference markets' broker-day totals, the
    rules' hash and the seed (rules/watch.toml): loading it fits the same models again and
    checks their version.
    """
    for where in [source, *reference]:
        if not Path(where).is_dir():
            raise fail(f"{where} is not a directory", EXIT_USAGE)
    wiring = _watching(Action.WATCH_FEED)[0].watch_wiring()
    assert wiring.model_files is not None and wiring.outlier_model is not None
    features, *markets = (_features_of(wiring, Path(where)) for where in [source, *reference])
    references = BrokerReference.of(markets) if markets else None
    try:
        training, calibration = split_days(features, calibration_days)
        models = train_models(
            training=training,
            calibration=calibration,
            rules=wiring.rules,
            model=wiring.outlier_model(),
            reference=references,
        )
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from error
    wiring.model_files.save(Path(out), training, calibration, models, wiring.rules, references)
    say(
        console,
        ("trained", "green"),
        f" models {models.version[:12]} (seed {models.seed}) on {len(training.dates())} days, "
        f"calibrated on {len(calibration.dates())}: {out}",
    )


alerts_app = typer.Typer(
    help="The risk desk's alerts: list, review, halt a client or a flow (风控复核).",
    no_args_is_help=True,
)
watch_app.add_typer(alerts_app, name="alerts")

REVIEW_COLUMNS = (
    Column("alert", "number", justify="right"),  # the handle `review` and `halt` take
    Column("level", "level", style=level_style),
    Column("rule", "rule"),
    Column("broker", "broker_id"),
    Column("date", "business_date"),
    Column("subject", "subject", whole=False),
    Column("amount", "amount", justify="right"),
    Column("review", "review"),
    Column("by", "reviewer"),
    Column("reason", "reason", whole=False, wide=True),
)
ALERT_HELP = "The alert's number (`watch alerts list`); its key is taken too."
DECISIONS = {"confirm": ReviewDecision.CONFIRMED, "dismiss": ReviewDecision.DISMISSED}


@alerts_app.command("list")
def alerts_list(
    everything: bool = typer.Option(False, "--all", help="Reviewed alerts too."),
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: bool = evidence_option,
) -> None:
    """Alerts `watch serve` raised on the caller's broker, not yet reviewed (--all: every one);
    the clients' accounts masked unless asked with `--evidence`."""
    wired = application()
    gate = signed_in(wired)
    sees = gate.lister(Action.WATCH_READ)
    whole = whole_for(gate, evidence, read="watch alerts list")
    reviews = alert_reviews(uow=wired.read_uow())
    rows = []
    for alert in wired.watch_wiring().alert_log().recorded():
        review = reviews.get(alert.key)
        if not sees(books_of(alert.broker_id)) or (review is not None and not everything):
            continue
        [row] = _rows([alert], whole)
        rows.append(
            {
                **row,
                "review": "open" if review is None else review.decision.value,
                "reviewer": "" if review is None else review.reviewer,
                "reason": "" if review is None else review.reason,
            }
        )
    print_listing(
        console, "Watch alerts 实时监测告警", REVIEW_COLUMNS, rows, wide=wide, as_json=as_json
    )


@alerts_app.command("review")
def alerts_review(
    key: str = typer.Argument(..., help=ALERT_HELP),
    decision: str = typer.Argument(..., help="confirm or dismiss"),
    reason: str = typer.Option("", "--reason", help="Why (required to dismiss)."),
) -> None:
    """Confirm an alert (a halt may follow) or dismiss it with a reason; once per alert."""
    if decision not in DECISIONS:
        raise fail(f"decision must be confirm or dismiss, not {decision!r}", EXIT_USAGE)
    wired = application()
    gate = signed_in(wired)
    gate.check_credential(Action.WATCH_REVIEW)
    alert = named_alert(
        wired.watch_wiring().alert_log(), key, gate=gate, action=Action.WATCH_REVIEW
    )
    review = review_alert(
        uow=wired.uow(),
        alert=alert,
        decision=DECISIONS[decision],
        reason=reason,
        reviewer=gate.caller.user_id,
        at=wired.clock.now(),
    )
    say(console, (review.decision.value, "bold"), f" {alert_label(alert)} by {review.reviewer}")


@alerts_app.command("halt")
def alerts_halt(
    key: str | None = typer.Argument(None, help=f"{ALERT_HELP} Confirmed: ask for the halt."),
    account: str | None = typer.Option(
        None, "--account", help="The client to halt (default: the one the alert names)."
    ),
    business_date: str | None = typer.Option(
        None, "--date", help="The trading day to halt (default: today in Shanghai)."
    ),
    approve: int | None = typer.Option(
        None, "--approve", help="As a checker: approve this halt request, which halts at once."
    ),
) -> None:
    """Halt a client a confirmed alert names, for a day: an operator asks, a checker approves.

    A duty officer without the checker role approves under an emergency grant of `checker`
    (`clearwatch user emergency-grant`)."""
    wired = application()
    gate = signed_in(wired)
    publisher = wired.watch_publisher()
    if approve is not None:
        gate.check_credential(Action.APPROVALS_APPROVE)
        outcome = approve_halt(
            uow=wired.uow(), request_id=approve, checker=gate.caller.user_id,
            at=wired.clock.now(), publisher=publisher,
        )  # fmt: skip
    else:
        if key is None:
            raise fail("name the alert's number, or --approve a halt request", EXIT_USAGE)
        gate.check_credential(Action.WATCH_HALT)
        alert = named_alert(
            wired.watch_wiring().alert_log(), key, gate=gate, action=Action.WATCH_HALT
        )
        outcome = request_halt(
            uow=wired.uow(),
            alert=alert,
            fund_account=account or _named_client(alert),
            business_date=_day(business_date, wired.clock.now()),
            maker=gate.caller.user_id,
            at=wired.clock.now(),
            publisher=publisher,
        )
    request = outcome.request
    say(console, f"approval #{request.request_id} {_subject(request)}: ", _halt_state(outcome))


def _halt_state(outcome: HaltOutcome) -> tuple[str, str]:
    if outcome.already_halted:
        return ("already halted by this approval: nothing changed", "yellow")
    return ("halted", "red") if outcome.halted else ("pending", "yellow")


def _named_client(alert: Alert) -> str:
    named = client_accounts(alert)
    if len(named) != 1:
        raise fail(f"the alert names {len(named)} clients: choose one with --account", EXIT_USAGE)
    return named[0]


def _day(text: str | None, now: datetime) -> date:
    if text is None:
        return now.astimezone(SHANGHAI).date()
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise fail(f"--date {text} is not YYYY-MM-DD", EXIT_USAGE) from error


@alerts_app.command("halt-flow")
def alerts_halt_flow(
    key: str | None = typer.Argument(None, help=f"{ALERT_HELP} Confirmed: ask for the halt."),
    account: str | None = typer.Option(
        None, "--account", help="Whose outflows: a client's or a special account (the alert's)."
    ),
    to: str = typer.Option(
        ANY_COUNTERPARTY, "--to", help="Only outflows to this counterparty (default: all)."
    ),
    approve: int | None = typer.Option(
        None, "--approve", help="As a checker: approve this flow halt request, which halts."
    ),
) -> None:
    """Halt a flow a confirmed alert names (an account's outflows, to one counterparty or
    all): an operator asks, a checker (or a duty officer's emergency grant) approves, and the
    back office refuses every withdrawal through it (`flow_must_not_be_halted`) until lifted."""
    wired = application()
    gate = signed_in(wired)
    if approve is not None:
        gate.check_credential(Action.APPROVALS_APPROVE)
        outcome = approve_flow_halt(uow=wired.uow(), request_id=approve,
                                    checker=gate.caller.user_id, at=wired.clock.now(),
                                    publisher=wired.watch_publisher())  # fmt: skip
    else:
        if key is None or account is None:
            raise fail("name the alert's number and --account, or --approve a request", EXIT_USAGE)
        gate.check_credential(Action.WATCH_HALT)
        alert = named_alert(
            wired.watch_wiring().alert_log(), key, gate=gate, action=Action.WATCH_HALT
        )
        outcome = request_flow_halt(uow=wired.uow(), alert=alert,
                                    flow=Flow(alert.broker_id, account, to),
                                    maker=gate.caller.user_id, at=wired.clock.now(),
                                    publisher=wired.watch_publisher())  # fmt: skip
    _say_flow(outcome, "halted")


@alerts_app.command("lift")
def alerts_lift(
    halt: int | None = typer.Argument(None, help="The flow halt's id (`watch alerts flows`)."),
    reason: str = typer.Option("", "--reason", help="Why the flow may move again."),
    approve: int | None = typer.Option(
        None, "--approve", help="As a checker: approve this lift request, which lifts."
    ),
) -> None:
    """Lift a flow halt: an override an operator asks for with a reason and a checker approves."""
    wired = application()
    gate = signed_in(wired)
    if approve is not None:
        gate.check_credential(Action.APPROVALS_APPROVE)
        outcome = approve_lift(uow=wired.uow(), request_id=approve,
                               checker=gate.caller.user_id, at=wired.clock.now(),
                               publisher=wired.watch_publisher())  # fmt: skip
        _say_flow(outcome, "lifted")
        return
    if halt is None:
        raise fail("name the flow halt's id, or --approve a lift request", EXIT_USAGE)
    gate.check_credential(Action.WATCH_HALT)
    outcome = request_lift(uow=wired.uow(), halt_id=halt, reason=reason,
                           maker=gate.caller.user_id, at=wired.clock.now(),
                           publisher=wired.watch_publisher())  # fmt: skip
    pending = outcome.halt is not None and outcome.halt.in_force
    state = ("pending", "yellow") if pending else ("lifted", "green")
    say(console, f"approval #{outcome.request.request_id} {_subject(outcome.request)}: ", state)


def _say_flow(outcome: FlowOutcome, done: str) -> None:
    request = outcome.request
    state = ("pending", "yellow")
    if outcome.halt is not None:
        state = (f"{done} (flow halt #{outcome.halt.halt_id})", "red")
    say(console, f"approval #{request.request_id} {_subject(request)}: ", state)


FLOW_COLUMNS = (
    Column("halt", "halt_id"),
    Column("broker", "broker_id"),
    Column("account", "account"),
    Column("to", "counterparty"),
    Column("state", "state"),
    Column("by", "raised_by"),
    Column("alert", "alert_key", wide=True),
)


@alerts_app.command("flows")
def alerts_flows(
    everything: bool = typer.Option(False, "--all", help="Lifted halts too."),
    wide: bool = wide_option,
    as_json: bool = json_option,
    evidence: bool = evidence_option,
) -> None:
    """Flows halted on the caller's broker (in force; --all: lifted too); the account and its
    other side masked unless asked with `--evidence`."""
    wired = application()
    gate = signed_in(wired)
    sees = gate.lister(Action.WATCH_READ)
    whole = whole_for(gate, evidence, read="watch alerts flows")
    rows = [
        _flow_row(h, whole=whole(h.flow.broker_id))
        for h in flow_halts(uow=wired.read_uow(), in_force=not everything)
        if sees(books_of(h.flow.broker_id))
    ]
    print_listing(console, "Halted flows 止付", FLOW_COLUMNS, rows, wide=wide, as_json=as_json)


def _flow_row(halt: FlowHalt, *, whole: bool) -> dict[str, Any]:
    """A flow halt as listed; its alert's key names the account too."""
    flow = halt.flow
    named = [flow.account] + ([] if flow.counterparty == ANY_COUNTERPARTY else [flow.counterparty])
    shown = (lambda text: text) if whole else (lambda text: mask_in(text, named))
    return {
        "halt_id": halt.halt_id,
        "broker_id": flow.broker_id,
        "account": shown(flow.account),
        "counterparty": shown(flow.counterparty),
        "state": "in force" if halt.in_force else "lifted",
        "raised_by": halt.raised_by,
        "alert_key": shown(halt.alert_key),
    }
