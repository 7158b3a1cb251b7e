"""The watch (issue 19): events/s through the detectors, latency through NATS, a detection table.

    .venv/bin/python bench/watch.py [--executions 100000] [--markets 30] [--nats nats://…]

Throughput: one simulated day's events through the in-process stream and the consumer (rules
and idempotent keys), against a baseline that only iterates the same events. Latency: events
published at 10,000/s to JetStream by a process of their own (as the back office would) while
the consumer reads them, then both in one process; per event, handled by the consumer − handed
to the publisher.
Detection: `--markets` seeded small markets with the five stream faults, one broker each, by
the rules; then by the learned models, trained on six clean days of each seeded market and
scoring its seventh, clean and with the faults. The broker lines are calibrated on
`--reference-markets` clean markets of seeds of their own (10,000 on) too, never on the days
scored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats

from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.events.memory import InProcessStream
from clearwatch.adapters.events.nats_stream import JetStreamEvents
from clearwatch.adapters.watch.forest import IsolationForestModel
from clearwatch.adapters.watch.rules_file import load_watch_rules
from clearwatch.domain.watch.alerts import Alert
from clearwatch.domain.watch.events import WatchEvent
from clearwatch.domain.watch.features import DailyFeatures
from clearwatch.services.watch.consume import AlertsInMemory, WatchConsumer, replay
from clearwatch.services.watch.models import BrokerReference, score_day, split_days, train_models
from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import SimParameters, simulate

FAULT_RULE = {
    "withdrawal_burst": "withdrawal_burst",
    "duplicate_import": "deduction_excess",
    "unexpected_counterparty": "unexpected_counterparty",
    "node_divergence": "node_divergence",
    "reserve_drain": "reserve_drain",
}


def throughput(root: Path) -> None:
    events = list(DayFilesSource(root).events())
    started = time.perf_counter()
    for _ in events:
        pass
    baseline = time.perf_counter() - started
    consumer = WatchConsumer.for_rules(load_watch_rules(), AlertsInMemory())
    stream = InProcessStream()
    started = time.perf_counter()
    stream.publish(events)
    stream.consume(consumer.handle, idle_seconds=0.0)
    took = time.perf_counter() - started
    print(
        f"in-process: {len(events):,} events in {took:.2f} s = {len(events) / took:,.0f} events/s "
        f"(iterating alone {baseline:.3f} s; ratio {took / max(baseline, 1e-9):.0f}×)"
    )


def _paced(rate: int, emitted: list[float]) -> Callable[[int], Awaitable[None]]:
    """Wait for each event's turn at `rate`, then note when it was handed to the publisher."""
    start = time.monotonic()

    async def pace(count: int) -> None:
        ahead = start + count / rate - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)
        emitted[count] = time.monotonic()

    return pace


def _publisher(
    url: str, names: tuple[str, str], root: str, count: int, rate: int, out: Any
) -> None:
    """The back office's side, in a process of its own (as it would be): load, then publish
    at `rate`; send back when each event was emitted (monotonic clock: one machine)."""
    events = list(DayFilesSource(Path(root)).events())[:count]
    stream = JetStreamEvents(url, stream=names[0], subject_prefix=names[1])
    emitted = [0.0] * len(events)
    cpu = time.process_time()
    asyncio.run(stream.publish_async(events, pace=_paced(rate, emitted)))
    out.put((emitted, time.process_time() - cpu))


async def _latency(
    url: str, root: Path, rate: int, count: int, *, apart: bool
) -> tuple[list[float], float, float]:
    """Per event, handled by the consumer − handed to the publisher; the rate achieved."""
    tag = uuid.uuid4().hex[:8]
    stream = JetStreamEvents(url, stream=f"BENCH_WATCH_{tag}", subject_prefix=f"b{tag}.watch")
    events = list(DayFilesSource(root).events())[:count]
    consumer = WatchConsumer.for_rules(load_watch_rules(), AlertsInMemory())
    handled: dict[str, float] = {}

    def handle(event: WatchEvent) -> None:
        consumer.handle(event)
        handled[event.key] = time.monotonic()

    client = await nats.connect(url)
    await stream.ensure_stream(client.jetstream())
    reader = asyncio.create_task(stream.consume_async(handle, idle_seconds=None, limit=count))
    emitted = [0.0] * len(events)
    if apart:
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        names = (stream.stream, stream.subject_prefix)
        child = context.Process(target=_publisher, args=(url, names, str(root), count, rate, out))
        child.start()
        await asyncio.wait_for(reader, timeout=count / rate + 120)
        emitted, publisher_cpu = await asyncio.to_thread(out.get)
        child.join()
    else:
        cpu = time.process_time()
        await stream.publish_async(events, pace=_paced(rate, emitted))
        await asyncio.wait_for(reader, timeout=120)
        publisher_cpu = time.process_time() - cpu  # publisher and consumer together here
    await client.jetstream().delete_stream(stream.stream)
    await client.close()
    achieved = (len(events) - 1) / max(emitted[-1] - emitted[0], 1e-9)
    return (
        [handled[e.key] - at for e, at in zip(events, emitted, strict=True)],
        achieved,
        publisher_cpu,
    )


def latency(root: Path, url: str, rate: int, count: int) -> None:
    for apart, where in ((True, "publisher in its own process"), (False, "one process")):
        took, achieved, cpu = asyncio.run(_latency(url, root, rate, count, apart=apart))
        took.sort()
        p50, p99 = took[len(took) // 2], took[len(took) * 99 // 100]
        print(
            f"NATS at {rate:,} events/s, {where}: {len(took):,} events, published at "
            f"{achieved:,.0f}/s (CPU {cpu:.2f} s), p50 {p50 * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms"
        )


def detection(root: Path, markets: int) -> None:
    names = list(FAULT_RULE)
    found = dict.fromkeys(names, 0)
    false_alarms = dict.fromkeys(FAULT_RULE.values(), 0)
    for seed in range(markets):
        plans = plan_faults(",".join(names), days=2, brokers=5, banks=2)
        out = root / f"m{seed}"
        simulate(SimParameters(5, 2, 500, 3000, 2, seed=100 + seed, faults=plans), out)
        consumer = WatchConsumer.for_rules(load_watch_rules(), AlertsInMemory())
        alerts = replay(source=DayFilesSource(out), stream=InProcessStream(), consumer=consumer)
        raised = {(a.rule, a.broker_id) for a in alerts.alerts}
        for k, name in enumerate(names):
            found[name] += (FAULT_RULE[name], f"B{k + 1:03d}") in raised
        targeted = {(FAULT_RULE[n], f"B{k + 1:03d}") for k, n in enumerate(names)}
        for rule, broker in raised - targeted:
            if rule in false_alarms and (rule, broker) != ("batch_again", broker):
                false_alarms[rule] += 1
    print("| fault | rule | recall | false alarms (other brokers) |")
    print("|---|---|---|---|")
    for name in names:
        rule = FAULT_RULE[name]
        print(f"| `{name}` | `{rule}` | {found[name]}/{markets} | {false_alarms[rule]} |")


MODEL_DAYS = 7  # four to train on, two to calibrate on, the seventh scored
REFERENCE_SEEDS = 10_000  # the reference markets' seeds, far from every market scored
REFERENCE_DAYS = 10  # four of history, then six broker-days per broker scored against them
MODEL_TARGETS = {  # the model that should see each fault, where the features can
    "withdrawal_burst": ("model_client", "model_forest"),
    "duplicate_import": ("model_broker",),
}


def _features(directory: Path) -> DailyFeatures:
    features = DailyFeatures()
    for event in DayFilesSource(directory).events():
        features.observe(event)
    return features


def _model_params(seed: int, days: int, faults: str = "") -> SimParameters:
    plans = plan_faults(faults, days=days, brokers=6, banks=2)
    return SimParameters(6, 2, 600, 3000, days, seed=seed, faults=plans)


def _reference(root: Path, markets: int) -> BrokerReference | None:
    """Clean markets like the scored ones, of seeds of their own: the broker lines' reference."""
    found = []
    for i in range(markets):
        simulate(_model_params(REFERENCE_SEEDS + i, REFERENCE_DAYS), root / f"ref{i}")
        found.append(_features(root / f"ref{i}"))
        shutil.rmtree(root / f"ref{i}")
    return BrokerReference.of(found) if found else None


def _model_market(
    root: Path, seed: int, reference: BrokerReference | None
) -> tuple[list[Alert], list[Alert], int, str]:
    """Train on a clean market's first six days; score its seventh and a faulty seventh."""
    for name, faults in (("clean", ""), ("faulty", ",".join(FAULT_RULE))):
        simulate(_model_params(200 + seed, MODEL_DAYS, faults), root / name)
    rules = load_watch_rules()
    clean, faulty = _features(root / "clean"), _features(root / "faulty")
    last = clean.dates()[-1]
    history = DailyFeatures(rows={key: row for key, row in clean.rows.items() if key[2] < last})
    training, calibration = split_days(history, 2)
    models = train_models(
        training=training, calibration=calibration, rules=rules, model=IsolationForestModel(),
        reference=reference,
    )  # fmt: skip
    found = json.loads((root / "faulty" / last.isoformat() / "faults.json").read_text("utf-8"))
    burst = next(f for f in found["faults"] if f["fault"] == "withdrawal_burst")
    clean_rows = sum(1 for key in clean.rows if key[2] == last)
    return (
        score_day(models, clean, last, rules),
        score_day(models, faulty, last, rules),
        clean_rows,
        f"account:{burst['injected']['fund_account']}",
    )


def model_detection(root: Path, markets: int, reference_markets: int) -> None:
    """Recall per fault of the model meant to see it, false alarms on clean seventh days."""
    reference = _reference(root / "reference", reference_markets)
    print(f"reference: {reference_markets} clean markets, seeds {REFERENCE_SEEDS} on")
    caught = {(fault, rule): 0 for fault, rules in MODEL_TARGETS.items() for rule in rules}
    false_alarms = dict.fromkeys(("model_client", "model_forest", "model_broker"), 0)
    account_days = 0
    for seed in range(markets):
        clean, faulty, rows, burst = _model_market(root / f"mm{seed}", seed, reference)
        account_days += rows
        for alert in clean:
            false_alarms[alert.rule] += 1
            if alert.rule == "model_broker":  # few enough to print: why each clean day alarmed
                top = ", ".join(
                    f"{c.feature} {c.value:,.0f} (usual {c.usual:,.0f}, {c.weight} × its line)"
                    for c in alert.contributions[:3]
                )
                print(f"clean broker-day alarm: seed {200 + seed} {alert.subject}: {top}")
        raised = {(a.rule, a.subject) for a in faulty}
        for rule in MODEL_TARGETS["withdrawal_burst"]:
            caught[("withdrawal_burst", rule)] += (rule, burst) in raised
        caught[("duplicate_import", "model_broker")] += ("model_broker", "broker:B002") in raised
    print("| fault | model | recall |")
    print("|---|---|---|")
    for (fault, rule), count in caught.items():
        print(f"| `{fault}` | `{rule}` | {count}/{markets} |")
    per_10k = {rule: n * 10_000 / max(account_days, 1) for rule, n in false_alarms.items()}
    print(
        f"clean seventh days: {account_days:,} account-days, {markets * 6} broker-days; false "
        f"alarms: client {false_alarms['model_client']} ({per_10k['model_client']:.1f} per 10k), "
        f"forest {false_alarms['model_forest']} ({per_10k['model_forest']:.1f} per 10k), "
        f"broker {false_alarms['model_broker']} "
        f"({false_alarms['model_broker'] * 100 / max(markets * 6, 1):.2f} per 100)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--markets", type=int, default=30)
    parser.add_argument(
        "--reference-markets", type=int, default=80,
        help="clean markets the broker lines are calibrated on too (0: the scored market's only)",
    )  # fmt: skip
    parser.add_argument("--nats", default=None, help="NATS URL; no latency figure without it")
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--count", type=int, default=30_000)
    parser.add_argument(
        "--parts",
        default="throughput,latency,detection,models",
        help="which figures, comma-separated",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as scratch:
        root = Path(scratch)
        day = root / "day"
        if parts & {"throughput", "latency"}:
            simulate(SimParameters(4, 2, args.executions // 10, args.executions, 2, seed=3,
                                   node_funds=True), day)  # fmt: skip
        if "throughput" in parts:
            throughput(day)
        if args.nats and "latency" in parts:
            latency(day, args.nats, args.rate, args.count)
        if "detection" in parts:
            detection(root / "markets", args.markets)
        if "models" in parts:
            model_detection(root / "models", args.markets, args.reference_markets)


if __name__ == "__main__":
    main()
