"""Buy and hold of the run's own market as its benchmark (quantstats' benchmark,
freqtrade's "market change").

The benchmark holds one unit of the market from the first bar's close to the last,
without leverage or fees: its value at a bar is close / first close. Its returns are
taken at the strategy's bars, so both series share every timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reports.analytics.returns import bar_returns, bars_per_year


@dataclass(frozen=True)
class Benchmark:
    """``growth``: float64[n], benchmark value / its first value (1.0 at bar 0), at the
    strategy's bars; the rest are the figures of ``benchmark_stats``."""

    growth: np.ndarray
    stats: dict[str, float | None]


def aligned_close(ts: np.ndarray, candle_ts: np.ndarray, close: np.ndarray) -> np.ndarray:
    """The close of the last candle at or before each of ``ts`` (the first close before
    the first candle). float64[len(ts)]."""
    candle_ts = np.asarray(candle_ts, dtype=np.int64)
    close = np.asarray(close, dtype=np.float64)
    if candle_ts.shape[0] == 0:
        raise ValueError("no candles to build a benchmark from")
    at = np.searchsorted(candle_ts, np.asarray(ts, dtype=np.int64), side="right") - 1
    return close[np.clip(at, 0, candle_ts.shape[0] - 1)]


def _ratio(num: float, den: float) -> float | None:
    if den == 0 or not np.isfinite(num) or not np.isfinite(den):
        return None
    value = num / den
    return float(value) if np.isfinite(value) else None


def benchmark_stats(ts: np.ndarray, equity: np.ndarray, bench_price: np.ndarray) -> Benchmark:
    """Alpha, beta, correlation and information ratio of the strategy's bar returns
    against the benchmark's, and the benchmark's own return, volatility, Sharpe and
    maximum drawdown.

    r: the strategy's bar returns (``bar_returns``), b: the benchmark's; both over bars
    1..n−1; k = bars per year.

    - ``benchmark_return`` = last price / first price − 1 (freqtrade's market change)
    - ``excess_return`` = total return − benchmark_return, total return = e_{n−1}/e_0 − 1 (e_0 is the
      initial capital: no position is open at the first close)
    - ``beta`` = cov(r, b) / var(b)
    - ``alpha`` = (mean(r) − beta · mean(b)) · k  (quantstats ``greeks``, annualised)
    - ``correlation`` = Pearson correlation of r and b
    - ``information_ratio`` = mean(r − b) / std(r − b, ddof=1) · √k
    - ``benchmark_volatility``, ``benchmark_sharpe`` = as the contract's volatility and
      sharpe_ratio, over b (the Sharpe ratio's numerator the geometric mean bar return
      of the prices, docs/engine.md); ``benchmark_max_drawdown`` = as the contract's, over prices.

    A ratio with a zero denominator (flat benchmark, no strategy variance) is None.
    """
    ts = np.asarray(ts, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    price = np.asarray(bench_price, dtype=np.float64)
    if ts.shape[0] != equity.shape[0] or price.shape[0] != equity.shape[0]:
        raise ValueError(
            f"ts, equity and benchmark prices differ in length: {ts.shape[0]}, "
            f"{equity.shape[0]}, {price.shape[0]}"
        )
    if equity.shape[0] == 0:
        raise ValueError("an empty equity curve has no benchmark")
    growth = price / price[0] if price[0] > 0 else np.ones_like(price)
    k = bars_per_year(ts)
    r = bar_returns(equity)[1:]
    b = bar_returns(price)[1:]
    stats: dict[str, float | None] = {
        "benchmark_return": float(growth[-1] - 1.0),
        "excess_return": None,
        "alpha": None,
        "beta": None,
        "correlation": None,
        "information_ratio": None,
        "benchmark_volatility": None,
        "benchmark_sharpe": None,
        "benchmark_max_drawdown": None,
    }
    if price[0] > 0:
        stats["benchmark_max_drawdown"] = float(np.max(1.0 - price / np.maximum.accumulate(price)))
    if equity[0] > 0:
        stats["excess_return"] = float(equity[-1] / equity[0] - growth[-1])
    if r.shape[0] >= 2:
        var_b = float(np.var(b, ddof=1))
        var_r = float(np.var(r, ddof=1))
        cov = float(np.cov(r, b, ddof=1)[0, 1])
        beta = _ratio(cov, var_b)
        stats["beta"] = beta
        if beta is not None:
            stats["alpha"] = float((r.mean() - beta * b.mean()) * k)
        stats["correlation"] = _ratio(cov, float(np.sqrt(var_r * var_b)))
        diff = r - b
        stats["information_ratio"] = _ratio(float(diff.mean()), float(np.std(diff, ddof=1)))
        if stats["information_ratio"] is not None:
            stats["information_ratio"] *= float(np.sqrt(k))
        std_b = float(np.sqrt(var_b))
        stats["benchmark_volatility"] = std_b * float(np.sqrt(k))
        g = float(np.expm1(np.log(growth[-1]) / b.shape[0])) if growth[-1] > 0 else -1.0
        sharpe = _ratio(g, std_b)
        stats["benchmark_sharpe"] = None if sharpe is None else sharpe * float(np.sqrt(k))
    return Benchmark(growth=growth, stats=stats)
