"""The sweep pages: a list, and a report with progress, best, heatmap, generations and
the out-of-sample checks. Thin: selectors and charts do the work."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from engine.enums import METRIC_NAMES
from optimizers import selectors
from optimizers.models import SweepMethod
from optimizers.services import sweep_plan
from reports import sweep_charts as charts
from reports.charts import equity_svg
from reports.render import report_css

REFRESH_SECONDS = 5
EXTRA_CSS = """
.progress { height: 0.7rem; background: var(--line); border-radius: 0.35rem; overflow: hidden;
            max-width: 32rem; }
.progress > span { display: block; height: 100%; background: var(--accent); }
.heatmap-form { display: flex; gap: 1rem; align-items: end; margin: 0.4rem 0; }
.chart-svg { width: 100%; height: auto; }
section.block { margin: 1.4rem 0; }
.params code { white-space: nowrap; }
"""


def _css() -> str:
    return report_css() + EXTRA_CSS


@login_required
def sweep_list(request):
    runs = selectors.sweeps_visible_to(request.user).order_by("-queued_at", "-id")
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    return render(request, "reports/sweep_list.html", {"page": page, "css": _css(), "pdf": False})


def _svg(build, *args, **kwargs) -> dict[str, str]:
    try:
        return {"svg": build(*args, **kwargs)}
    except charts.NothingToDraw as exc:
        return {"empty": str(exc)}


def _params_text(params: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items())


@login_required
def sweep_report(request, pk: int):
    run = selectors.sweeps_visible_to(request.user).filter(pk=pk).first()
    if run is None:
        raise Http404("no such sweep")
    metric = run.objective_metric
    axes: list[str] = []
    try:
        axes = [axis.name for axis in sweep_plan(run.config).space.axes if axis.size > 1]
    except Exception:  # a config that no longer parses still gets a page
        axes = list(run.config.get("sweep", {}).get("space", {}))
    context: dict[str, Any] = {
        "run": run,
        "css": _css(),
        "pdf": False,
        "metric": metric,
        "axes": axes,
        "refresh": None if run.is_final else REFRESH_SECONDS,
        "progress_pct": round(100 * run.progress, 1),
        "best_params": _params_text(run.best_params),
        # four metrics a row, in the contract's order (jsonb does not keep key order)
        "best_rows": _rows_of(
            [(name, run.best_metrics[name]) for name in METRIC_NAMES if name in (run.best_metrics or {})], 4
        ),
    }
    # heatmap of any two swept parameters (?x=..&y=..), the first two by default
    x = request.GET.get("x") or (axes[0] if axes else None)
    y = request.GET.get("y") or (axes[1] if len(axes) > 1 else None)
    if x and y:
        if x not in axes or y not in axes or x == y:
            context["heatmap"] = {"empty": f"choose two different swept parameters among {', '.join(axes)}"}
        else:
            grid = selectors.heatmap(run, x, y)
            context["heatmap"] = _svg(
                charts.heatmap_svg,
                grid.x_values,
                grid.y_values,
                grid.cells,
                x_name=x,
                y_name=y,
                metric=metric,
            )
        context["x"], context["y"] = x, y
    if run.method == SweepMethod.GENETIC:
        context["generations"] = _svg(charts.generations_svg, run.generation_stats, metric=metric)
    top_n = int(run.config.get("sweep", {}).get("top_n") or 10)
    top = selectors.top_trials(run, top_n)
    context["top"] = [
        {
            "trial": t,
            "rank": i + 1,
            "params": _params_text(t.params),
            "oos_objective": (t.oos_metrics or {}).get(metric),
        }
        for i, t in enumerate(top)
    ]
    validation = run.validation or {}
    if validation.get("type") == "out_of_sample":
        context["oos"] = _svg(
            charts.in_out_sample_svg,
            [f"{i + 1} (#{row['trial']})" for i, row in enumerate(validation["top"])],
            [row["in_sample"].get(metric) for row in validation["top"]],
            [(row["out_of_sample"] or {}).get(metric) for row in validation["top"]],
            metric=metric,
        )
    elif validation.get("type") == "walk_forward":
        points = np.array(validation.get("stitched_equity") or [], dtype=np.float64).reshape(-1, 2)
        context["stitched"] = _svg(equity_svg, points[:, 0].astype(np.int64), points[:, 1], initial=None)
        context["windows"] = [
            {
                **w,
                "params": _params_text(w["best_params"]),
                "train_objective": w["train_metrics"].get(metric),
                "test_objective": w["test_metrics"].get(metric),
            }
            for w in validation.get("windows", [])
        ]
    context["validation"] = validation
    return render(request, "reports/sweep_report.html", context)


def _rows_of(items: list, width: int) -> list[list]:
    return [items[i : i + width] for i in range(0, len(items), width)]
