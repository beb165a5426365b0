"""Overfitting guards: an out-of-sample hold-out and walk-forward analysis.

Windows are half-open bar ranges ``[lo, hi)`` over the sweep's candles. Indicators and
signals are always computed over all bars and the engine simulates only the window
(``Evaluator.evaluate(lo=, hi=)``): signals are causal, so a train window sees exactly
what it would see alone, and a test window starts with warmed-up indicators instead of
losing its first ``2 * rsi_period`` bars. Each window starts flat, with the initial
capital.

**Out of sample** (``{fraction: f}``): the last ``round(n * f)`` bars are held out. The
sweep is run on bars ``[0, split)``; the top-N then run on ``[split, n)``.

**Walk-forward** (``{windows: W, train_fraction: t, anchored: a}``): rolling windows
whose test parts tile the end of the period without gaps or overlap. With
``r = t / (1 - t)``, each test part has ``S = floor(n / (W + r))`` bars and the first
train part ``T = n - W * S`` bars (so the last test ends on the last bar):

    window k (0-based): train [k*S, T + k*S), test [T + k*S, T + (k+1)*S)
    anchored:           train [0,   T + k*S), same tests

For n = 1000, W = 4, t = 0.5: S = 200, T = 200; the tests are 200-400, 400-600,
600-800 and 800-1000. In each window the candidates are optimised on the train part,
the best is run on the test part, and the test equities are chained (each starts
from the previous one's final equity) into one out-of-sample curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from engine.enums import M_TOTAL_TRADES, METRIC_NAMES, trade_dt
from engine.metrics_nb import metrics_nb
from engine.runner import simulate
from engine.timestamps import ms_iso
from optimizers.evaluate import Evaluator, metrics_dicts
from optimizers.objective import Objective, rank_order
from optimizers.space import columns_from_dicts
from strategies.registry import get_strategy

MIN_WINDOW_BARS = 2
# The equity-only metrics reported for a stitched out-of-sample curve (trade metrics
# are summed over the windows instead: their pnl is in each window's own capital).
STITCHED_METRICS = METRIC_NAMES[:M_TOTAL_TRADES]  # the contract lists these first


class ValidationError(ValueError):
    """The validation settings do not fit the candles (too few bars for a window)."""


@dataclass(frozen=True)
class Window:
    index: int
    train: tuple[int, int]
    test: tuple[int, int]


def oos_split(n: int, fraction: float) -> int:
    """The first out-of-sample bar: bars ``[0, split)`` are in sample, ``[split, n)`` held out.

    The held-out count is ``round(n * fraction)`` with halves rounded up (exactly, from
    the decimal of ``fraction``). Both parts need at least two bars.
    """
    held = math.floor(Fraction(n) * Fraction(str(fraction)) + Fraction(1, 2))
    split = n - held
    if held < MIN_WINDOW_BARS or split < MIN_WINDOW_BARS:
        raise ValidationError(
            f"validation.out_of_sample.fraction {fraction} of {n} bars leaves {split} in sample and {held} "
            f"out of sample; each part needs at least {MIN_WINDOW_BARS} bars"
        )
    return split


def walk_forward_windows(n: int, windows: int, train_fraction: float, anchored: bool = False) -> list[Window]:
    """The rolling (or anchored) train/test windows over ``n`` bars; see the module doc."""
    t = Fraction(str(train_fraction))
    if not 0 < t < 1:
        raise ValidationError(
            f"validation.walk_forward.train_fraction must be in (0, 1), got {train_fraction}"
        )
    if windows < 1:
        raise ValidationError(f"validation.walk_forward.windows must be >= 1, got {windows}")
    ratio = t / (1 - t)
    test = int(Fraction(n) / (windows + ratio))
    train = n - windows * test
    if test < MIN_WINDOW_BARS or train < MIN_WINDOW_BARS:
        raise ValidationError(
            f"validation.walk_forward: {windows} windows over {n} bars give test parts of {test} bars and a "
            f"train part of {train}; each needs at least {MIN_WINDOW_BARS} bars (use fewer windows)"
        )
    out = []
    for k in range(windows):
        test_lo = train + k * test
        train_lo = 0 if anchored else k * test
        out.append(Window(index=k, train=(train_lo, test_lo), test=(test_lo, test_lo + test)))
    return out


def bars_info(ts: np.ndarray, lo: int, hi: int) -> dict[str, Any]:
    """``{lo, hi, bars, start, end}`` of a window, times as ISO-8601 UTC (inclusive end)."""
    return {"lo": lo, "hi": hi, "bars": hi - lo, "start": ms_iso(int(ts[lo])), "end": ms_iso(int(ts[hi - 1]))}


def out_of_sample_top(
    evaluator: Evaluator, columns: Mapping[str, np.ndarray], split: int
) -> list[dict[str, float | int | None]]:
    """Out-of-sample metrics (bars ``[split, n)``) of each full parameter set in ``columns``."""
    return metrics_dicts(evaluator.evaluate(columns, lo=split, hi=len(evaluator)))


@dataclass
class WindowResult:
    window: Window
    best_params: dict[str, Any]
    train_metrics: dict[str, Any]
    test_metrics: dict[str, Any]
    candidates: int

    def as_dict(self, ts: np.ndarray) -> dict[str, Any]:
        return {
            "index": self.window.index,
            "train": bars_info(ts, *self.window.train),
            "test": bars_info(ts, *self.window.test),
            "best_params": self.best_params,
            "candidates": self.candidates,
            "train_metrics": self.train_metrics,
            "test_metrics": self.test_metrics,
        }


def best_on_window(
    evaluator: Evaluator,
    objective: Objective,
    columns: Mapping[str, np.ndarray],
    lo: int,
    hi: int,
) -> tuple[int, np.ndarray]:
    """Index of the best candidate on bars ``[lo, hi)`` and its metrics row."""
    rows = evaluator.evaluate(columns, lo=lo, hi=hi)
    _, score, qualified = objective.evaluate(rows)
    best = int(rank_order(score, qualified)[0])
    return best, rows[best]


def stitch(
    evaluator: Evaluator, full_params: Sequence[Mapping[str, Any]], windows: Sequence[Window]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Chain the test-window equities of ``full_params[k]`` on ``windows[k]``.

    Returns ``(ts, equity, metrics)``: each window's equity is scaled so that it starts
    from the previous window's final equity (a window simulated alone starts from the
    initial capital), so the curve is the account a trader re-optimising at each
    window boundary would have had. ``metrics``: the STITCHED_METRICS of that curve
    (``metrics_nb`` over it), plus total_trades and win_rate over every window.
    """
    strategy = get_strategy(evaluator.strategy)
    c = evaluator.candles
    ex = evaluator.execution
    parts_ts, parts_eq, all_trades = [], [], []
    level = ex.initial_capital
    for params, window in zip(full_params, windows, strict=True):
        lo, hi = window.test
        signals = strategy.signals(params, c.open, c.high, c.low, c.close, c.volume)
        result = simulate(
            c.ts[lo:hi],
            c.open[lo:hi],
            c.high[lo:hi],
            c.low[lo:hi],
            c.close[lo:hi],
            np.asarray(signals)[lo:hi],
            ex,
            leverage=params.get("leverage", 1.0),
            stop_loss_percent=params.get("stop_loss_percent"),
            take_profit_percent=params.get("take_profit_percent"),
            timeframe_minutes=evaluator.minutes_per_bar,
        )
        parts_ts.append(c.ts[lo:hi])
        parts_eq.append(result.equity * (level / ex.initial_capital))
        level = float(parts_eq[-1][-1])
        all_trades.append(result.trades)
    ts = np.concatenate(parts_ts)
    equity = np.concatenate(parts_eq)
    trades = np.concatenate(all_trades) if all_trades else np.empty(0, dtype=trade_dt)
    row = metrics_nb(
        equity, ts, np.empty(0, dtype=trade_dt), evaluator.minutes_per_bar, ex.initial_capital, 0,
        ex.rf_per_bar(evaluator.minutes_per_bar),
    )  # fmt: skip
    values = dict(zip(METRIC_NAMES, row.tolist(), strict=True))
    metrics: dict[str, Any] = {
        name: (values[name] if math.isfinite(values[name]) else None) for name in STITCHED_METRICS
    }
    metrics["total_trades"] = int(trades.shape[0])
    metrics["win_rate"] = float(np.mean(trades["pnl"] > 0)) if trades.shape[0] else None
    return ts, equity, metrics


def walk_forward(
    evaluator: Evaluator,
    objective: Objective,
    windows: Sequence[Window],
    optimise: Callable[[int, int], tuple[dict[str, Any], dict[str, Any], np.ndarray, int]],
) -> tuple[list[WindowResult], np.ndarray, np.ndarray, dict[str, Any]]:
    """Run ``optimise(lo, hi) -> (best swept params, best full params, train metrics row,
    candidates)`` on each train part, evaluate the best on its test part, and stitch.

    Returns ``(per-window results, stitched ts, stitched equity, stitched metrics)``.
    """
    results = []
    chosen = []
    for window in windows:
        swept, full, train_row, candidates = optimise(*window.train)
        columns = columns_from_dicts([full], list(full))
        test_row = evaluator.evaluate(columns, lo=window.test[0], hi=window.test[1])
        results.append(
            WindowResult(
                window=window,
                best_params=swept,
                train_metrics=metrics_dicts(train_row[None, :])[0],
                test_metrics=metrics_dicts(test_row)[0],
                candidates=candidates,
            )
        )
        chosen.append(full)
    ts, equity, metrics = stitch(evaluator, chosen, windows)
    return results, ts, equity, metrics
