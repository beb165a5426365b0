"""Read paths for sweeps: visibility, trial ordering, top-N and the heatmap grid."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count, F, FloatField, Max, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from engine.enums import METRIC_NAMES
from optimizers.models import RANKING, TRIAL_METRIC_COLUMNS, OptimizationRun, Trial

# Trial orderings the API and the page accept: the indexed columns, then any contract
# metric (read from the metrics JSON), then bookkeeping.
TRIAL_ORDER_COLUMNS = ("objective", "score", *TRIAL_METRIC_COLUMNS)
TRIAL_ORDER_FIELDS = (
    *TRIAL_ORDER_COLUMNS,
    *(m for m in METRIC_NAMES if m not in TRIAL_METRIC_COLUMNS),
    "id",
    "generation",
)


def sweeps_visible_to(user) -> QuerySet[OptimizationRun]:
    """Sweeps a user may see: their own, or all of them for staff."""
    return OptimizationRun.objects.visible_to(user).select_related(
        "spec", "backtest_spec", "owner", "best_trial"
    )


def trials_ordered(run: OptimizationRun, ordering: str | None) -> QuerySet[Trial]:
    """The run's trials, best first by default, or by ``ordering`` (a field of
    TRIAL_ORDER_FIELDS, ``-`` for descending; undefined values last either way).
    ``ValueError`` names the accepted fields for anything else."""
    trials = Trial.objects.filter(run=run)
    if not ordering:
        return trials.order_by(*RANKING)
    name = ordering.removeprefix("-")
    if name not in TRIAL_ORDER_FIELDS:
        raise ValueError(f"cannot order trials by {name!r}; use one of {', '.join(TRIAL_ORDER_FIELDS)}")
    if name in TRIAL_ORDER_COLUMNS or name in ("id", "generation"):
        expression = F(name)
    else:
        expression = Cast(KT(f"metrics__{name}"), FloatField())
    descending = ordering.startswith("-")
    key = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return trials.order_by(key, "id")


def trial_numbers(run: OptimizationRun, trial_ids) -> dict[int, int]:
    """Each trial's number within its sweep (1 for the first evaluated, by id), in one
    query: what people read, where a trial's primary key counts every sweep's trials."""
    ids = sorted({int(i) for i in trial_ids if i is not None})
    if not ids:
        return {}
    counts = Trial.objects.filter(run=run).aggregate(
        **{f"n{i}": Count("id", filter=Q(id__lte=i)) for i in ids}
    )
    return {i: counts[f"n{i}"] for i in ids}


def top_trials(run: OptimizationRun, n: int) -> list[Trial]:
    return list(Trial.objects.filter(run=run).order_by(*RANKING)[:n])


@dataclass(frozen=True)
class Heatmap:
    x_name: str
    y_name: str
    x_values: list[Any]
    y_values: list[Any]
    cells: np.ndarray  # float64[len(y), len(x)]: best objective (raw metric), NaN = none


def _sort_key(value: Any):
    return (
        (0, float(value), "")
        if isinstance(value, int | float) and not isinstance(value, bool)
        else (1, 0.0, str(value))
    )


def heatmap(run: OptimizationRun, x: str, y: str) -> Heatmap:
    """Best objective at each (x, y) over every other swept parameter, grouped in the
    database (``params->>x``, ``params->>y``, max of the signed score)."""
    rows = (
        Trial.objects.filter(run=run, score__isnull=False)
        .values(xv=KT(f"params__{x}"), yv=KT(f"params__{y}"))
        .annotate(best=Max("score"))
    )
    sign = 1.0 if run.objective_direction == "maximize" else -1.0
    seen_x: dict[str, Any] = {}
    seen_y: dict[str, Any] = {}
    cells: dict[tuple[str, str], float] = {}
    for row in rows:
        seen_x.setdefault(row["xv"], _parse(row["xv"]))
        seen_y.setdefault(row["yv"], _parse(row["yv"]))
        cells[(row["xv"], row["yv"])] = sign * row["best"]
    xs = sorted(seen_x, key=lambda k: _sort_key(seen_x[k]))
    ys = sorted(seen_y, key=lambda k: _sort_key(seen_y[k]))
    grid = np.full((len(ys), len(xs)), np.nan)
    for j, yk in enumerate(ys):
        for i, xk in enumerate(xs):
            value = cells.get((xk, yk))
            if value is not None and math.isfinite(value):
                grid[j, i] = value
    return Heatmap(x, y, [seen_x[k] for k in xs], [seen_y[k] for k in ys], grid)


def _parse(text: str | None) -> Any:
    """``params->>name`` is text: back to the number or boolean it was."""
    if text in ("true", "false"):
        return text == "true"
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return text
    return int(number) if number.is_integer() and "." not in str(text) else number
