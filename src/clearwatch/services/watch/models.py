"""Learned models where rules cannot draw the line: robust baselines and an isolation forest.

Each account-day is a row of `domain/watch/features.FEATURES` on a log scale. Three scorers:
the client's own baseline (median and MAD of its training days), the broker's (the same over
its daily totals), and an isolation forest over all account-days. Thresholds are calibrated on
clean days the models did not train on, to the rules' false-alarm budget; the TOML values are
floors. The version is a hash of the training rows, the seed and the rules, so the same clean
days and seed give the same models and the same alerts.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np
import numpy.typing as npt

from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.watch.alerts import Alert, Contribution
from clearwatch.domain.watch.features import COUNT_FEATURES, FEATURES, AccountDay, DailyFeatures
from clearwatch.domain.watch.rules import WatchRules
from clearwatch.services.watch.ports import FloatMatrix, OutlierModel

FloatArray = npt.NDArray[np.float64]
MAD_TO_SIGMA = 1.4826  # MAD × this estimates σ for normal data
SCALE_FLOOR = 1.0  # on the log scale: a factor of e, so a flat history does not divide by 0
# A broker's daily totals are steady (thousands of clients): a quadrupled total must stand out,
# so its floor is a twentieth of a factor of e and the share of the median does not apply.
BROKER_SCALE_FLOOR = 0.05
SCORED_AT = time(15, 30)  # model alerts are about the whole day: they carry its close
PER_10K = 10_000
# The tail beyond the calibration days' largest scores: an exponential fitted to the excesses
# of the top 2% of clean scores (at least 10) over the next one (peaks over a threshold).
TAIL_SHARE = 0.02
TAIL_ROWS_MIN = 10
# Part of every model version: a change of how the models are fitted or lined gives new
# versions from the same rows, so no model file of the old way is taken for the new one.
MODEL_METHOD = (
    "watch-models/4: broker lines per feature, pooled, leave-one-out, tail-fitted; with a "
    "reference of simulated clean markets: scale floors at its lower quartile, lines jointly; "
    "deductions again a feature"
)
# A broker's usual spread from its own few days is luck as often as steadiness: a history of four
# days whose MAD fell below three quarters of the reference's was one of the clean alarms
# (seed 219, bench/README.md), so no broker's scale is below this quantile of the reference's.
REFERENCE_SCALE_QUANTILE = 0.25
# The lines are fitted jointly (one budget for "any feature over its line") only where the clean
# broker-days allow this many crossings at the budget; fewer cannot show the joint rate.
JOINT_CROSSINGS_MIN = 4


@dataclass(frozen=True)
class Robust:
    median: FloatArray
    scale: FloatArray

    def z(self, rows: FloatMatrix) -> FloatMatrix:
        """How far above the usual, one-sided: a client who did not trade or withdraw today
        is no risk, and two-sided z put three such clients over the line in one test day
        (measured: z = 1 / mad_floor_share = 20 for any usual activity dropping to zero)."""
        return np.maximum(rows - self.median, 0.0) / self.scale


@dataclass(frozen=True)
class WatchModels:
    version: str
    seed: int
    clients: dict[tuple[str, str], Robust]
    population: Robust  # for a client the training days never saw
    brokers: dict[str, Robust]
    forest: OutlierModel
    forest_median: FloatArray
    # Per feature: first-time amounts reach z ≈ 20 on clean days while two withdrawals
    # in ten minutes reach 1.1, so one line for all features hid every burst (measured).
    client_thresholds: FloatArray
    # Per feature, like the client's: a broker's withdrawals and deductions swing far more
    # from day to day than its trading, and one line for all let them through (measured).
    broker_thresholds: FloatArray
    forest_threshold: float  # float ok


BrokerDays = dict[tuple[str, date], list[int]]  # one market's broker-day totals of FEATURES


@dataclass(frozen=True)
class BrokerReference:
    """Clean simulated markets whose broker-days calibrate the broker lines, beside the trained
    market's own: one market gives a dozen clean broker-days and a few training days, too few
    for a budget of 1 in 100 (3 alarms in 180 clean broker-days with them alone). Each market's
    days are scored as the trained market's would be: each broker's day against its previous
    `history` days, history being the training days' count. Simulated with seeds of their own,
    never the days a bench or a test scores."""

    markets: tuple[BrokerDays, ...]

    @classmethod
    def of(cls, markets: list[DailyFeatures]) -> BrokerReference:
        return cls(tuple(broker_days(features) for features in markets))

    def windows(self, history: int) -> list[tuple[list[FloatArray], FloatArray]]:
        """(the broker's previous `history` days, the day) for every broker-day that has them."""
        found: list[tuple[list[FloatArray], FloatArray]] = []
        for market in self.markets:
            per_broker: dict[str, list[FloatArray]] = defaultdict(list)  # float ok: features
            for (broker, _), values in sorted(market.items()):
                per_broker[broker].append(np.log1p(np.array(values, dtype=np.float64)))
            for rows in per_broker.values():
                found.extend((rows[i - history : i], rows[i]) for i in range(history, len(rows)))
        return found


def broker_days(features: DailyFeatures) -> BrokerDays:
    totals: BrokerDays = defaultdict(lambda: [0] * len(FEATURES))
    for (broker, _, day), values in features.rows.items():
        totals[(broker, day)] = [a + b for a, b in zip(totals[(broker, day)], values, strict=True)]
    return dict(totals)


def rows_of(features: DailyFeatures, day: date) -> tuple[list[AccountDay], FloatMatrix]:
    keys = sorted(key for key in features.rows if key[2] == day)
    raw = np.array([features.rows[key] for key in keys], dtype=np.float64).reshape(
        -1, len(FEATURES)
    )
    return keys, np.log1p(raw)


# float ok (this module): features, z-scores, quantiles and thresholds of the models are
# statistics over amounts, never amounts; the money itself stays integer fen in the events.
def _robust(
    stack: FloatMatrix,
    floor_share: float,  # float ok
    floor: float | FloatArray = SCALE_FLOOR,  # float ok
) -> Robust:
    median = np.median(stack, axis=0)
    mad = np.median(np.abs(stack - median), axis=0) * MAD_TO_SIGMA
    # A feature the history never saw (median 0, a sparse kind) keeps the coarse floor.
    floors = np.where(median == 0, SCALE_FLOOR, floor)
    return Robust(median, np.maximum(np.maximum(mad, floor_share * np.abs(median)), floors))


def _client_baselines(
    features: DailyFeatures,
    days: list[date],
    floor_share: float,  # float ok
) -> dict[tuple[str, str], Robust]:
    """Each client's rows over every training day, zeros where it did nothing that day."""
    per_client: dict[tuple[str, str], FloatMatrix] = defaultdict(
        lambda: np.zeros((len(days), len(FEATURES)))
    )
    for i, day in enumerate(days):
        keys, rows = rows_of(features, day)
        for (broker, account, _), row in zip(keys, rows, strict=True):
            per_client[(broker, account)][i] = row
    return {client: _robust(stack, floor_share) for client, stack in per_client.items()}


def _broker_rows(features: DailyFeatures, day: date) -> dict[str, FloatArray]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0] * len(FEATURES))
    for (broker, _, when), values in features.rows.items():
        if when == day:
            totals[broker] = [a + b for a, b in zip(totals[broker], values, strict=True)]
    return {
        broker: np.log1p(np.array(values, dtype=np.float64)) for broker, values in totals.items()
    }


def _client_scores(models: WatchModels, keys: list[AccountDay], rows: FloatMatrix) -> FloatMatrix:
    z = np.empty_like(rows)
    for i, (broker, account, _) in enumerate(keys):
        z[i] = models.clients.get((broker, account), models.population).z(rows[i : i + 1])[0]
    return z


def _quantile(scores: FloatArray, budget_per_10k: float) -> float:  # float ok
    if len(scores) == 0:
        return float("inf")  # float ok
    return float(np.quantile(scores, 1.0 - budget_per_10k / PER_10K, method="higher"))  # float ok


def _tail_line(scores: FloatArray, budget_per_10k: float) -> float:  # float ok
    """The line that `budget_per_10k` clean rows in 10,000 pass, even where the calibration
    rows are too few to show it. The largest of n clean scores is passed by about 1 in n + 1
    (measured: 10.4 in 10,000 against 5 with n ≈ 1,100), so beyond the observed quantile the
    line is read off an exponential fitted to the top of the clean scores: with u the
    (k+1)-th largest and σ the mean excess of the k above it, P(score > x) ≈ k/n · e^(−(x−u)/σ),
    solved for the budget. Never below the empirical quantile; deterministic in the rows."""
    empirical = _quantile(scores, budget_per_10k)
    n = len(scores)
    k = max(TAIL_ROWS_MIN, round(TAIL_SHARE * n))
    share = budget_per_10k / PER_10K
    if k >= n or n * share >= k:  # too few rows for a tail, or enough to read it directly
        return empirical
    ordered = np.sort(scores)[::-1]
    threshold = float(ordered[k])  # float ok
    scale = float(np.mean(ordered[:k] - threshold))  # float ok
    return max(empirical, threshold + scale * math.log(k / (n * share)))


def split_days(
    features: DailyFeatures, calibration_days: int
) -> tuple[DailyFeatures, DailyFeatures]:
    """The earlier days to train on, the last `calibration_days` to calibrate on."""
    days = features.dates()
    if calibration_days < 1 or calibration_days >= len(days):
        raise ValueError(
            f"models_need_calibration_days_in_1_to_{len(days) - 1}: {calibration_days}"
        )
    cut = days[-calibration_days]
    training, calibration = DailyFeatures(), DailyFeatures()
    for key, row in features.rows.items():
        (training if key[2] < cut else calibration).rows[key] = row
    return training, calibration


def train_models(
    *,
    training: DailyFeatures,
    calibration: DailyFeatures,
    rules: WatchRules,
    model: OutlierModel,
    reference: BrokerReference | None = None,
) -> WatchModels:
    """Fit on the training days, calibrate the thresholds on the calibration days (both clean),
    and the broker lines on the reference's clean simulated markets too, if given."""
    config = rules.models
    days = training.dates()
    if len(days) < config.history_days_min:
        raise ValueError(f"models_need_{config.history_days_min}_training_days: {len(days)} given")
    floor_share = float(config.mad_floor_share)  # float ok
    stacked = np.vstack([rows_of(training, day)[1] for day in days])
    model.fit(stacked, seed=config.seed, trees=config.forest_trees)
    brokers: dict[str, list[FloatArray]] = defaultdict(list)
    for day in days:
        for broker, row in _broker_rows(training, day).items():
            brokers[broker].append(row)
    windows = reference.windows(len(days)) if reference is not None else []
    floors = _reference_floors(windows)
    draft = WatchModels(
        version=_version(stacked, rules, reference),
        seed=config.seed,
        clients=_client_baselines(training, days, floor_share),
        population=_robust(stacked, floor_share),
        brokers={b: _broker_robust(rows, floors) for b, rows in brokers.items()},
        forest=model,
        forest_median=np.median(stacked, axis=0),
        client_thresholds=np.zeros(len(FEATURES)),
        broker_thresholds=np.zeros(len(FEATURES)),
        forest_threshold=0.0,
    )
    clean_z = _left_out_z(brokers, floors)
    clean_z += [_broker_robust(past, floors).z(day[None, :])[0] for past, day in windows]
    return _calibrated(draft, calibration, rules, clean_z)


def _broker_robust(rows: list[FloatArray], floors: FloatArray) -> Robust:
    return _robust(np.vstack(rows), 0.0, floors)


def _reference_floors(windows: list[tuple[list[FloatArray], FloatArray]]) -> FloatArray:
    """Each feature's least scale: the reference's lower quartile of the brokers' scales over
    their histories (where the feature was not all zero), never under `BROKER_SCALE_FLOOR`."""
    floors = np.full(len(FEATURES), BROKER_SCALE_FLOOR)
    if not windows:
        return floors
    stacks = np.stack([np.vstack(past) for past, _ in windows])  # window × day × feature
    medians = np.median(stacks, axis=1)
    mads = np.median(np.abs(stacks - medians[:, None, :]), axis=1) * MAD_TO_SIGMA
    for j in range(len(FEATURES)):
        seen = mads[medians[:, j] > 0, j]
        if len(seen):
            quartile = float(np.quantile(seen, REFERENCE_SCALE_QUANTILE))  # float ok
            floors[j] = max(BROKER_SCALE_FLOOR, quartile)
    return floors


def _left_out_z(brokers: dict[str, list[FloatArray]], floors: FloatArray) -> list[FloatArray]:
    """Clean broker z-scores from the training days themselves: each day against a baseline
    of the broker's other days. A bench market has 12 calibration broker-days, too few for
    any tail; these add 4 per broker. A baseline one day shorter is a little wider, so the
    lines err on the side of fewer false alarms."""
    scores = []
    for rows in brokers.values():
        if len(rows) < 3:  # a baseline of one day has no spread to speak of
            continue
        for i, row in enumerate(rows):
            scores.append(_broker_robust(rows[:i] + rows[i + 1 :], floors).z(row[None, :])[0])
    return scores


def _version(stacked: FloatMatrix, rules: WatchRules, reference: BrokerReference | None) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(stacked).tobytes())
    for market in reference.markets if reference is not None else ():
        for (broker, day), values in sorted(market.items()):
            digest.update(f"{broker}|{day.isoformat()}|{values}".encode())
        digest.update(b"/market")
    digest.update(
        f"{MODEL_METHOD}/{rules.content_sha256}/{rules.models.seed}/{','.join(FEATURES)}".encode()
    )
    return digest.hexdigest()


def _calibrated(
    draft: WatchModels, calibration: DailyFeatures, rules: WatchRules, left_out: list[FloatArray]
) -> WatchModels:
    budget = rules.models.forest_false_alarms_per_10k
    client, forest, broker = [], [], list(left_out)
    for day in calibration.dates():
        keys, rows = rows_of(calibration, day)
        client.append(_client_scores(draft, keys, rows))
        forest.append(draft.forest.scores(rows))
        for name, row in _broker_rows(calibration, day).items():
            if name in draft.brokers:
                broker.append(draft.brokers[name].z(row[None, :])[0])
    return WatchModels(
        **{
            **draft.__dict__,
            "client_thresholds": _client_lines(np.vstack(client), rules),
            "forest_threshold": _tail_line(np.concatenate(forest), budget),
            "broker_thresholds": _broker_lines(broker, rules),
        }
    )


def _broker_lines(clean_z: list[FloatArray], rules: WatchRules) -> FloatArray:
    """A line per feature, fitted on every broker's clean z-scores together: each broker's
    days are standardised by its own median and MAD, so brokers of any size pool. Each line
    is extrapolated beyond the clean days (`_tail_line`), never under the rules' floor. The
    features share the budget equally, which is safe whatever their dependence; where the clean
    broker-days are enough to count crossings at the budget (a reference's, `JOINT_CROSSINGS_MIN`),
    the share is raised until the clean broker-days over any line reach the budget: a broker-day
    is one review, and the withdrawal counts, nearly one feature for a whole desk, would
    otherwise take two shares. One line at the largest of 12 calibration broker-days was passed
    by 12 of 180 clean broker-days; equal shares on one market's 36, by 3 (bench/README.md)."""
    floor = float(rules.models.broker_robust_z_min)  # float ok
    if not clean_z:
        return np.full(len(FEATURES), floor)
    stacked = np.vstack(clean_z)
    budget = rules.models.broker_false_alarms_per_10k

    def lines(share: float) -> FloatArray:  # float ok
        return np.array([max(floor, _tail_line(column, share)) for column in stacked.T])

    low, high = budget / len(FEATURES), float(budget)  # float ok
    # A line at the (k+1)-th largest of n clean scores is passed by (k+1)/(n+1) of fresh ones
    # on average, not k/n: fitted to the budget on the clean days themselves, the lines passed
    # 1.4 in 100 fresh ones (measured). So each feature's line counts one crossing more.
    allowed = budget * (len(stacked) + 1) / PER_10K - len(FEATURES)
    if allowed < JOINT_CROSSINGS_MIN:
        return lines(low)
    for _ in range(24):  # bisection: a lower share only raises lines, so crossings fall
        middle = (low + high) / 2
        if int(((stacked / lines(middle)).max(axis=1) > 1.0).sum()) > allowed:
            high = middle
        else:
            low = middle
    return lines(low)


def _client_lines(clean_z: FloatMatrix, rules: WatchRules) -> FloatArray:
    """Each feature's line. The withdrawal counts have a line each, the other features share
    one (their largest z): per-feature lines for all put a clean client over one line or
    another 21 times in 10,000 (measured: the calibration days cannot resolve eight shares
    of the budget). Each line is at an equal share of the budget, never under the rules'
    floor for its kind: the shared one extrapolated beyond the calibration days (`_tail_line`),
    the counts' their clean quantile. A count is a small integer whose clean maximum many
    clients share, so it has no tail to fit, and no clean count line was ever passed
    (bench/README.md); a line above it would only lose bursts."""
    counts = [j for j, name in enumerate(FEATURES) if name in COUNT_FEATURES]
    rest = [j for j in range(len(FEATURES)) if j not in counts]
    share = rules.models.forest_false_alarms_per_10k / (len(counts) + 1)
    shared = _tail_line(clean_z[:, rest].max(axis=1), share)
    lines = np.full(len(FEATURES), max(float(rules.models.client_robust_z_min), shared))  # float ok
    for j in counts:
        count_floor = float(rules.models.client_count_z_min)  # float ok
        lines[j] = max(count_floor, _quantile(clean_z[:, j], share))
    return lines


def _contributions(
    names_scores: FloatArray, values: FloatArray, usual: FloatArray, top: int
) -> tuple[Contribution, ...]:
    order = np.argsort(-names_scores, kind="stable")[:top]
    return tuple(
        Contribution(FEATURES[j], float(np.expm1(values[j])), float(np.expm1(usual[j])),  # float ok
                     float(round(names_scores[j], 3)))  # float ok
        for j in order
    )  # fmt: skip


def _forest_weights(models: WatchModels, row: FloatArray) -> FloatArray:
    """Each feature's part: how much the score falls when that feature takes its usual value."""
    trials = np.repeat(row[None, :], len(FEATURES), axis=0)
    trials[np.arange(len(FEATURES)), np.arange(len(FEATURES))] = models.forest_median
    base = models.forest.scores(row[None, :])[0]
    return base - models.forest.scores(trials)  # type: ignore[no-any-return]


def score_day(
    models: WatchModels, features: DailyFeatures, day: date, rules: WatchRules
) -> list[Alert]:
    """The day's model alerts: client baseline, isolation forest, then broker baseline."""
    keys, rows = rows_of(features, day)
    make = _alert_maker(models, rules, day)
    alerts: list[Alert] = []
    if len(keys):
        z = _client_scores(models, keys, rows)
        forest = models.forest.scores(rows)
        # Strictly above: a line is the largest clean score where the budget is finer than
        # the calibration days, and a count's clean maximum is shared by many clients.
        beyond = z / models.client_thresholds
        for i in np.flatnonzero((beyond > 1.0).any(axis=1)):
            usual = models.clients.get(keys[i][:2], models.population).median
            score = float(beyond[i].max())  # float ok
            alerts.append(make("model_client", keys[i], score, beyond[i], rows[i], usual))
        for i in np.flatnonzero(forest > models.forest_threshold):
            weights = _forest_weights(models, rows[i])
            alerts.append(
                make(
                    "model_forest",
                    keys[i],
                    float(forest[i]),  # float ok
                    weights,
                    rows[i],
                    models.forest_median,
                )
            )
    for broker, row in sorted(_broker_rows(features, day).items()):
        baseline = models.brokers.get(broker)
        if baseline is None:
            continue
        zb = baseline.z(row[None, :])[0]
        if (above := zb / models.broker_thresholds).max() > 1.0:
            score = float(above.max())  # float ok
            # Weighed by each line, as the client's: the lines differ up to fivefold between
            # features, and ranked by z a withdrawal count at 0.4 of its line led the alert a
            # deduction past its own had raised (bench/README.md, 2026-12-03).
            alerts.append(
                make("model_broker", (broker, "", day), score, above, row, baseline.median)
            )
    return alerts


def _alert_maker(
    models: WatchModels, rules: WatchRules, day: date
) -> Callable[[str, AccountDay, float, FloatArray, FloatArray, FloatArray], Alert]:
    def make(
        rule: str,
        key: AccountDay,
        score: float,  # float ok
        weights: FloatArray,
        row: FloatArray,
        usual: FloatArray,
    ) -> Alert:
        broker, account, _ = key
        subject = f"account:{account}" if account else f"broker:{broker}"
        contributions = _contributions(weights, row, usual, rules.models.top_features)
        top = ", ".join(c.feature for c in contributions)
        return Alert(
            key=f"{rule}/{broker}/{day.isoformat()}/{subject}",
            rule=rule,
            level=rules.models.level,
            business_date=day,
            broker_id=broker,
            subject=subject,
            summary=f"score {score:.2f} (model {models.version[:12]}, seed {models.seed}); "
            f"most unusual: {top}",
            amount_fen=0,
            raised_at=datetime.combine(day, SCORED_AT, tzinfo=SHANGHAI),
            rules_sha256=rules.content_sha256,
            contributions=contributions,
            model_version=models.version,
        )

    return make
