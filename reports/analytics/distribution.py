"""The distribution of daily returns: skew, kurtosis, value at risk, tail ratio.

Daily (UTC calendar day) returns, as quantstats and empyrical use, so that a 1m run and
a 1d run are described on the same scale; see ``returns.period_returns``.
"""

from __future__ import annotations

import numpy as np

VAR_LEVEL = 0.95


def _none_if_nan(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _deviations(x: np.ndarray, min_count: int) -> tuple[int, np.ndarray, float] | None:
    """(n, the deviations from the mean, the second central moment m2) of ``x``; None
    below ``min_count`` values or without variance (the higher moments are undefined)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < min_count:
        return None
    d = x - x.mean()
    m2 = float(np.mean(d * d))
    if m2 <= 1e-30:
        return None
    return n, d, m2


def skew(x: np.ndarray) -> float | None:
    """Sample skewness, the adjusted Fisher–Pearson G1 (pandas ``Series.skew``, which
    quantstats uses): √(n(n−1))/(n−2) · m3 / m2^1.5. None below 3 values or without
    variance."""
    moments = _deviations(x, 3)
    if moments is None:
        return None
    n, d, m2 = moments
    m3 = float(np.mean(d**3))
    return _none_if_nan(np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5)


def kurtosis(x: np.ndarray) -> float | None:
    """Sample excess kurtosis G2 (pandas ``Series.kurt``, which quantstats uses):
    (n−1)/((n−2)(n−3)) · ((n+1) · m4/m2² − 3(n−1)). 0 for a normal distribution; None
    below 4 values or without variance."""
    moments = _deviations(x, 4)
    if moments is None:
        return None
    n, d, m2 = moments
    m4 = float(np.mean(d**4))
    return _none_if_nan((n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * m4 / (m2 * m2) - 3 * (n - 1)))


def distribution_stats(daily: np.ndarray, level: float = VAR_LEVEL) -> dict[str, float | None]:
    """Figures of the daily returns ``daily`` (float64[d]).

    - ``skew``, ``kurtosis``: see those functions
    - ``var_95``: historical value at risk, the (1 − level) quantile of daily returns
      (empyrical ``value_at_risk``: ``np.percentile(r, 5)``; a negative fraction)
    - ``cvar_95``: conditional VaR / expected shortfall, the mean of the daily returns
      at or below ``var_95`` (empyrical ``conditional_value_at_risk``)
    - ``tail_ratio``: |95th percentile| / |5th percentile| (empyrical ``tail_ratio``)
    - ``daily_volatility``: std(daily, ddof=1)

    Every figure is None for fewer than two days (kurtosis four, skew three).
    """
    r = np.asarray(daily, dtype=np.float64)
    r = r[np.isfinite(r)]
    out: dict[str, float | None] = {
        "skew": skew(r),
        "kurtosis": kurtosis(r),
        "var_95": None,
        "cvar_95": None,
        "tail_ratio": None,
        "daily_volatility": None,
    }
    if r.shape[0] < 2:
        return out
    low = float(np.percentile(r, 100 * (1 - level)))
    high = float(np.percentile(r, 100 * level))
    out["var_95"] = low
    out["cvar_95"] = float(r[r <= low].mean())
    out["tail_ratio"] = abs(high) / abs(low) if low != 0 else None
    out["daily_volatility"] = float(np.std(r, ddof=1))
    return out


def histogram_edges(values: np.ndarray, bins_max: int = 60) -> np.ndarray:
    """Bin edges on multiples of one width, so 0 is an edge and no bar mixes gains and
    losses; about 2·√n bins (10 to ``bins_max``)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.shape[0] == 0:
        return np.array([-0.005, 0.0, 0.005])
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        lo, hi = lo - 0.005, hi + 0.005
    bins = int(np.clip(np.sqrt(values.shape[0]) * 2, 10, bins_max))
    width = (hi - lo) / bins
    start = np.floor(lo / width) * width
    edges = start + width * np.arange(int(np.ceil((hi - start) / width)) + 1)
    if edges[-1] < hi:
        edges = np.append(edges, edges[-1] + width)
    return edges
