"""Sweep chunks: created by the planner, claimed and evaluated by workers.

``chunk_execute`` claims its chunk (queued → running, one winner, with a heartbeat),
evaluates it with the parallel kernel and, in one transaction holding the sweep row's
lock, stores the trials, marks the chunk done, updates progress and the best so far,
and counts the chunks left; the completion that leaves none rings the coordinator.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from engine.errors import EngineInputError
from jobs.errors import JobError
from jobs.heartbeat import heartbeat, worker_name
from jobs.models import JobStatus
from marketdata.coverage import NotCovered
from marketdata.read import NoCandles, candles_load
from optimizers import validation as val
from optimizers.evaluate import Evaluator, metrics_dicts
from optimizers.metrics import sweep_chunk_evaluated
from optimizers.models import TRIAL_METRIC_COLUMNS, ChunkStatus, OptimizationRun, SweepChunk, Trial
from optimizers.objective import rank_order
from optimizers.services.plan import Plan, sweep_plan
from optimizers.services.queue import send_coordinator
from optimizers.space import SpaceError, params_hash
from strategies.registry import StrategyError, UnknownStrategy

log = logging.getLogger(__name__)


def chunks_create(
    run: OptimizationRun, rows: Sequence[dict[str, Any]], *, generation: int, first_seq: int, size: int
):
    chunks = [
        SweepChunk(
            run=run,
            seq=first_seq + i,
            generation=generation,
            params=list(rows[start : start + size]),
            size=len(rows[start : start + size]),
        )
        for i, start in enumerate(range(0, len(rows), size))
    ]
    SweepChunk.objects.bulk_create(chunks, batch_size=500)
    return len(chunks)


# Per worker process: the evaluators (candles + indicator table) of the last few runs,
# so a worker that takes several chunks of one sweep loads its candles once.
_EVALUATORS: OrderedDict[tuple[int, str], tuple[Evaluator, int, int]] = OrderedDict()
_EVALUATORS_KEPT = 2


def evaluator_for(run: OptimizationRun, plan: Plan) -> tuple[Evaluator, int, int]:
    """``(evaluator, lo, hi)``: the run's candles and the bars the sweep optimises on
    (all of them, or the in-sample part with an out-of-sample validation)."""
    # the queue time makes the key unique even where ids are reused (a test database)
    key = (run.pk, run.queued_at.isoformat())
    cached = _EVALUATORS.get(key)
    if cached is not None:
        _EVALUATORS.move_to_end(key)
        return cached
    market = plan.market
    candles = candles_load(market["symbol"], market["timeframe"], market.get("start"), market.get("end"))
    if len(candles) < 2:
        raise NoCandles(f"only {len(candles)} {market['symbol']} {market['timeframe']} bar(s) in the period")
    evaluator = Evaluator(candles, plan.strategy.name, plan.execution)
    n = len(evaluator)
    lo, hi = 0, n
    if plan.validation and plan.validation.get("type") == "out_of_sample":
        hi = val.oos_split(n, float(plan.validation["fraction"]))
    elif plan.validation and plan.validation.get("type") == "walk_forward":
        # checked here so that a bad setting fails the sweep before it evaluates anything
        val.walk_forward_windows(
            n,
            int(plan.validation["windows"]),
            float(plan.validation.get("train_fraction", 0.7)),
            bool(plan.validation.get("anchored", False)),
        )
    _EVALUATORS[key] = (evaluator, lo, hi)
    while len(_EVALUATORS) > _EVALUATORS_KEPT:
        _EVALUATORS.popitem(last=False)
    return evaluator, lo, hi


# What a sweep can meet that is the user's to fix: it ends `failed` with the message.
# Anything else is ours: `errored`, logged with its traceback, re-raised for the queue.
USER_ERRORS = (
    NoCandles,
    NotCovered,
    JobError,
    SpaceError,
    val.ValidationError,
    EngineInputError,
    StrategyError,
    UnknownStrategy,
)


@dataclass(frozen=True)
class ChunkOutcome:
    chunk_id: int
    status: str
    message: str = ""


def chunk_execute(*, chunk_id: int) -> ChunkOutcome:
    """Claim chunk ``chunk_id``, evaluate its combinations and store them (see module doc).

    A duplicate delivery, a chunk of a finished sweep or one already done does nothing.
    A user-actionable problem (no candles, a bad parameter) fails the sweep with its
    message; an unexpected exception errors it and is re-raised for the queue's log.
    """
    chunk = SweepChunk.objects.select_related("run").filter(pk=chunk_id).first()
    if chunk is None:
        return ChunkOutcome(chunk_id, "missing")
    run = chunk.run
    if run.status != JobStatus.RUNNING:
        return ChunkOutcome(chunk_id, chunk.status, f"skipped: sweep {run.pk} is {run.status}")
    worker = worker_name()
    attempt = SweepChunk.claim(chunk_id, worker=worker)
    if not attempt:
        return ChunkOutcome(chunk_id, "not claimed", "already taken or done")
    with heartbeat(SweepChunk, chunk_id, worker=worker, attempt=attempt):
        try:
            plan = sweep_plan(run.config)
            evaluator, lo, hi = evaluator_for(run, plan)
            started = time.perf_counter()
            rows = evaluator.evaluate(plan.full_columns(chunk.params), lo, hi)
            seconds = time.perf_counter() - started
        except USER_ERRORS as exc:
            OptimizationRun.fail(run.pk, error=f"chunk {chunk.seq}: {exc}")
            return ChunkOutcome(chunk_id, "failed", str(exc))
        except Exception as exc:
            log.exception("chunk %s of sweep %s errored", chunk.seq, run.pk)
            OptimizationRun.error_out(
                run.pk, error=f"chunk {chunk.seq}: internal error: {type(exc).__name__}: {exc}"
            )
            raise
        return _chunk_store(
            run.pk, chunk, plan, rows, seconds, worker=worker, attempt=attempt, candle_count=len(evaluator)
        )


def _trial_objects(
    run_id, chunk, plan: Plan, params_list, rows
) -> tuple[list[Trial], np.ndarray, np.ndarray]:
    objective, score, qualified = plan.objective.evaluate(rows)
    dicts = metrics_dicts(rows)
    trials = []
    for params, metrics, obj, sc, ok in zip(
        params_list, dicts, objective.tolist(), score.tolist(), qualified.tolist(), strict=True
    ):
        trials.append(
            Trial(
                run_id=run_id,
                chunk=chunk,
                generation=chunk.generation,
                params=params,
                params_hash=params_hash(params),
                objective=obj if math.isfinite(obj) else None,
                score=sc if math.isfinite(sc) else None,
                qualified=bool(ok),
                metrics=metrics,
                **{name: metrics[name] for name in TRIAL_METRIC_COLUMNS},
            )
        )
    return trials, score, qualified


def _chunk_store(
    run_id, chunk, plan, rows, seconds, *, worker: str, attempt: int, candle_count: int
) -> ChunkOutcome:
    trials, score, qualified = _trial_objects(run_id, chunk, plan, chunk.params, rows)
    best_i = int(rank_order(score, qualified)[0])
    with transaction.atomic():
        # The run row's lock orders every chunk completion of this sweep: progress and
        # best are read-modify-write, and exactly one completion sees "no chunk left".
        run = (
            OptimizationRun.objects.select_for_update(of=("self",))
            .select_related("best_trial")
            .get(pk=run_id)
        )
        if run.status != JobStatus.RUNNING:
            return ChunkOutcome(chunk.pk, "discarded", f"sweep {run_id} is {run.status}")
        done = SweepChunk.held_by(chunk.pk, worker=worker, attempt=attempt).update(
            status=ChunkStatus.DONE, finished_at=timezone.now(), eval_seconds=seconds
        )
        if done != 1:
            # reclaimed as stale meanwhile (and maybe done by another worker): drop ours
            return ChunkOutcome(chunk.pk, "discarded", "the chunk was reclaimed by another worker")
        Trial.objects.bulk_create(trials, batch_size=1000, ignore_conflicts=True)
        updates: dict[str, Any] = {
            "evaluated": run.evaluated + len(trials),
            "chunks_done": run.chunks_done + 1,
            "eval_seconds": run.eval_seconds + seconds,
            "candle_count": candle_count,
        }
        current = run.best_trial
        candidate = trials[best_i]
        if current is None or plan.objective.key(candidate.score, candidate.qualified) > plan.objective.key(
            current.score, current.qualified
        ):
            best = Trial.objects.filter(run_id=run_id, params_hash=candidate.params_hash).first()
            if best is not None:
                updates.update(
                    best_trial=best,
                    best_params=best.params,
                    best_metrics=best.metrics,
                    best_objective=best.objective,
                )
        OptimizationRun.objects.filter(pk=run_id).update(**updates)
        left = SweepChunk.objects.filter(run_id=run_id).exclude(status=ChunkStatus.DONE).exists()
        if not left:
            transaction.on_commit(lambda: send_coordinator(run_id))
    sweep_chunk_evaluated(len(trials), seconds)
    return ChunkOutcome(chunk.pk, ChunkStatus.DONE, f"{len(trials)} combinations in {seconds:.3f} s")
