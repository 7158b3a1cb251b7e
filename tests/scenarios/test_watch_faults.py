"""The watch over simulated markets: each stream fault at its level, a clean market quiet."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.events.memory import InProcessStream
from clearwatch.adapters.watch.rules_file import load_watch_rules
from clearwatch.domain.shared.file_schema import PURPOSE_OF_ACCOUNT_KIND
from clearwatch.domain.watch.alerts import Alert, WatchLevel
from clearwatch.services.watch.consume import AlertsInMemory, WatchConsumer, replay
from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import SimParameters, simulate

SIZE = {"brokers": 5, "banks": 2, "clients": 600, "executions": 4000}
# fault → (rule, lowest level expected, broker targeted: the k-th fault hits broker k mod N)
EXPECTED = {
    "withdrawal_burst": ("withdrawal_burst", WatchLevel.GENERAL),
    "duplicate_import": ("deduction_excess", WatchLevel.MAJOR),
    "unexpected_counterparty": ("unexpected_counterparty", WatchLevel.GENERAL),
    "node_divergence": ("node_divergence", WatchLevel.MAJOR),
    "reserve_drain": ("reserve_drain", WatchLevel.GENERAL),
    "misappropriation": ("unexpected_counterparty", WatchLevel.MAJOR),
}


def market(root: Path, faults: str, *, days: int, seed: int) -> Path:
    plans = plan_faults(faults, days=days, brokers=SIZE["brokers"], banks=SIZE["banks"])
    params = SimParameters(
        brokers=SIZE["brokers"],
        banks=SIZE["banks"],
        clients=SIZE["clients"],
        executions=SIZE["executions"],
        days=days,
        seed=seed,
        faults=plans,
        node_funds=True,
    )
    simulate(params, root)
    return root


def watch(directory: Path) -> list[Alert]:
    consumer = WatchConsumer.for_rules(load_watch_rules(), AlertsInMemory())
    return list(
        replay(source=DayFilesSource(directory), stream=InProcessStream(), consumer=consumer).alerts
    )


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Alert]]:
    root = market(tmp_path_factory.mktemp("watch") / "m", ",".join(EXPECTED), days=2, seed=4)
    return root, watch(root)


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_each_stream_fault_is_detected_at_its_level_on_its_broker(
    faulty: tuple[Path, list[Alert]], fault: str
) -> None:
    _, alerts = faulty
    rule, level = EXPECTED[fault]
    broker = f"B{list(EXPECTED).index(fault) % SIZE['brokers'] + 1:03d}"
    found = {a.level for a in alerts if a.rule == rule and a.broker_id == broker}
    assert level in found, (fault, broker, [(a.rule, a.broker_id) for a in alerts])


def test_no_rule_fires_on_a_broker_no_fault_touched(faulty: tuple[Path, list[Alert]]) -> None:
    """Five brokers, six faults: B001 takes the burst and misappropriation, the rest one each;
    every alert names the rule its broker's fault calls for (batch_again: incident B)."""
    _, alerts = faulty
    allowed: dict[str, set[str]] = {f"B{k % 5 + 1:03d}": set() for k in range(len(EXPECTED))}
    for k, (rule, _) in enumerate(EXPECTED.values()):
        allowed[f"B{k % 5 + 1:03d}"].add(rule)
    allowed["B002"] |= {"batch_again"}
    allowed["B001"] |= {"withdrawal_burst"}
    assert {(a.broker_id, a.rule) for a in alerts} <= {
        (b, r) for b, rs in allowed.items() for r in rs
    }


def test_the_burst_alert_carries_its_withdrawals_as_evidence(
    faulty: tuple[Path, list[Alert]],
) -> None:
    _, alerts = faulty
    burst = next(
        a for a in alerts if a.rule == "withdrawal_burst" and a.subject.startswith("account")
    )
    assert len(burst.evidence) >= 4
    assert all(
        e.amount_fen < 0 and e.account == burst.subject.split(":")[1] for e in burst.evidence
    )


def test_replaying_the_same_market_twice_gives_the_same_alerts(
    faulty: tuple[Path, list[Alert]],
) -> None:
    root, alerts = faulty
    assert [a.key for a in watch(root)] == [a.key for a in alerts]


def test_a_clean_multi_day_market_raises_no_alert(tmp_path: Path) -> None:
    root = market(tmp_path / "clean", "", days=3, seed=11)
    assert watch(root) == []


def test_a_delivery_whose_file_does_not_match_its_manifest_gives_no_event(tmp_path: Path) -> None:
    root = market(tmp_path / "m", "broken_package", days=1, seed=3)
    source = DayFilesSource(root)
    keys = {e.key for e in source.events()}
    assert source.refused and "K001.broken" in source.refused[0]
    assert not any(".broken" in key for key in keys) and any(k.startswith("K001/") for k in keys)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _held_in(static: Path) -> dict[str, str]:
    """Each client's special account as the books choose it: its bank's for its kind's
    purpose, the lowest number (`BooksCentralFunds`), read from the broker's static files."""
    lowest: dict[tuple[str, str], str] = {}
    for row in sorted(_rows(static / "special_accounts.csv"), key=lambda r: r["account_no"]):
        lowest.setdefault((row["bank_id"], row["purpose"]), row["account_no"])
    return {
        row["fund_account"]: lowest[(row["bank_id"], PURPOSE_OF_ACCOUNT_KIND[row["account_kind"]])]
        for row in _rows(static / "clients.csv")
    }


def test_a_diverging_node_is_alerted_on_the_special_account_holding_the_money(
    faulty: tuple[Path, list[Alert]],
) -> None:
    """The simulated takeover's phantom money is added up per special account, as the live
    nodes' is: the alert names the account the books hold the re-synced clients' money in."""
    root, alerts = faulty
    broker = f"B{list(EXPECTED).index('node_divergence') % SIZE['brokers'] + 1:03d}"
    ours = [a for a in alerts if a.rule == "node_divergence" and a.broker_id == broker]
    by_client = {a.subject.removeprefix("account:") for a in ours if a.subject.startswith("acc")}
    by_special = [a for a in ours if a.subject.startswith("special_account:")]
    held_in = _held_in(min(root.glob(f"*/broker/{broker}/static")))  # the first day's
    assert by_client and by_special
    assert {a.subject.removeprefix("special_account:") for a in by_special} == {
        held_in[account] for account in by_client
    }
    for alert in by_special:
        assert alert.level is WatchLevel.MAJOR
        assert {e.account for e in alert.evidence} <= by_client


def test_node_funds_written_before_the_special_account_column_still_replay(
    faulty: tuple[Path, list[Alert]], tmp_path: Path
) -> None:
    """An old `node_funds.csv` reads as before: per-client alerts, no special account's."""
    root, alerts = faulty
    for path in root.glob("*/nodes/*/node_funds.csv"):
        old = tmp_path / path.relative_to(root)
        old.parent.mkdir(parents=True)
        rows = _rows(path)
        names = [name for name in rows[0] if name != "special_account"]
        with old.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, names, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    shutil.copy(root / "sim.json", tmp_path / "sim.json")
    replayed = watch(tmp_path)
    nodes = [a for a in alerts if a.rule == "node_divergence"]
    assert [a.key for a in replayed] == [a.key for a in nodes if a.subject.startswith("account:")]
    assert len(replayed) < len(nodes)
