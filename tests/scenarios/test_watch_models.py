"""The watch's learned models on simulated days: explained, calibrated, reproducible."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from clearwatch.adapters.events.day_files import DayFilesSource
from clearwatch.adapters.watch.forest import IsolationForestModel
from clearwatch.adapters.watch.model_file import ModelFileError, NpzModelFiles
from clearwatch.adapters.watch.rules_file import load_watch_rules
from clearwatch.domain.watch.alerts import Alert
from clearwatch.domain.watch.features import COUNT_FEATURES, FEATURES, DailyFeatures
from clearwatch.services.watch.consume import AlertsInMemory, WatchConsumer
from clearwatch.services.watch.models import (
    BrokerReference,
    WatchModels,
    score_day,
    split_days,
    train_models,
)
from clearwatch.services.watch.scoring import ModelWatch
from clearwatch.sim.faults import plan_faults
from clearwatch.sim.simulate import SimParameters, simulate

DAYS, TRAIN_DAYS = 7, 4
RULES = load_watch_rules()


def _features(directory: Path) -> DailyFeatures:
    features = DailyFeatures()
    for event in DayFilesSource(directory).events():
        features.observe(event)
    return features


def _params(faults: str = "") -> SimParameters:
    plans = plan_faults(faults, days=DAYS, brokers=3, banks=2)
    return SimParameters(3, 2, 900, 5000, DAYS, seed=21, faults=plans)


def _train(clean: DailyFeatures) -> WatchModels:
    days = clean.dates()
    training, calibration = DailyFeatures(), DailyFeatures()
    for key, row in clean.rows.items():
        (training if key[2] in days[:TRAIN_DAYS] else calibration).rows[key] = row
    return train_models(
        training=training, calibration=calibration, rules=RULES, model=IsolationForestModel()
    )


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    simulate(_params(), root / "clean")
    # The base market does not depend on the faults: the same clients, one day gone wrong.
    simulate(_params(f"withdrawal_burst@{DAYS},duplicate_import@{DAYS}"), root / "faulty")
    return root


@pytest.fixture(scope="module")
def scored(market: Path) -> tuple[WatchModels, list[Alert]]:
    root = market
    models = _train(_features(root / "clean"))
    faulty = _features(root / "faulty")
    return models, score_day(models, faulty, faulty.dates()[-1], RULES)


def test_the_broker_whose_batch_arrived_four_times_stands_out_from_its_baseline(
    scored: tuple[WatchModels, list[Alert]],
) -> None:
    _, alerts = scored
    broker = [a for a in alerts if a.rule == "model_broker" and a.broker_id == "B002"]
    # Its trades and deductions all came four times: any of them may lead.
    assert broker and broker[0].contributions[0].feature in set(FEATURES) - {"withdrawals"}


def test_the_deductions_delivered_again_lead_the_broker_alert_by_a_wide_margin(
    scored: tuple[WatchModels, list[Alert]],
) -> None:
    """Incident B's seven deductions came four times: three times again is what no clean day
    shows, so it passes its line (the floor) more than twice over, where the deductions'
    amount alone passed its own by about a tenth (bench/README.md, issue 19)."""
    _, alerts = scored
    broker = next(a for a in alerts if a.rule == "model_broker" and a.broker_id == "B002")
    again = {c.feature: c for c in broker.contributions}["deducted_again_fen"]
    assert again.weight > 2.0 and again.value > 0 and again.usual == 0


def test_every_model_alert_names_its_top_features_and_the_model_version(
    scored: tuple[WatchModels, list[Alert]],
) -> None:
    models, alerts = scored
    assert alerts
    for alert in alerts:
        assert len(alert.contributions) == RULES.models.top_features
        assert {c.feature for c in alert.contributions} <= set(FEATURES)
        assert models.version[:12] in alert.summary and alert.rules_sha256 == RULES.content_sha256


def test_a_model_alert_is_led_by_the_feature_past_its_line(
    scored: tuple[WatchModels, list[Alert]],
) -> None:
    _, alerts = scored
    lined = [a for a in alerts if a.rule in ("model_client", "model_broker")]
    assert {a.rule for a in lined} == {"model_client", "model_broker"}
    for alert in lined:  # weights are times the feature's line: the leader is past its own
        assert alert.contributions[0].weight > 1.0, alert.contributions


def test_thresholds_respect_the_rules_floors(scored: tuple[WatchModels, list[Alert]]) -> None:
    models, _ = scored
    floors = [
        RULES.models.client_count_z_min if name in COUNT_FEATURES
        else RULES.models.client_robust_z_min
        for name in FEATURES
    ]  # fmt: skip
    assert all(models.client_thresholds >= [float(floor) for floor in floors])
    assert all(models.broker_thresholds >= float(RULES.models.broker_robust_z_min))


def test_the_same_clean_days_and_seed_give_the_same_models_and_scores(tmp_path: Path) -> None:
    simulate(_params(), tmp_path / "clean")
    clean = _features(tmp_path / "clean")
    first, second = _train(clean), _train(clean)
    day = clean.dates()[-1]
    assert first.version == second.version
    assert first.forest_threshold == second.forest_threshold
    assert [a.key for a in score_day(first, clean, day, RULES)] == [
        a.key for a in score_day(second, clean, day, RULES)
    ]


def test_a_model_file_reloads_the_same_models_and_refuses_other_rules(
    market: Path, tmp_path: Path
) -> None:
    training, calibration = split_days(_features(market / "clean"), DAYS - TRAIN_DAYS)
    models = train_models(
        training=training, calibration=calibration, rules=RULES, model=IsolationForestModel()
    )
    path = tmp_path / "models.npz"
    NpzModelFiles().save(path, training, calibration, models, RULES)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = NpzModelFiles().load(path, RULES)
    assert (loaded.version, loaded.forest_threshold) == (models.version, models.forest_threshold)
    other = replace(RULES, content_sha256="0" * 64)
    with pytest.raises(ModelFileError, match="model_file_rules_must_match"):
        NpzModelFiles().load(path, other)
    assert list(loaded.broker_thresholds) == list(models.broker_thresholds)
    # A file of the first format (one broker line, rules watch-2026.2) is refused by name.
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(str(arrays["header"]))
    header["format"] = "clearwatch-watch-models/1"
    header["thresholds"] = [8.0, header.pop("forest_threshold")]
    del header["broker_thresholds"]
    old = tmp_path / "models-v1.npz"
    np.savez_compressed(old, **{**arrays, "header": np.array(json.dumps(header))})
    with pytest.raises(
        ModelFileError, match="model_file_must_have_format_clearwatch-watch-models/4"
    ):
        NpzModelFiles().load(old, RULES)


def test_a_reference_of_simulated_markets_calibrates_the_broker_lines_and_is_kept(
    market: Path, tmp_path: Path
) -> None:
    """Clean markets of seeds of their own lift the brokers' scale floors and refit the broker
    lines; the file keeps their broker-days, so a load reproduces the same version."""
    markets = []
    for seed in (31, 32):
        simulate(SimParameters(3, 2, 300, 1500, DAYS, seed=seed), tmp_path / f"ref{seed}")
        markets.append(_features(tmp_path / f"ref{seed}"))
    reference = BrokerReference.of(markets)
    assert len(reference.windows(TRAIN_DAYS)) == 2 * 3 * (DAYS - TRAIN_DAYS)
    training, calibration = split_days(_features(market / "clean"), DAYS - TRAIN_DAYS)
    alone = train_models(
        training=training, calibration=calibration, rules=RULES, model=IsolationForestModel()
    )
    models = train_models(training=training, calibration=calibration, rules=RULES,
                          model=IsolationForestModel(), reference=reference)  # fmt: skip
    assert models.version != alone.version
    assert list(models.client_thresholds) == list(alone.client_thresholds)
    assert list(models.broker_thresholds) != list(alone.broker_thresholds)
    scales = np.array([baseline.scale for baseline in models.brokers.values()])
    assert (scales >= np.array([b.scale for b in alone.brokers.values()])).all()
    path = tmp_path / "models.npz"
    NpzModelFiles().save(path, training, calibration, models, RULES, reference)
    loaded = NpzModelFiles().load(path, RULES)
    assert (loaded.version, list(loaded.broker_thresholds)) == (
        models.version, list(models.broker_thresholds),
    )  # fmt: skip


def test_a_replay_with_models_scores_each_day_once_it_is_complete(
    scored: tuple[WatchModels, list[Alert]], market: Path
) -> None:
    models, by_day = scored
    consumer = WatchConsumer.for_rules(RULES, AlertsInMemory(), models=ModelWatch(models, RULES))
    events = list(DayFilesSource(market / "faulty").events())
    last_day = events[-1].business_date
    for event in events:
        consumer.handle(event)
    # Nothing ended the last day yet: its model alerts wait for the end of the replay.
    assert not [a for a in consumer.raised if a.rule.startswith("model_") and
                a.business_date == last_day]  # fmt: skip
    consumer.finish()
    modelled = [a for a in consumer.raised if a.business_date == last_day and a.model_version]
    assert sorted(a.key for a in modelled) == sorted(a.key for a in by_day)
    assert all(a.model_version == models.version and a.contributions for a in modelled)


def test_the_burst_shows_in_the_windowed_withdrawal_count(market: Path) -> None:
    faulty = _features(market / "faulty")
    window = FEATURES.index("withdrawals_in_window")
    counts = [row[window] for key, row in faulty.rows.items() if key[2] == faulty.dates()[-1]]
    # A clean client withdraws at most once a day in the simulator; the burst is six.
    assert max(counts) == 6 and sorted(counts)[-2] <= 1


def test_the_client_baseline_flags_the_withdrawal_burst_on_its_count(
    scored: tuple[WatchModels, list[Alert]], market: Path
) -> None:
    _, alerts = scored
    day_dir = sorted(p for p in (market / "faulty").iterdir() if p.name.startswith("20"))[-1]
    found = json.loads((day_dir / "faults.json").read_text("utf-8"))["faults"]
    account = next(f for f in found if f["fault"] == "withdrawal_burst")["injected"]["fund_account"]
    burst = [a for a in alerts if a.rule == "model_client" and a.subject == f"account:{account}"]
    assert burst, "the burst client was not flagged"
    leading = {c.feature for c in burst[0].contributions[:2]}
    assert leading <= {"withdrawals", "withdrawals_in_window", "withdrawn_fen"}
