"""Creating a sweep: resolve its spec, enumerate the combinations into chunks, ring the
coordinator."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from optimizers.grid import grid_columns
from optimizers.models import OptimizationRun, SweepMethod
from optimizers.random_search import random_columns
from optimizers.services.chunks import chunks_create
from optimizers.services.plan import (
    SweepError,
    adapter_first,
    chunk_size_for,
    max_combinations,
    sweep_config,
    sweep_plan,
)
from optimizers.services.queue import send_coordinator
from optimizers.space import SpaceError, dicts_from_columns
from specs.models import Spec, SpecNotFound


def sweep_spec_for(user, ref: str | int) -> Spec:
    """The Sweep spec ``ref`` (a name: the latest version; or a numeric id) visible to ``user``."""
    try:
        return Spec.objects.for_ref(user, Spec.Kind.SWEEP, ref)
    except SpecNotFound as exc:
        raise SweepError(str(exc), {"spec": [str(exc)]}) from None


def sweep_create(*, spec: Spec, owner) -> OptimizationRun:
    """Create a queued sweep of ``spec`` (an exact Sweep version) and queue its coordinator.

    Grid and random sweeps enumerate every combination now, into chunks of
    ``chunk_size``; a grid larger than SWEEP_MAX_COMBINATIONS is refused. Raises
    ``SweepError`` (message and ``errors`` by field) for anything that cannot run.
    """
    if spec.kind != Spec.Kind.SWEEP:
        raise SweepError(f"{spec} is not a Sweep spec", {"spec": [f"{spec} is not a Sweep spec"]})
    try:
        backtest = spec.backtest_spec()
    except Spec.DoesNotExist:
        message = f"the Backtest {spec.data.get('backtest')!r} this Sweep was validated against is gone"
        raise SweepError(message, {"spec": [message]}) from None
    config = sweep_config(spec, backtest)
    plan = sweep_plan(config)
    rows: list[dict[str, Any]] = []
    limit = max_combinations()
    try:
        if plan.method == SweepMethod.GRID:
            columns, _ = grid_columns(
                plan.space, plan.constraints, max_combinations=limit, first=adapter_first(plan.strategy.name)
            )
            rows = dicts_from_columns(columns, plan.space.names)
        elif plan.method == SweepMethod.RANDOM:
            columns = random_columns(
                plan.space,
                plan.constraints,
                samples=int(plan.random.get("samples", 100)),
                seed=int(plan.random.get("seed", 42)),
                max_combinations=limit,
            )
            rows = dicts_from_columns(columns, plan.space.names)
        elif plan.method == SweepMethod.GENETIC:
            planned = plan.genetic.population * plan.genetic.generations
            if planned > limit:
                raise SpaceError(
                    "genetic",
                    f"population x generations = {planned:,} evaluations; "
                    f"at most {limit:,} (SWEEP_MAX_COMBINATIONS)",
                )
        else:
            raise SpaceError("method", f"unknown method {plan.method!r}")
    except (SpaceError, ValueError) as exc:
        path = getattr(exc, "path", "space")
        raise SweepError(str(exc), {path: [getattr(exc, "message", str(exc))]}) from None
    if plan.method != SweepMethod.GENETIC and not rows:
        message = "the constraints rule out every combination of the space"
        raise SweepError(message, {"constraints": [message]})
    market = plan.market
    with transaction.atomic():
        run = OptimizationRun.objects.create(
            spec=spec,
            backtest_spec=backtest,
            owner=owner,
            method=plan.method,
            config=config,
            strategy=plan.strategy.name,
            symbol=market.get("symbol", ""),
            timeframe=market.get("timeframe", ""),
            objective_metric=plan.objective.metric,
            objective_direction=plan.objective.direction,
            min_trades=plan.objective.min_trades,
            total_combinations=len(rows) if rows else plan.genetic.population * plan.genetic.generations,
        )
        if rows:
            count = chunks_create(run, rows, generation=0, first_seq=0, size=chunk_size_for(plan, len(rows)))
            OptimizationRun.objects.filter(pk=run.pk).update(chunks_total=count)
            run.chunks_total = count
        transaction.on_commit(lambda: send_coordinator(run.pk))
    return run
