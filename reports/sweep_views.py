"""The sweep pages: a list, a report (progress, best, heatmap, generations, the
out-of-sample checks, the top trials), every trial sortable and paginated, and promoting
a trial to a new Backtest version. Thin: selectors, services and charts do the work.

Trials are shown by their number within the sweep (``selectors.trial_numbers``), never
by their primary key, which counts every sweep's trials."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from engine.enums import METRIC_NAMES
from optimizers import selectors, services
from optimizers.models import TRIAL_METRIC_COLUMNS, SweepMethod, Trial
from optimizers.services import sweep_plan
from reports import sweep_charts as charts
from reports.equity_charts import equity_svg
from reports.format import humanize, metric_label
from reports.render import report_css
from reports.sweep_validation import validation_context

REFRESH_SECONDS = 5
EXTRA_CSS = """
.progress { height: 0.7rem; background: var(--line); border-radius: 0.35rem; overflow: hidden;
            max-width: 32rem; }
.progress > span { display: block; height: 100%; background: var(--accent); }
.heatmap-form { display: flex; gap: 1rem; align-items: end; margin: 0.4rem 0; }
.chart-svg { width: 100%; height: auto; }
section.block { margin: 1.4rem 0; }
.params code { white-space: nowrap; }
.inline-form { display: inline; margin: 0; }
.inline-form button { padding: 0.1rem 0.5rem; font-size: 0.8rem; }
th a.sorted { color: var(--ink); }
.verdict { padding: 0.5rem 0.75rem; border-left: 4px solid var(--line); }
.verdict-overfit { border-color: #dc2626; background: #fef2f2; }
.verdict-doubtful { border-color: var(--warn-line); background: var(--warn-bg); }
.verdict-credible { border-color: #16a34a; background: #f0fdf4; }
"""
# The trial columns of the top and all-trials tables (the objective comes first and is
# not repeated among them).
TRIAL_COLUMNS = ("total_return", "sharpe_ratio", "max_drawdown", "win_rate", "total_trades", "profit_factor")
TRIALS_PER_PAGE = 50


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


def _visible_sweep(request, pk: int):
    run = selectors.sweeps_visible_to(request.user).filter(pk=pk).first()
    if run is None:
        raise Http404("no such sweep")
    return run


def _columns(run) -> list[dict[str, str]]:
    """The metric columns of a trial table: the objective, then TRIAL_COLUMNS without it."""
    names = [run.objective_metric, *(n for n in TRIAL_COLUMNS if n != run.objective_metric)]
    return [{"name": n, "label": metric_label(n)} for n in names]


def _trial_rows(run, trials, numbers: dict[int, int], first_rank: int = 1) -> list[dict[str, Any]]:
    metric = run.objective_metric
    rows = []
    for i, trial in enumerate(trials):
        values = {**(trial.metrics or {}), metric: trial.objective}
        rows.append(
            {
                "trial": trial,
                "rank": first_rank + i,
                "number": numbers.get(trial.pk),
                "params": _params_text(trial.params),
                "values": [values.get(c["name"]) for c in _columns(run)],
                "oos_objective": (trial.oos_metrics or {}).get(metric),
            }
        )
    return rows


@login_required
def sweep_report(request, pk: int):
    run = _visible_sweep(request, pk)
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
        "metric_label": metric_label(metric),
        "axes": axes,
        "axis_labels": {a: humanize(a) for a in axes},
        "refresh": None if run.is_final else REFRESH_SECONDS,
        "progress_pct": round(100 * run.progress, 1),
        "best_params": _params_text(run.best_params),
        # four metrics a row, in the contract's order (jsonb does not keep key order)
        "best_rows": _rows_of(
            [(name, run.best_metrics[name]) for name in METRIC_NAMES if name in (run.best_metrics or {})], 4
        ),
        "columns": _columns(run),
    }
    # heatmap of any two swept parameters (?x=..&y=..), the first two by default
    x = request.GET.get("x") or (axes[0] if axes else None)
    y = request.GET.get("y") or (axes[1] if len(axes) > 1 else None)
    if x and y:
        if x not in axes or y not in axes or x == y:
            context["heatmap"] = {"empty": f"Choose two different swept parameters among {', '.join(axes)}."}
        else:
            grid = selectors.heatmap(run, x, y)
            context["heatmap"] = _svg(
                charts.heatmap_svg,
                grid.x_values,
                grid.y_values,
                grid.cells,
                x_name=humanize(x),
                y_name=humanize(y),
                metric=metric,
            )
        context["x"], context["y"] = x, y
    if run.method == SweepMethod.GENETIC:
        context["generations"] = _svg(charts.generations_svg, run.generation_stats, metric=metric)
    top_n = int(run.config.get("sweep", {}).get("top_n") or 10)
    top = selectors.top_trials(run, top_n)
    context["v"] = validation_context(run, top, metric)
    validation = run.validation or {}
    oos_ids = (
        [row.get("trial") for row in validation.get("top", [])]
        if validation.get("type") == "out_of_sample"
        else []
    )
    numbers = selectors.trial_numbers(run, [t.pk for t in top] + [run.best_trial_id] + oos_ids)
    context["top"] = _trial_rows(run, top, numbers)
    context["best_number"] = numbers.get(run.best_trial_id)
    if validation.get("type") == "out_of_sample":
        context["oos"] = _svg(
            charts.in_out_sample_svg,
            [f"{i + 1} (#{numbers.get(row['trial'], '?')})" for i, row in enumerate(validation["top"])],
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


ORDERINGS = ("objective", *TRIAL_METRIC_COLUMNS, "id", "generation")


@login_required
def sweep_trials(request, pk: int):
    """Every trial of a sweep, best first or sorted by a column (``?ordering=-win_rate``),
    TRIALS_PER_PAGE a page."""
    run = _visible_sweep(request, pk)
    ordering = request.GET.get("ordering") or ""
    if ordering.removeprefix("-") not in ORDERINGS:
        ordering = ""
    trials = selectors.trials_ordered(run, ordering.replace("objective", "score") if ordering else None)
    page = Paginator(trials, TRIALS_PER_PAGE).get_page(request.GET.get("page"))
    numbers = selectors.trial_numbers(run, [t.pk for t in page.object_list])
    first = (page.number - 1) * TRIALS_PER_PAGE + 1
    sortable = [
        {**column, "key": "objective" if column["name"] == run.objective_metric else column["name"]}
        for column in _columns(run)
    ]
    context = {
        "run": run,
        "css": _css(),
        "pdf": False,
        "page": page,
        "rows": _trial_rows(run, page.object_list, numbers, first),
        "columns": sortable,
        "ordering": ordering,
        "ordering_label": _ordering_label(run, ordering),
        "ranked": not ordering,
        "metric_label": metric_label(run.objective_metric),
    }
    return render(request, "reports/sweep_trials.html", context)


def _ordering_label(run, ordering: str) -> str:
    """ "-win_rate" → "Win rate, highest first" (the objective by its metric's label)."""
    if not ordering:
        return ""
    name = ordering.lstrip("-")
    label = metric_label(run.objective_metric if name == "objective" else name)
    return f"{label}, {'highest' if ordering.startswith('-') else 'lowest'} first"


@login_required
@require_POST
def sweep_promote(request, pk: int):
    """Promote a trial (``trial`` in the form; the best by default) to the next version of
    the sweep's Backtest spec and queue its run; then show that run."""
    run = _visible_sweep(request, pk)
    trial = None
    if request.POST.get("trial"):
        trial = Trial.objects.filter(run=run, pk=request.POST["trial"]).first()
        if trial is None:
            raise Http404("no such trial in this sweep")
    try:
        with transaction.atomic():
            promotion = services.sweep_promote(run=run, trial=trial)
    except services.SweepError as exc:
        messages.error(request, str(exc))
        return redirect("sweeps:sweep-report", pk=run.pk)
    for warning in promotion.warnings:
        messages.warning(request, f"Promoted from sweep {run.pk} despite: {warning}")
    return redirect("reports:run-report", pk=promotion.run.pk)


def _rows_of(items: list, width: int) -> list[list]:
    return [items[i : i + width] for i in range(0, len(items), width)]
