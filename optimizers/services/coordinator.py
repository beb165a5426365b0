"""The coordinator of a sweep: start it, ring its chunks, breed the next generation,
finalise it. A task (``optimizers.tasks.coordinate_sweep``) that any number of
deliveries, at any time, move forward safely: every step is a guarded UPDATE or runs
under the sweep row's lock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backtests.series import preview_points
from jobs.models import JobStatus
from marketdata.coverage import coverage_enforce, market_coverage
from marketdata.timeframes import timeframe_ms
from optimizers import validation as val
from optimizers.evaluate import Evaluator
from optimizers.genetic import GeneticSearch, generation_stats, run_genetic
from optimizers.models import RANKING, ChunkStatus, OptimizationRun, SweepChunk, SweepMethod, Trial
from optimizers.services.chunks import USER_ERRORS, chunks_create, evaluator_for
from optimizers.services.overfitting import overfitting_report
from optimizers.services.plan import Plan, SweepError, chunk_size_for, sweep_plan
from optimizers.services.queue import send_queued_chunks
from optimizers.space import params_hash

log = logging.getLogger(__name__)

EQUITY_PREVIEW_POINTS = 800


def finalise_stale_seconds() -> int:
    """After this long a finaliser that set ``finalizing_at`` counts as dead: the task
    timeout (django-q2 kills a task that runs longer) and a margin."""
    return int(settings.Q_TIMEOUT) + 60


def sweep_coordinate(*, run_id: int) -> str:
    """Move sweep ``run_id`` forward: start it, ring its chunks, breed the next generation,
    or finalise it. Idempotent: any number of deliveries, at any time, are safe."""
    run = OptimizationRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    if run.is_final:
        return run.status
    try:
        plan = sweep_plan(run.config)
        if run.status == JobStatus.QUEUED:
            if not OptimizationRun.start(run_id):
                return OptimizationRun.objects.get(pk=run_id).status
            evaluator, _, _ = evaluator_for(run, plan)  # fail now if the candles are not there
            coverage = market_coverage(
                evaluator.candles.ts, plan.market, step_ms=timeframe_ms(plan.market["timeframe"])
            )
            OptimizationRun.objects.filter(pk=run_id).update(
                candle_count=len(evaluator), coverage=coverage.as_dict(), warnings=coverage.problems
            )
            coverage_enforce(coverage, plan.market)
        if run.method == SweepMethod.GENETIC:
            finalise = _genetic_step(run_id, plan)
        else:
            open_chunks = SweepChunk.objects.filter(run_id=run_id).exclude(status=ChunkStatus.DONE)
            finalise = not open_chunks.exists()
            if not finalise:
                send_queued_chunks(run_id)
        if finalise:
            return _finalise(run_id, plan)
    except USER_ERRORS as exc:
        OptimizationRun.fail(run_id, error=str(exc))
        return JobStatus.FAILED
    except Exception as exc:
        log.exception("sweep %s errored", run_id)
        OptimizationRun.error_out(run_id, error=f"internal error: {type(exc).__name__}: {exc}")
        raise
    return JobStatus.RUNNING


def _state_key(state: Mapping[str, Any]) -> tuple[int, float] | None:
    key = state.get("best_key")
    if key is None:
        return None
    return (int(key[0]), -math.inf if key[1] is None else float(key[1]))


def _json_key(key: tuple[int, float]) -> list[Any]:
    return [key[0], key[1] if math.isfinite(key[1]) else None]


def _genetic_step(run_id: int, plan: Plan) -> bool:
    """Create generation 0, or, when the current generation is fully evaluated, score it
    and breed the next (repeating while a generation brings nothing new to evaluate).
    Returns True when the search is over and the run should be finalised."""
    search = GeneticSearch(plan.space, plan.constraints, plan.genetic)
    to_send: list[int] = []
    finished = False
    with transaction.atomic():
        run = OptimizationRun.objects.select_for_update().get(pk=run_id)
        if run.status != JobStatus.RUNNING:
            return False
        state = dict(run.state or {})
        stats = list(run.generation_stats or [])
        generation = run.generation
        if generation < 0:
            population = search.initial()
            generation = 0
            created = _generation_chunks(run, population, generation, plan)
        else:
            open_chunks = SweepChunk.objects.filter(run_id=run_id, generation=generation).exclude(
                status=ChunkStatus.DONE
            )
            if open_chunks.exists():
                transaction.on_commit(lambda: send_queued_chunks(run_id, generation))
                return False
            population = state["population"]
            created = 0
            while not created:
                keys, finished = _score_generation(run, plan, population, generation, state, stats)
                if finished:
                    break
                generation += 1
                population = search.next(population, keys, generation)
                created = _generation_chunks(run, population, generation, plan)
        state["population"] = population
        total = SweepChunk.objects.filter(run_id=run_id).count()
        OptimizationRun.objects.filter(pk=run_id).update(
            generation=generation, state=state, generation_stats=stats, chunks_total=total
        )
        if not finished:
            to_send = [generation]
            transaction.on_commit(lambda: send_queued_chunks(run_id, to_send[0]))
    return finished


def _generation_chunks(run: OptimizationRun, population: Sequence[dict], generation: int, plan: Plan) -> int:
    """Chunks for the individuals of ``population`` never evaluated in this run."""
    hashes = {params_hash(p): p for p in population}
    known = set(
        Trial.objects.filter(run=run, params_hash__in=list(hashes)).values_list("params_hash", flat=True)
    )
    new = [p for h, p in hashes.items() if h not in known]
    if not new:
        return 0
    first = SweepChunk.objects.filter(run=run).count()
    return chunks_create(
        run, new, generation=generation, first_seq=first, size=chunk_size_for(plan, len(new))
    )


def _score_generation(  # noqa: PLR0917 (the coordinator's working set)
    run, plan: Plan, population, generation: int, state: dict, stats: list
) -> tuple[list[tuple[int, float]], bool]:
    """Append generation ``generation``'s stats to ``stats`` and update ``state``.

    Returns the population's fitness keys and whether the search stops after it.
    """
    hashes = [params_hash(p) for p in population]
    found = {
        h: (q, s, o)
        for h, q, s, o in Trial.objects.filter(run=run, params_hash__in=set(hashes)).values_list(
            "params_hash", "qualified", "score", "objective"
        )
    }
    missing = [h for h in hashes if h not in found]
    if missing:
        raise SweepError(
            f"generation {generation}: {len(missing)} individuals have no trial; resume the sweep"
        )
    keys = [plan.objective.key(found[h][1], found[h][0]) for h in hashes]
    objectives = [found[h][2] for h in hashes]
    best_key = _state_key(state)
    gen_best = max(keys)
    if best_key is None or gen_best > best_key:
        state["best_key"] = _json_key(gen_best)
        state["best_objective"] = objectives[keys.index(gen_best)]
        state["stale"] = 0
    else:
        state["stale"] = int(state.get("stale", 0)) + 1
    evaluated = SweepChunk.objects.filter(run=run, generation=generation).values_list("size", flat=True)
    stats.append(
        generation_stats(generation, objectives, keys, state.get("best_objective"), sum(evaluated)).as_dict()
    )
    s = plan.genetic
    return keys, generation + 1 >= s.generations or (s.patience is not None and state["stale"] >= s.patience)


def _finalise(run_id: int, plan: Plan) -> str:
    """Store the best trial and the validation report, then ``succeeded`` (one winner)."""
    now = timezone.now()
    stale = now - timedelta(seconds=finalise_stale_seconds())
    claimed = (
        OptimizationRun.objects.filter(pk=run_id, status=JobStatus.RUNNING)
        .filter(Q(finalizing_at__isnull=True) | Q(finalizing_at__lt=stale))
        .update(finalizing_at=now)
    )
    if claimed != 1:
        return "finalising elsewhere"
    run = OptimizationRun.objects.get(pk=run_id)
    best = Trial.objects.filter(run_id=run_id).order_by(*RANKING).first()
    report = None
    evaluator, lo, hi = evaluator_for(run, plan)
    if plan.validation:
        if plan.validation.get("type") == "out_of_sample":
            report = _out_of_sample(run, plan, evaluator, hi)
        elif plan.validation.get("type") == "walk_forward":
            report = _walk_forward(run, plan, evaluator)
    try:
        overfitting = overfitting_report(run, plan, evaluator, lo, hi, best)
    except Exception as exc:  # the statistics must not cost the user the sweep's results
        log.exception("sweep %s: overfitting statistics failed", run_id)
        overfitting = {"error": f"{type(exc).__name__}: {exc}"}
    updates: dict[str, Any] = {"validation": report, "overfitting": overfitting}
    if best is not None:
        updates.update(
            best_trial=best, best_params=best.params, best_metrics=best.metrics, best_objective=best.objective
        )
    if run.method == SweepMethod.GENETIC:
        # the plan was population x generations; what ran is what counts now
        updates["total_combinations"] = run.evaluated
    changed = OptimizationRun.succeed(run_id, **updates)
    return JobStatus.SUCCEEDED if changed else OptimizationRun.objects.get(pk=run_id).status


def _out_of_sample(run, plan: Plan, evaluator: Evaluator, split: int) -> dict[str, Any]:
    top = list(Trial.objects.filter(run=run).order_by(*RANKING)[: plan.top_n])
    oos = val.out_of_sample_top(evaluator, plan.full_columns([t.params for t in top]), split)
    for trial, metrics in zip(top, oos, strict=True):
        trial.oos_metrics = metrics
    Trial.objects.bulk_update(top, ["oos_metrics"])
    ts = evaluator.candles.ts
    return {
        "type": "out_of_sample",
        "fraction": plan.validation["fraction"],  # type: ignore[index]
        "in_sample": val.bars_info(ts, 0, split),
        "out_of_sample": val.bars_info(ts, split, len(evaluator)),
        "top": [
            {"trial": t.pk, "params": t.params, "in_sample": t.metrics, "out_of_sample": t.oos_metrics}
            for t in top
        ],
    }


def _walk_forward(run, plan: Plan, evaluator: Evaluator) -> dict[str, Any]:
    """Walk-forward over the run's candles. Grid and random sweeps re-rank their own
    combinations on each train part; a genetic sweep runs the same search (settings and
    seed) on each train part, so no window's choice has seen its test bars."""
    settings_ = plan.validation or {}
    n = len(evaluator)
    windows = val.walk_forward_windows(
        n,
        int(settings_["windows"]),
        float(settings_.get("train_fraction", 0.7)),
        bool(settings_.get("anchored")),
    )
    candidates: list[dict[str, Any]] = []
    columns: dict[str, np.ndarray] = {}
    if plan.method != SweepMethod.GENETIC:
        candidates = list(Trial.objects.filter(run=run).order_by("id").values_list("params", flat=True))
        columns = plan.full_columns(candidates)

    def optimise(lo: int, hi: int):
        if plan.method != SweepMethod.GENETIC:
            best, row = val.best_on_window(evaluator, plan.objective, columns, lo, hi)
            return candidates[best], plan.full_params(candidates[best]), row, len(candidates)
        result = run_genetic(
            GeneticSearch(plan.space, plan.constraints, plan.genetic), _scorer(plan, evaluator, lo, hi)
        )
        winner = result.best
        return winner["params"], plan.full_params(winner["params"]), winner["row"], len(result.trials)

    results, ts, equity, metrics = val.walk_forward(evaluator, plan.objective, windows, optimise)
    return {
        "type": "walk_forward",
        "windows": [r.as_dict(evaluator.candles.ts) for r in results],
        "train_fraction": settings_.get("train_fraction", 0.7),
        "anchored": bool(settings_.get("anchored")),
        "stitched_metrics": metrics,
        "stitched_equity": preview_points(ts, equity, EQUITY_PREVIEW_POINTS),
    }


def _scorer(plan: Plan, evaluator: Evaluator, lo: int, hi: int):
    def score(params_list):
        rows = evaluator.evaluate(plan.full_columns(params_list), lo, hi)
        objective, sc, qualified = plan.objective.evaluate(rows)
        keys = [plan.objective.key(s, q) for s, q in zip(sc.tolist(), qualified.tolist(), strict=True)]
        objectives = [o if math.isfinite(o) else None for o in objective.tolist()]
        return list(rows), objectives, keys

    return score
