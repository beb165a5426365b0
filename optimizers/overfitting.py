"""Overfitting statistics of a sweep, framework-free (numpy): the probability of backtest
overfitting by combinatorially symmetric cross-validation, a bootstrap confidence
interval, and the parameters whose best value sits on the edge of the space.

**PBO** (Bailey, Borwein, López de Prado and Zhu (2015), "The Probability of Backtest
Overfitting", Journal of Computational Finance 20(4), section 2): the T × N matrix of
per-bar returns of the N trials is cut into S contiguous blocks of rows. For each of the
C(S, S/2) ways to choose S/2 blocks as the training set J (the rest, J̄, is the test
set), the trial n* with the best performance on J is found; ω̄ is the relative rank of
its performance on J̄ among the N trials' (rank / (N + 1), rank 1 the worst, ties
averaged) and λ = ln(ω̄ / (1 - ω̄)). PBO = the share of the combinations with λ <= 0:
how often the in-sample best is at or below the median out of sample. The performance
is the Sharpe ratio mean / std (ddof = 1) of the returns of the chosen blocks
(0 where the std is 0). The blocks are summarised by their count, mean and sum of
squared deviations, so the matrix is never held: ``block_stats`` summarises one trial's
returns at a time.

**Bootstrap** (the circular moving-block bootstrap, Politis and Romano (1992); percentile
interval, Efron and Tibshirani (1993)): ``bootstrap_indices`` draws B resamples of T
return indices as ceil(T / L) blocks of L consecutive (wrapping) indices from uniform
random starts, cut to T; a statistic of each resample gives the interval's quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

COMBINATION_BATCH = 1024


# --- PBO by CSCV ---------------------------------------------------------------------


def block_bounds(t: int, blocks: int) -> np.ndarray:
    """The S + 1 row bounds of S contiguous blocks over T rows (sizes differ by at most
    one, the larger first, as ``numpy.array_split``)."""
    if blocks < 2 or t < 2 * blocks:
        raise ValueError(f"{t} returns cannot be cut into {blocks} blocks of at least 2")
    sizes = np.full(blocks, t // blocks, dtype=np.int64)
    sizes[: t % blocks] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def block_stats(returns: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, m2) of each block of ``returns`` (float64[T]): float64[S] each, m2 the sum
    of squared deviations from the block's mean."""
    r = np.asarray(returns, dtype=np.float64)
    sizes = np.diff(bounds)
    sums = np.add.reduceat(r, bounds[:-1])
    mean = sums / sizes
    dev = r - np.repeat(mean, sizes)
    return mean, np.add.reduceat(dev * dev, bounds[:-1])


@dataclass(frozen=True)
class PBOResult:
    pbo: float  # share of combinations with logit <= 0
    combinations: int
    trials: int
    blocks: int
    logits: np.ndarray  # float64[C], one per combination (±inf at the extremes)
    oos_loss: float  # share of combinations where the chosen trial's test Sharpe < 0

    def as_dict(self) -> dict[str, Any]:
        finite = self.logits[np.isfinite(self.logits)]
        return {
            "pbo": self.pbo,
            "combinations": self.combinations,
            "trials": self.trials,
            "blocks": self.blocks,
            "logit_median": float(np.median(self.logits)) if self.logits.size else None,
            "logit_histogram": _histogram(finite),
            "oos_loss_probability": self.oos_loss,
        }


def _histogram(values: np.ndarray, bins: int = 20) -> dict[str, list]:
    if values.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(values, bins=bins)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _sharpe_of(mask: np.ndarray, sizes: np.ndarray, mean: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """Sharpe (ddof 1) of the union of the blocks chosen by ``mask`` (float64[C, S] of
    0/1) for every trial: float64[C, N] from block ``mean``, ``m2`` (float64[S, N])."""
    weights = mask * sizes  # [C, S]
    n = weights.sum(axis=1)[:, None]  # [C, 1]
    mu = weights @ mean / n  # [C, N]
    # Chan et al.'s merge: Σ m2_b + Σ n_b mean_b² - n mu²; the last two terms are small
    # next to the first for returns (mean² << variance), so nothing cancels that matters.
    ss = mask @ m2 + weights @ (mean * mean) - n * mu * mu
    std = np.sqrt(np.maximum(ss, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0.0, mu / std, 0.0)


def pbo_cscv(sizes: np.ndarray, mean: np.ndarray, m2: np.ndarray) -> PBOResult:
    """PBO from block statistics: ``sizes`` int[S] (even S >= 2), ``mean`` and ``m2``
    float64[S, N] (``block_stats`` of each trial, as columns). See the module doc."""
    s, n = mean.shape
    if s % 2 or s < 2:
        raise ValueError(f"CSCV needs an even number of blocks, got {s}")
    if n < 2:
        raise ValueError(f"CSCV needs at least 2 trials, got {n}")
    sizes = np.asarray(sizes, dtype=np.float64)
    combos = np.array(list(combinations(range(s), s // 2)), dtype=np.int64)
    logits = np.empty(combos.shape[0], dtype=np.float64)
    losses = 0
    for lo in range(0, combos.shape[0], COMBINATION_BATCH):
        part = combos[lo : lo + COMBINATION_BATCH]
        train = np.zeros((part.shape[0], s), dtype=np.float64)
        np.put_along_axis(train, part, 1.0, axis=1)
        is_sr = _sharpe_of(train, sizes, mean, m2)
        oos_sr = _sharpe_of(1.0 - train, sizes, mean, m2)
        best = np.argmax(is_sr, axis=1)
        chosen = oos_sr[np.arange(part.shape[0]), best][:, None]
        rank = (oos_sr < chosen).sum(axis=1) + ((oos_sr == chosen).sum(axis=1) + 1) / 2.0
        omega = rank / (n + 1)
        logits[lo : lo + part.shape[0]] = np.log(omega / (1.0 - omega))
        losses += int((chosen[:, 0] < 0.0).sum())
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        combinations=int(combos.shape[0]),
        trials=n,
        blocks=s,
        logits=logits,
        oos_loss=losses / combos.shape[0],
    )


def pbo_from_returns(matrix: np.ndarray, blocks: int) -> PBOResult:
    """PBO of a T × N matrix of returns (one column per trial) cut into ``blocks`` blocks."""
    m = np.asarray(matrix, dtype=np.float64)
    bounds = block_bounds(m.shape[0], blocks)
    stats = [block_stats(m[:, j], bounds) for j in range(m.shape[1])]
    mean = np.stack([st[0] for st in stats], axis=1)
    m2 = np.stack([st[1] for st in stats], axis=1)
    return pbo_cscv(np.diff(bounds), mean, m2)


# --- bootstrap -------------------------------------------------------------------------


def default_block_length(t: int) -> int:
    """L = round(T^(1/3)), at least 1: the rate that minimises the moving-block
    bootstrap's error for a variance-type statistic (Hall, Horowitz and Jing 1995)."""
    return max(1, round(t ** (1.0 / 3.0)))


def bootstrap_starts(t: int, samples: int, block: int, rng: np.random.Generator) -> np.ndarray:
    """int64[samples, ceil(T / L)]: the uniform random block starts of each resample."""
    return rng.integers(0, t, size=(samples, -(-t // block)))


def block_indices(starts: np.ndarray, t: int, block: int) -> np.ndarray:
    """int64[T]: one resample's indices, ``block`` consecutive (wrapping) from each start."""
    return ((starts[:, None] + np.arange(block)[None, :]) % t).reshape(-1)[:t]


def bootstrap_indices(t: int, samples: int, block: int, rng: np.random.Generator) -> np.ndarray:
    """int64[samples, T]: circular moving-block resamples of the indices 0..T-1 (all at
    once: for small T; ``bootstrap_ci`` builds one resample at a time)."""
    return np.stack([block_indices(row, t, block) for row in bootstrap_starts(t, samples, block, rng)])


@dataclass(frozen=True)
class BootstrapCI:
    estimate: float | None
    low: float | None
    high: float | None
    confidence: float
    samples: int
    defined: int  # resamples whose statistic was defined (finite)
    block: int
    method: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float | None, float | None, int]:
    """(low, high, defined): the (1 - c)/2 and (1 + c)/2 quantiles (numpy's linear
    interpolation) of the finite ``values``."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None, None, 0
    lo, hi = np.quantile(finite, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    return float(lo), float(hi), int(finite.size)


def bootstrap_ci(
    data_size: int,
    statistic: Callable[[np.ndarray], float],
    *,
    estimate: float | None,
    samples: int,
    confidence: float,
    block: int,
    seed: int,
    method: str,
) -> BootstrapCI:
    """Percentile interval of ``statistic(indices)`` over ``samples`` block resamples of
    ``range(data_size)`` (``block`` 1: the plain i.i.d. bootstrap)."""
    starts = bootstrap_starts(data_size, samples, block, np.random.default_rng(seed))
    # one resample's indices at a time: all of them at once would be samples x T int64s
    values = np.array([statistic(block_indices(row, data_size, block)) for row in starts], dtype=np.float64)
    low, high, defined = percentile_interval(values, confidence)
    return BootstrapCI(estimate, low, high, confidence, samples, defined, block, method)


# --- the edge of the space -------------------------------------------------------------


def edge_flags(
    space: Mapping[str, Sequence[Any]], best: Mapping[str, Any], top: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Parameters whose best value is the smallest or largest of its axis.

    space: each swept parameter's values (axes of numbers with at least 3 values are
    checked: with 2, every value is an edge); best: the best trial's params; top: the
    top-N trials' params. One ``{param, value, edge, axis_min, axis_max, top_at_edge,
    top}`` per flagged parameter: the optimum may lie outside the space.
    """
    out = []
    for name, values in space.items():
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) < 3 or len(numbers) != len(values) or name not in best:
            continue
        lo, hi = min(numbers), max(numbers)
        value = best[name]
        if value not in (lo, hi):
            continue
        out.append(
            {
                "param": name,
                "value": value,
                "edge": "min" if value == lo else "max",
                "axis_min": lo,
                "axis_max": hi,
                "top_at_edge": sum(1 for t in top if t.get(name) == value),
                "top": len(top),
            }
        )
    return out


def verdict(pbo: float | None, dsr: float | None) -> tuple[str, str]:
    """(level, sentence): a plain reading of the PBO and the DSR.

    level: ``overfit`` (PBO >= 0.5, or DSR < 0.5), ``doubtful`` (PBO >= 0.2 or
    DSR < 0.95), ``credible`` otherwise, ``unknown`` when neither is defined.
    """
    if pbo is None and dsr is None:
        return "unknown", "Not enough trials or bars to judge overfitting."
    parts = []
    if pbo is not None:
        parts.append(f"the in-sample best is at or below the median out of sample in {pbo:.0%} of the splits")
    if dsr is not None:
        parts.append(
            f"the probability that its Sharpe ratio beats the best of as many skill-less trials is {dsr:.0%}"
        )
    detail = "; ".join(parts)
    if (pbo is not None and pbo >= 0.5) or (dsr is not None and dsr < 0.5):
        return "overfit", f"Likely overfit: {detail}."
    if (pbo is not None and pbo >= 0.2) or (dsr is not None and dsr < 0.95):
        return "doubtful", f"Doubtful: {detail}."
    return "credible", f"No sign of overfitting: {detail}."


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
