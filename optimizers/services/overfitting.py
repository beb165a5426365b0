"""The overfitting report of a finished sweep, from the trials it already has.

Computed once, in the finalising task, over the bars the sweep optimised on (the
in-sample part with an out-of-sample validation, else every bar):

- **PBO** (``optimizers.overfitting.pbo_cscv``): each trial (at most
  ``overfitting.max_trials``, a seeded sample above that) is run again with
  ``engine.runner.run_backtest`` to get its per-bar returns, summarised block by block;
- **DSR** (``engine.stats.deflated_sharpe_ratio``): the best trial's Sharpe ratio against
  the expected best of N = every trial, with V the variance of the trials' Sharpe ratios
  (the contract's, per bar: the figures the sweep ranked);
- **PSR** of the best trial, and a **bootstrap interval** of its objective metric
  (block bootstrap of its returns for an equity metric, i.i.d. bootstrap of its trades for
  a trade metric);
- **edge flags** (``optimizers.overfitting.edge_flags``) and a plain **verdict**.

``promote_warnings`` turns the stored reports into the sentences promote returns.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.config import ExecutionConfig
from engine.enums import METRIC_NAMES, trade_dt
from engine.metrics_nb import metrics_nb
from engine.runner import Candles, run_backtest
from engine.stats import (
    bar_returns,
    bars_per_year,
    deflated_sharpe_ratio,
    probabilistic_sharpe_ratio,
    return_moments,
    sharpe_variance,
)
from optimizers import overfitting as of
from optimizers.evaluate import Evaluator
from optimizers.models import RANKING, OptimizationRun, Trial
from optimizers.objective import MAXIMIZE
from optimizers.services.plan import Plan

log = logging.getLogger(__name__)

# Metrics of the equity curve (bootstrapped by resampling bar returns) and of the trades
# (by resampling trades); total_trades and exposure have no sampling distribution here.
EQUITY_METRICS = frozenset(METRIC_NAMES[:8])
TRADE_METRICS = frozenset(METRIC_NAMES[9:18]) | {"total_fees"}
# The value of each objective that separates a gain from a loss.
BREAK_EVEN = {
    "total_return": 0.0,
    "annual_return": 0.0,
    "sharpe_ratio": 0.0,
    "sortino_ratio": 0.0,
    "calmar_ratio": 0.0,
    "expectancy": 0.0,
    "avg_trade_return": 0.0,
    "profit_factor": 1.0,
}


@dataclass(frozen=True)
class OverfittingSettings:
    """The Sweep spec's ``overfitting`` mapping (docs/sweeps.md), defaults filled in."""

    cscv_blocks: int = 16
    max_trials: int = 1000
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    promote_threshold: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> OverfittingSettings:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def threshold(self, metric: str) -> float | None:
        return self.promote_threshold if self.promote_threshold is not None else BREAK_EVEN.get(metric)


def _window(candles: Candles, lo: int, hi: int) -> Candles:
    return Candles(
        ts=candles.ts[lo:hi],
        open=candles.open[lo:hi],
        high=candles.high[lo:hi],
        low=candles.low[lo:hi],
        close=candles.close[lo:hi],
        volume=candles.volume[lo:hi],
    )


def overfitting_report(  # noqa: PLR0917 (the finaliser's working set)
    run: OptimizationRun, plan: Plan, evaluator: Evaluator, lo: int, hi: int, best: Trial | None
) -> dict:
    """The report stored in ``OptimizationRun.overfitting`` (see the module doc): over bars
    ``[lo, hi)`` of the evaluator's candles, for the sweep's ``best`` trial."""
    t0 = time.perf_counter()
    settings = OverfittingSettings.from_mapping(plan.overfitting)
    metric = plan.objective.metric
    candles = _window(evaluator.candles, lo, hi)
    minutes = evaluator.minutes_per_bar
    rows = list(Trial.objects.filter(run=run).order_by("id").values_list("id", "params", "sharpe_ratio"))
    ranked = list(
        Trial.objects.filter(run=run).order_by(*RANKING).values_list("params", flat=True)[: plan.top_n]
    )
    report: dict[str, Any] = {
        "bars": {"lo": lo, "hi": hi, "bars": hi - lo, "part": "in_sample" if hi < len(evaluator) else "full"},
        "trials": len(rows),
        "objective": metric,
    }
    if best is None:
        report["verdict"], report["verdict_text"] = of.verdict(None, None)
        return report

    def backtest(params):
        return run_backtest(
            candles, plan.strategy, plan.full_params(params), plan.execution, timeframe_minutes=minutes
        )

    best_result = backtest(best.params)
    moments = return_moments(bar_returns(best_result.equity))
    # the Sharpe ratios the sweep ranked, per bar: the contract's (annualised) over
    # √bars_per_year, so that DSR and PSR judge the figure the page shows
    ann = math.sqrt(bars_per_year(minutes))
    best_sr = _per_bar(best_result.metrics.get("sharpe_ratio"), ann)
    variance = sharpe_variance([_per_bar(s, ann) for _, _, s in rows])
    dsr, sr0 = deflated_sharpe_ratio(
        best_sr, moments.count, moments.skewness, moments.kurtosis, trials=len(rows), variance=variance
    )
    report["best"] = {
        "trial": best.pk,
        "returns": moments.count,
        "sharpe_per_bar": best_sr,
        "skewness": moments.skewness,
        "kurtosis": moments.kurtosis,
        "probabilistic_sharpe_ratio": probabilistic_sharpe_ratio(
            best_sr, 0.0, moments.count, moments.skewness, moments.kurtosis
        ),
    }
    report["deflated_sharpe"] = {
        "dsr": dsr,
        "sr0_per_bar": sr0,
        "sr0_annualised": sr0 * ann,
        "trials": len(rows),
        "sharpe_variance_per_bar": variance,
    }
    report["pbo"] = _pbo(rows, settings, backtest, moments.count)
    report["bootstrap"] = _bootstrap(best_result, candles.ts, metric, settings, minutes=minutes, plan=plan)
    report["edges"] = of.edge_flags(
        {axis.name: list(axis.values) for axis in plan.space.axes}, best.params, ranked
    )
    pbo_value = report["pbo"].get("pbo")
    report["verdict"], report["verdict_text"] = of.verdict(pbo_value, dsr)
    report["seconds"] = time.perf_counter() - t0
    return _json_safe(report)


def _per_bar(sharpe: float | None, ann: float) -> float | None:
    return None if sharpe is None else sharpe / ann


def _pbo(rows, settings: OverfittingSettings, backtest, returns_count: int) -> dict[str, Any]:
    """Run the trials again (all, or a seeded sample of ``max_trials``) for their bar
    returns, summarised per block, and compute the PBO (``optimizers.overfitting``)."""
    blocks = settings.cscv_blocks
    if len(rows) < 2:
        return {"pbo": None, "reason": "a PBO needs at least 2 trials"}
    if returns_count < 2 * blocks:
        return {
            "pbo": None,
            "reason": f"{returns_count} returns cannot be cut into {blocks} blocks of 2 or more",
        }
    chosen = rows
    if len(rows) > settings.max_trials:
        pick = np.sort(
            np.random.default_rng(settings.seed).choice(len(rows), settings.max_trials, replace=False)
        )
        chosen = [rows[i] for i in pick.tolist()]
    bounds = of.block_bounds(returns_count, blocks)
    mean = np.empty((blocks, len(chosen)), dtype=np.float64)
    m2 = np.empty_like(mean)
    for j, (_, params, _) in enumerate(chosen):
        mean[:, j], m2[:, j] = of.block_stats(bar_returns(backtest(params).equity), bounds)
    out = of.pbo_cscv(np.diff(bounds), mean, m2).as_dict()
    out["sampled"] = len(chosen) < len(rows)
    return out


def _bootstrap(
    result, ts, metric: str, settings: OverfittingSettings, *, minutes: float, plan: Plan
) -> dict[str, Any]:
    """Interval of the best trial's objective; see the module doc for the resampling."""
    samples = settings.bootstrap_samples
    if samples == 0:
        return {"estimate": result.metrics.get(metric), "reason": "bootstrap_samples is 0"}
    index = METRIC_NAMES.index(metric)
    equity = np.asarray(result.equity, dtype=np.float64)
    trades = result.trades
    execution = ExecutionConfig.from_mapping(plan.execution)
    initial = execution.initial_capital
    rf_bar = execution.rf_per_bar(minutes)
    no_trades = np.empty(0, dtype=trade_dt)
    estimate = result.metrics.get(metric)
    if metric in EQUITY_METRICS:
        returns = bar_returns(equity)
        block = of.default_block_length(returns.shape[0])

        def statistic(idx: np.ndarray) -> float:
            resampled = equity[0] * np.concatenate([[1.0], np.cumprod(1.0 + returns[idx])])
            return float(metrics_nb(resampled, ts, no_trades, minutes, initial, 0, rf_bar)[index])

        ci = of.bootstrap_ci(
            returns.shape[0], statistic, estimate=estimate, samples=samples, confidence=settings.confidence,
            block=block, seed=settings.seed, method="moving-block bootstrap of the bar returns",
        )  # fmt: skip
    elif metric in TRADE_METRICS and trades.shape[0] >= 2:

        def statistic(idx: np.ndarray) -> float:
            return float(metrics_nb(equity, ts, trades[idx], minutes, initial, 0, rf_bar)[index])

        ci = of.bootstrap_ci(
            trades.shape[0], statistic, estimate=estimate, samples=samples, confidence=settings.confidence,
            block=1, seed=settings.seed, method="bootstrap of the trades",
        )  # fmt: skip
    else:
        return {
            "estimate": estimate,
            "reason": f"{metric} has no bootstrap here (too few trades, or a count)",
        }
    return ci.as_dict()


def promote_warnings(run: OptimizationRun, trial: Trial) -> list[str]:
    """Why promoting ``trial`` of ``run`` may disappoint: its out-of-sample objective worse
    than the threshold (``overfitting.promote_threshold``, default the break-even), no
    held-out test at all, a likely-overfit verdict, parameters on the edge of the space."""
    from optimizers.services.plan import sweep_plan

    plan = sweep_plan(run.config)
    settings = OverfittingSettings.from_mapping(plan.overfitting)
    metric = plan.objective.metric
    threshold = settings.threshold(metric)
    worse = (lambda v: v < threshold) if plan.objective.direction == MAXIMIZE else (lambda v: v > threshold)
    out: list[str] = []
    validation = run.validation or {}
    if validation.get("type") == "out_of_sample":
        oos = trial.oos_metrics
        if oos is None:
            out.append(f"trial {trial.pk} is not in the top {plan.top_n}: it was never run out of sample")
        elif oos.get(metric) is None:
            out.append(f"trial {trial.pk}'s out-of-sample {metric} is undefined")
        elif threshold is not None and worse(oos[metric]):
            out.append(
                f"trial {trial.pk}'s out-of-sample {metric} is {oos[metric]:.4g}, worse than the threshold "
                f"{threshold:g} (in sample {'null' if trial.objective is None else f'{trial.objective:.4g}'})"
            )
    elif validation.get("type") == "walk_forward":
        stitched = (validation.get("stitched_metrics") or {}).get(metric)
        if stitched is not None and threshold is not None and worse(stitched):
            out.append(
                f"the walk-forward out-of-sample {metric} is {stitched:.4g}, worse than the threshold "
                f"{threshold:g}"
            )
    else:
        out.append("the sweep has no out-of-sample validation: every figure of this trial is in sample")
    report = run.overfitting or {}
    if report.get("verdict") in ("overfit", "doubtful"):
        out.append(report.get("verdict_text", ""))
    for edge in report.get("edges") or []:
        if trial.params.get(edge["param"]) == edge["value"]:
            out.append(
                f"{edge['param']} = {edge['value']} is the {edge['edge']} of its range "
                f"({edge['axis_min']}–{edge['axis_max']}): the optimum may lie outside the space"
            )
    return [w for w in out if w]


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
