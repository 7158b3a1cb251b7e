"""The isolation forest (scikit-learn) behind the watch's `OutlierModel` port."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import IsolationForest


class IsolationForestModel:
    """Higher score = more isolated. One thread: the same seed gives the same forest and the
    same scores on any machine, and the benches share two cores."""

    def __init__(self) -> None:
        self._forest: IsolationForest | None = None

    def fit(self, rows: npt.NDArray[np.float64], *, seed: int, trees: int) -> None:
        self._forest = IsolationForest(n_estimators=trees, random_state=seed, n_jobs=1).fit(rows)

    def scores(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self._forest is None:
            raise RuntimeError("the isolation forest must be fitted before it scores")
        scored: npt.NDArray[np.float64] = -self._forest.score_samples(rows)
        return scored
