"""The validation block that leads the sweep page (``partials/sweep_validation.html``):
the overfitting verdict (PBO, deflated Sharpe ratio, bootstrap interval), in sample vs
out of sample for the best and the top N, parameters on the edge of the space, the
coverage warnings, and why promoting the best may disappoint."""

from __future__ import annotations

from typing import Any

from optimizers.models import OptimizationRun, Trial
from optimizers.services.overfitting import OverfittingSettings, promote_warnings

# The rows of the best trial's in-sample vs out-of-sample table (the objective first).
SIDE_BY_SIDE = (
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "total_trades",
    "win_rate",
)


def _part(info: dict | None, label: str) -> dict | None:
    if not info:
        return None
    return {"label": label, "start": info.get("start"), "end": info.get("end"), "bars": info.get("bars")}


def validation_context(run: OptimizationRun, top: list[Trial], metric: str) -> dict[str, Any] | None:
    """Everything the block shows; None before the sweep has a best trial."""
    if run.best_trial_id is None and not run.warnings:
        return None
    report = run.overfitting or {}
    validation = run.validation or {}
    settings = OverfittingSettings.from_mapping((run.config.get("sweep") or {}).get("overfitting"))
    threshold = settings.threshold(metric)
    names = (metric, *(n for n in SIDE_BY_SIDE if n != metric))
    best_in = run.best_metrics or {}
    best_trial = next((t for t in top if t.pk == run.best_trial_id), None)
    kind = validation.get("type")
    if kind == "out_of_sample":
        best_out = (best_trial.oos_metrics if best_trial else None) or {}
        parts = [
            _part(validation.get("in_sample"), "in sample"),
            _part(validation.get("out_of_sample"), "held out"),
        ]
        out_label = "out of sample (held out)"
    elif kind == "walk_forward":
        best_out = validation.get("stitched_metrics") or {}
        parts = []
        out_label = "walk-forward, stitched out of sample (each window's own best)"
    else:
        best_out = {}
        parts = []
        out_label = None
    oos_values = [(t.oos_metrics or {}).get(metric) for t in top if t.oos_metrics is not None]
    below = None
    if kind == "out_of_sample" and threshold is not None:
        maximize = run.objective_direction == "maximize"
        below = sum(1 for v in oos_values if v is None or (v < threshold if maximize else v > threshold))
    warnings: list[str] = []
    if run.best_trial_id is not None and run.is_final:
        best = best_trial or Trial.objects.get(pk=run.best_trial_id)
        warnings = promote_warnings(run, best)
    return {
        "report": report,
        "pbo": report.get("pbo") or {},
        "dsr": report.get("deflated_sharpe") or {},
        "best_stats": report.get("best") or {},
        "bootstrap": report.get("bootstrap") or {},
        "edges": report.get("edges") or [],
        "optimised_on": {
            **(report.get("bars") or {}),
            "label": "in sample"
            if (report.get("bars") or {}).get("part") == "in_sample"
            else "the full period",
        },
        "kind": kind,
        "parts": [p for p in parts if p],
        "rows": [
            {"name": n, "in": best_in.get(n), "out": best_out.get(n) if out_label else None} for n in names
        ],
        "out_label": out_label,
        "top_tested": len(oos_values),
        "top_below": below,
        "threshold": threshold,
        "promote_warnings": warnings,
        "coverage_warnings": run.warnings or [],
    }
