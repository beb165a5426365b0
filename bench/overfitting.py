"""Cost of a sweep's overfitting statistics (docs/sweeps.md, "Overfitting statistics").

Prints, over a seeded random walk of 100,000 hourly bars: the median time to re-run one
trial for the PBO (run_backtest, bar returns, block sums), the CSCV over 16 blocks ×
1,000 trials, and a 1,000-resample bootstrap of a Sharpe ratio, with the load average.

    .venv/bin/python bench/overfitting.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.enums import M_SHARPE_RATIO, trade_dt
from engine.metrics_nb import metrics_nb
from engine.runner import run_backtest
from engine.stats import bar_returns
from optimizers import overfitting as of
from strategies.registry import get_strategy

BARS = 100_000


def main() -> None:
    rng = np.random.default_rng(1)
    close = 40_000 * np.exp(np.cumsum(rng.normal(0, 0.004, BARS)))
    open_ = np.r_[40_000, close[:-1]]
    candles = {
        "ts": np.arange(BARS, dtype=np.int64) * 3_600_000,
        "open": open_,
        "high": np.maximum(open_, close) * 1.001,
        "low": np.minimum(open_, close) * 0.999,
        "close": close,
        "volume": np.ones(BARS),
    }
    strategy = get_strategy("hyperrsi")
    result = run_backtest(candles, strategy, {}, {}, timeframe_minutes=60)  # compile / load
    bounds = of.block_bounds(BARS - 1, 16)
    times = []
    for k in range(200):
        t0 = time.perf_counter()
        equity = run_backtest(candles, strategy, {"rsi_period": 7 + k % 20}, {}, timeframe_minutes=60).equity
        of.block_stats(bar_returns(equity), bounds)
        times.append(time.perf_counter() - t0)
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"one trial re-run for the PBO ({BARS:,} bars), median of 200: {np.median(times) * 1000:.2f} ms")

    mean = rng.normal(0, 1e-3, (16, 1000))
    m2 = np.abs(rng.normal(1e-2, 1e-3, (16, 1000)))
    t0 = time.perf_counter()
    of.pbo_cscv(np.diff(bounds), mean, m2)
    print(f"CSCV, 16 blocks (12,870 splits) x 1,000 trials: {time.perf_counter() - t0:.2f} s")

    returns = bar_returns(result.equity)
    no_trades = np.empty(0, dtype=trade_dt)

    def sharpe(idx: np.ndarray) -> float:
        curve = result.equity[0] * np.concatenate([[1.0], np.cumprod(1.0 + returns[idx])])
        return float(metrics_nb(curve, candles["ts"], no_trades, 60.0, 10_000.0, 0, 0.0)[M_SHARPE_RATIO])

    t0 = time.perf_counter()
    of.bootstrap_ci(
        returns.shape[0], sharpe, estimate=None, samples=1000, confidence=0.95,
        block=of.default_block_length(returns.shape[0]), seed=0, method="moving-block",
    )  # fmt: skip
    print(
        f"bootstrap, 1,000 resamples of a Sharpe ratio over {BARS:,} bars: {time.perf_counter() - t0:.2f} s"
    )


if __name__ == "__main__":
    main()
