"""The watch's model file: the clean days the models learned from, not the fitted objects.

An `.npz` read with `allow_pickle=False`: the account-day features of the training and the
calibration days, the broker-day totals of the reference's simulated clean markets (if the
broker lines were calibrated on them too), and a JSON header (format, features, seed, rules'
sha256, version, thresholds). Loading fits the models again from those rows and the seed and
must find the same version and thresholds, so every load proves the file reproduces its
models. A pickled forest was not kept: loading a pickle runs whatever code it names, and a
model file travels.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from clearwatch.adapters.private_files import replace_owner_only
from clearwatch.adapters.watch.forest import IsolationForestModel
from clearwatch.domain.shared.errors import ConfigurationError
from clearwatch.domain.watch.features import FEATURES, DailyFeatures
from clearwatch.domain.watch.rules import WatchRules
from clearwatch.services.watch.models import BrokerDays, BrokerReference, WatchModels, train_models

# 2: a broker line per feature (rules watch-2026.3); 3: the reference's simulated markets;
# 4: the feature `deducted_again_fen` (rows one column wider)
FORMAT = "clearwatch-watch-models/4"


class ModelFileError(ConfigurationError, ValueError):
    """A model file that is not one, or that no longer gives the models it names."""


def _header(models: WatchModels, rules: WatchRules) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "features": list(FEATURES),
        "seed": models.seed,
        "rules_sha256": rules.content_sha256,
        "version": models.version,
        "client_thresholds": models.client_thresholds.tolist(),
        "broker_thresholds": models.broker_thresholds.tolist(),
        "forest_threshold": models.forest_threshold,
    }


def _arrays(features: DailyFeatures) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    keys = sorted(features.rows)
    names = np.array([f"{b}|{a}|{d.isoformat()}" for b, a, d in keys], dtype=np.str_)
    rows = np.array([features.rows[k] for k in keys], dtype=np.int64).reshape(-1, len(FEATURES))
    return names, rows


def _features(names: np.ndarray[Any, Any], rows: np.ndarray[Any, Any]) -> DailyFeatures:
    features = DailyFeatures()
    for name, row in zip(names.tolist(), rows.tolist(), strict=True):
        broker, account, day = name.split("|")
        features.rows[(broker, account, date.fromisoformat(day))] = row
    return features


def _reference_arrays(
    reference: BrokerReference | None,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    markets = reference.markets if reference is not None else ()
    keys = [(m, b, d) for m, market in enumerate(markets) for b, d in sorted(market)]
    names = np.array([f"{m}|{b}|{d.isoformat()}" for m, b, d in keys], dtype=np.str_)
    rows = np.array([markets[m][(b, d)] for m, b, d in keys], dtype=np.int64)
    return names, rows.reshape(-1, len(FEATURES))


def _reference(names: np.ndarray[Any, Any], rows: np.ndarray[Any, Any]) -> BrokerReference | None:
    markets: list[BrokerDays] = []
    for name, row in zip(names.tolist(), rows.tolist(), strict=True):
        market, broker, day = name.split("|")
        while len(markets) <= int(market):
            markets.append({})
        markets[int(market)][(broker, date.fromisoformat(day))] = row
    return BrokerReference(tuple(markets)) if markets else None


@dataclass(frozen=True)
class NpzModelFiles:
    def save(
        self, path: Path, training: DailyFeatures, calibration: DailyFeatures, models: WatchModels,
        rules: WatchRules, reference: BrokerReference | None = None,
    ) -> None:  # fmt: skip
        trained_names, trained_rows = _arrays(training)
        calibrated_names, calibrated_rows = _arrays(calibration)
        reference_names, reference_rows = _reference_arrays(reference)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.array(json.dumps(_header(models, rules))),
            training_keys=trained_names,
            training_rows=trained_rows,
            calibration_keys=calibrated_names,
            calibration_rows=calibrated_rows,
            reference_keys=reference_names,
            reference_rows=reference_rows,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_owner_only(path, buffer.getvalue())  # per-account figures: the owner's only

    def load(self, path: Path, rules: WatchRules) -> WatchModels:
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                training = _features(data["training_keys"], data["training_rows"])
                calibration = _features(data["calibration_keys"], data["calibration_rows"])
                reference = _reference(data["reference_keys"], data["reference_rows"])
        except (OSError, KeyError, ValueError) as error:
            raise ModelFileError(f"model_file_must_be_readable: {path}: {error}") from error
        if header.get("format") != FORMAT or header.get("features") != list(FEATURES):
            raise ModelFileError(f"model_file_must_have_format_{FORMAT}: {path}")
        if header["rules_sha256"] != rules.content_sha256:
            raise ModelFileError(
                f"model_file_rules_must_match: trained under rules {header['rules_sha256'][:12]}, "
                f"configured {rules.content_sha256[:12]}: train again"
            )
        models = train_models(
            training=training, calibration=calibration, rules=rules, model=IsolationForestModel(),
            reference=reference,
        )  # fmt: skip
        if _header(models, rules) != header:
            raise ModelFileError(f"model_file_must_reproduce_its_version: {path}")
        return models
