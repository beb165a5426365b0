"""The objective of a sweep: one contract metric, a direction, an optional trade minimum.

Every method ranks combinations the same way: first those with at least
``min_trades`` trades ("qualified"), then the rest; inside each group by the metric
in the chosen direction; an undefined (null) metric last in its group. ``score`` is the
metric signed so that higher is always better (NaN when undefined), which lets the
database order trials with one index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.enums import M_TOTAL_TRADES, METRIC_NAMES

MAXIMIZE = "maximize"
MINIMIZE = "minimize"


@dataclass(frozen=True)
class Objective:
    metric: str = "sharpe_ratio"
    direction: str = MAXIMIZE
    min_trades: int = 0

    def __post_init__(self) -> None:
        if self.metric not in METRIC_NAMES:
            raise ValueError(
                f"objective.metric: {self.metric!r} is not a metric (known: {', '.join(METRIC_NAMES)})"
            )
        if self.direction not in (MAXIMIZE, MINIMIZE):
            raise ValueError(f"objective.direction must be maximize or minimize, got {self.direction!r}")
        if isinstance(self.min_trades, bool) or not isinstance(self.min_trades, int) or self.min_trades < 0:
            raise ValueError(f"objective.min_trades must be an integer >= 0, got {self.min_trades!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Objective:
        data = dict(data or {})
        return cls(
            metric=data.get("metric", "sharpe_ratio"),
            direction=data.get("direction", MAXIMIZE),
            min_trades=int(data.get("min_trades") or 0),
        )

    @property
    def index(self) -> int:
        return METRIC_NAMES.index(self.metric)

    @property
    def sign(self) -> float:
        return 1.0 if self.direction == MAXIMIZE else -1.0

    def evaluate(self, metrics: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(objective, score, qualified)`` for metrics rows float64[C, N_METRICS].

        objective: the raw metric (NaN = null); score: ``sign * objective`` (higher is
        better; NaN stays NaN); qualified: total_trades >= min_trades.
        """
        metrics = np.atleast_2d(metrics)
        objective = metrics[:, self.index].astype(np.float64, copy=True)
        objective[~np.isfinite(objective)] = np.nan
        score = objective * self.sign
        qualified = metrics[:, M_TOTAL_TRADES] >= self.min_trades
        return objective, score, qualified

    def key(self, score: float | None, qualified: bool) -> tuple[int, float]:
        """A sort key, larger = better: qualified first, then score, null last."""
        value = -np.inf if score is None or not np.isfinite(score) else float(score)
        return (1 if qualified else 0, value)


def rank_order(score: np.ndarray, qualified: np.ndarray) -> np.ndarray:
    """Indices that sort combinations best first (ties keep their order: stable)."""
    clean = np.where(np.isfinite(score), score, -np.inf)
    # lexsort sorts by the last key first, ascending; negate for best-first
    return np.lexsort((-clean, ~np.asarray(qualified, dtype=bool)))


def ranks(score: np.ndarray, qualified: np.ndarray) -> np.ndarray:
    """Rank of each combination, 0 = best (stable on ties)."""
    order = rank_order(score, qualified)
    out = np.empty(order.shape[0], dtype=np.int64)
    out[order] = np.arange(order.shape[0])
    return out
