"""Promote a trial: the next version of the sweep's Backtest spec, and a run of it."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import yaml
from django.db import transaction

from backtests.services import run_enqueue
from optimizers.models import RANKING, OptimizationRun, Trial
from optimizers.services.overfitting import promote_warnings
from optimizers.services.plan import SweepError
from specs.json_schemas import file_schema
from specs.models import Spec
from specs.services import SpecValidationError, spec_apply


@dataclass(frozen=True)
class Promotion:
    trial: Trial
    spec: Spec
    action: str  # created | updated | unchanged (spec_apply's)
    run: Any  # backtests.models.BacktestRun
    warnings: list[str]  # why the promoted trial may disappoint (promote_warnings)


def sweep_promote(*, run: OptimizationRun, trial: Trial | None = None) -> Promotion:
    """Make ``trial`` (default: the best) the next version of the sweep's Backtest spec and
    queue a full run of it. Never refused for being weak: the ``warnings`` say why it may
    disappoint (out of sample worse than the threshold, no hold-out, a likely-overfit
    verdict, a parameter on the edge of the space).

    The document is the base Backtest's data (the version the sweep ran on) with the
    trial's params, applied through ``specs.services.spec_apply`` as the sweep's owner,
    so it gets the same validation as a file. Its run is queued with
    ``backtests.services.run_enqueue``; trades and equity come from that run.
    """
    if trial is None:
        trial = run.best_trial or Trial.objects.filter(run=run).order_by(*RANKING).first()
        if trial is None:
            raise SweepError(f"sweep {run.pk} has no trial to promote yet", {"trial": ["no trial yet"]})
    if trial.run_id != run.pk:
        raise SweepError(
            f"trial {trial.pk} belongs to sweep {trial.run_id}, not {run.pk}",
            {"trial": ["not in this sweep"]},
        )
    base = run.backtest_spec
    allowed = file_schema("Backtest")["properties"]
    document = {
        key: copy.deepcopy(value) for key, value in base.data.items() if key in allowed and value is not None
    }
    document["params"] = {**document.get("params", {}), **trial.params}
    text = f"# promoted from sweep {run.pk}, trial {trial.pk}\n" + yaml.safe_dump(document, sort_keys=False)
    try:
        with transaction.atomic():
            result = spec_apply(text=text, owner=run.owner, source=f"sweep-{run.pk}-trial-{trial.pk}.yaml")
            applied = next(d for d in result.documents if d.kind == "Backtest")
            spec = Spec.objects.get(pk=applied.spec_id) if applied.spec_id else base.latest()
            backtest_run = run_enqueue(spec=spec, owner=run.owner)
    except SpecValidationError as exc:
        raise SweepError(f"the promoted Backtest is not valid: {exc}", {"trial": [str(exc)]}) from None
    return Promotion(
        trial=trial, spec=spec, action=applied.action, run=backtest_run, warnings=promote_warnings(run, trial)
    )
