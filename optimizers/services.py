"""Write paths for sweeps: create, coordinate, execute chunks, resume, reap, cancel, promote.

How a sweep runs (docs/sweeps.md has the long form):

1. ``sweep_create`` resolves the Sweep spec and its pinned Backtest into a config,
   enumerates the combinations (grid, random) into SweepChunk rows of ``chunk_size``
   and queues the coordinator task.
2. ``sweep_coordinate`` (a task, idempotent) starts the run, checks the candles, and
   queues one ``execute_chunk`` task per chunk not done. For a genetic run it creates
   the chunks of one generation at a time.
3. ``chunk_execute`` claims its chunk (queued → running, one winner), evaluates it with
   the parallel kernel, and in one transaction, holding the run row's lock, stores the
   trials, marks the chunk done, updates progress and the best so far, and counts the
   chunks left. The one that leaves none queues the coordinator again, which finalises
   (grid, random) or breeds the next generation from the seed and the stored trials.
4. Finalising (one coordinator wins a guarded update) runs the validation, stores the
   best and sets ``succeeded``.

Crashes: a chunk whose worker died stays ``running``; ``sweep_chunks_reap`` (scheduled)
puts it back to ``queued`` after SWEEP_CHUNK_STALE_SECONDS and queues the coordinator,
which re-sends only chunks not done. ``sweep_resume`` does the same on demand.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import yaml
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django_q.tasks import async_task

from backtests.series import preview_points
from backtests.services import run_enqueue
from marketdata.read import NoCandles, candles_load
from optimizers import validation as val
from optimizers.adapters import get_adapter
from optimizers.constraints import Constraints
from optimizers.evaluate import Evaluator, full_columns, metrics_dicts
from optimizers.genetic import GeneticSearch, GeneticSettings, generation_stats, run_genetic
from optimizers.grid import grid_columns
from optimizers.models import (
    RANKING,
    TRIAL_METRIC_COLUMNS,
    ChunkStatus,
    OptimizationRun,
    SweepChunk,
    SweepMethod,
    SweepStatus,
    Trial,
)
from optimizers.objective import Objective, rank_order
from optimizers.random_search import random_columns
from optimizers.space import Space, SpaceError, columns_from_dicts, dicts_from_columns, params_hash
from specs.models import Spec
from specs.services import SpecValidationError, spec_apply
from specs.validation import file_schema
from strategies.registry import StrategyDef, get_strategy

log = logging.getLogger(__name__)

# Chunks whose worker crashed this many times fail the sweep instead of being retried.
MAX_CHUNK_ATTEMPTS = 3
EQUITY_PREVIEW_POINTS = 800


class SweepError(Exception):
    """A sweep cannot be created or changed; the message is meant for the user."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.errors = errors or {}

    def as_dict(self) -> dict[str, Any]:
        return {"detail": str(self), **({"errors": self.errors} if self.errors else {})}


def worker_name() -> str:
    """``host:pid`` of this process: each django-q worker process has its own."""
    return f"{socket.gethostname()}:{os.getpid()}"


def max_combinations() -> int:
    return int(settings.SWEEP_MAX_COMBINATIONS)


def chunk_stale_seconds() -> int:
    return int(settings.SWEEP_CHUNK_STALE_SECONDS)


# --- the plan: what a run's config means -----------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A sweep's config, parsed: the strategy, space, constraints, objective and settings."""

    strategy: StrategyDef
    space: Space
    constraints: Constraints
    objective: Objective
    params: dict[str, Any]  # the base Backtest's params (normalised: defaults filled in)
    market: dict[str, Any]
    execution: dict[str, Any]
    method: str
    chunk_size: int
    top_n: int
    validation: dict[str, Any] | None
    genetic: GeneticSettings
    random: dict[str, Any] = field(default_factory=dict)

    @property
    def fixed(self) -> dict[str, Any]:
        """Every non-swept parameter's value: the base params over the strategy defaults."""
        return {**self.strategy.defaults(), **self.params}

    def full_params(self, swept: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.fixed, **swept}

    def full_columns(self, swept_rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        return full_columns(
            self.strategy.defaults(), self.params, columns_from_dicts(list(swept_rows), self.space.names)
        )


def sweep_config(sweep: Spec, backtest: Spec) -> dict[str, Any]:
    """The config a run keeps: the Sweep's data and what the base Backtest runs."""
    data = backtest.data
    return {
        "sweep": copy.deepcopy(sweep.data),
        "backtest": {
            key: copy.deepcopy(data.get(key)) for key in ("strategy", "params", "market", "execution")
        },
    }


def sweep_plan(config: Mapping[str, Any]) -> Plan:
    """Parse a run config; ``SweepError`` naming the field for anything that does not fit."""
    sweep = config["sweep"]
    base = config["backtest"]
    try:
        strategy = get_strategy(base["strategy"])
        space = Space.from_mapping(sweep.get("space") or {}, strategy.params_schema)
        props = strategy.params_schema.get("properties", {})
        fixed = {**strategy.defaults(), **(base.get("params") or {})}
        constraints = Constraints(
            sweep.get("constraints") or [],
            fixed={k: v for k, v in fixed.items() if k not in space.names},
            names=props,
            builtin=strategy.constraints,
        )
        objective = Objective.from_mapping(sweep.get("objective"))
        genetic = GeneticSettings.from_mapping(sweep.get("genetic"))
    except (SpaceError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        path = getattr(exc, "path", "sweep")
        raise SweepError(str(message), {path: [str(message)]}) from None
    return Plan(
        strategy=strategy,
        space=space,
        constraints=constraints,
        objective=objective,
        params=dict(base.get("params") or {}),
        market=dict(base.get("market") or {}),
        execution=dict(base.get("execution") or {}),
        method=sweep.get("method") or SweepMethod.GRID,
        chunk_size=int(sweep.get("chunk_size") or 200),
        top_n=int(sweep.get("top_n") or 10),
        validation=sweep.get("validation") or None,
        genetic=genetic,
        random=dict(sweep.get("random") or {}),
    )


def _adapter_first(strategy: str) -> tuple[str, ...]:
    return get_adapter(strategy).indicator_params


# --- create ----------------------------------------------------------------------------


def sweep_spec_for(user, ref: str | int) -> Spec:
    """The Sweep spec ``ref`` (a name: the latest version; or a numeric id) visible to ``user``."""
    specs = Spec.objects.filter(kind=Spec.Kind.SWEEP)
    if not user.is_staff:
        specs = specs.filter(owner=user)
    text = str(ref).strip()
    if text.isdigit():
        spec = specs.filter(pk=int(text)).first()
        if spec is None:
            raise SweepError(f"no Sweep spec with id {text}", {"spec": [f"no Sweep spec with id {text}"]})
        return spec
    spec = specs.filter(name=text, owner=user).order_by("-version").first()
    if spec is None:
        raise SweepError(f"no Sweep spec named {text!r}", {"spec": [f"no Sweep spec named {text!r}"]})
    return spec


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
                plan.space, plan.constraints, max_combinations=limit, first=_adapter_first(plan.strategy.name)
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
            count = _chunks_create(run, rows, generation=0, first_seq=0, size=plan.chunk_size)
            OptimizationRun.objects.filter(pk=run.pk).update(chunks_total=count)
            run.chunks_total = count
        transaction.on_commit(lambda: send_coordinator(run.pk))
    return run


def _chunks_create(
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


# --- queueing --------------------------------------------------------------------------


def send_coordinator(run_id: int) -> None:
    async_task(
        "optimizers.tasks.coordinate_sweep", run_id, task_name=f"sweep-{run_id}-coordinate", group="sweeps"
    )


def send_chunk(chunk_id: int, run_id: int, seq: int) -> None:
    async_task(
        "optimizers.tasks.execute_chunk",
        chunk_id,
        task_name=f"sweep-{run_id}-chunk-{seq}",
        group="sweep-chunks",
    )


def _send_queued_chunks(run_id: int, generation: int | None = None) -> int:
    chunks = SweepChunk.objects.filter(run_id=run_id, status=ChunkStatus.QUEUED)
    if generation is not None:
        chunks = chunks.filter(generation=generation)
    todo = list(chunks.order_by("seq").values_list("pk", "seq"))
    for pk, seq in todo:
        send_chunk(pk, run_id, seq)
    return len(todo)


# --- evaluation in a worker ------------------------------------------------------------

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


USER_ERRORS = (NoCandles, SweepError, SpaceError, val.ValidationError, ValueError, KeyError)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


@dataclass(frozen=True)
class ChunkOutcome:
    chunk_id: int
    status: str
    message: str = ""


def chunk_execute(*, chunk_id: int) -> ChunkOutcome:
    """Claim chunk ``chunk_id``, evaluate its combinations and store them (see module doc).

    A duplicate delivery, a chunk of a finished sweep or one already done does nothing.
    A user-actionable problem (no candles, a bad parameter) fails the sweep with its
    message; an unexpected exception fails it too and is re-raised for the queue's log.
    """
    chunk = SweepChunk.objects.select_related("run").filter(pk=chunk_id).first()
    if chunk is None:
        return ChunkOutcome(chunk_id, "missing")
    run = chunk.run
    if run.status != SweepStatus.RUNNING:
        return ChunkOutcome(chunk_id, chunk.status, f"skipped: sweep {run.pk} is {run.status}")
    me = worker_name()
    if not SweepChunk.claim(chunk_id, worker=me):
        return ChunkOutcome(chunk_id, "not claimed", "already taken or done")
    try:
        plan = sweep_plan(run.config)
        evaluator, lo, hi = evaluator_for(run, plan)
        started = time.perf_counter()
        rows = evaluator.evaluate(plan.full_columns(chunk.params), lo, hi)
        seconds = time.perf_counter() - started
    except USER_ERRORS as exc:
        OptimizationRun.fail(run.pk, error=f"chunk {chunk.seq}: {_message(exc)}")
        return ChunkOutcome(chunk_id, "failed", _message(exc))
    except Exception as exc:
        OptimizationRun.fail(run.pk, error=f"chunk {chunk.seq}: internal error: {type(exc).__name__}: {exc}")
        raise
    return _chunk_store(run.pk, chunk, plan, rows, seconds, worker=me, candle_count=len(evaluator))


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


def _chunk_store(run_id, chunk, plan, rows, seconds, *, worker, candle_count) -> ChunkOutcome:
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
        if run.status != SweepStatus.RUNNING:
            return ChunkOutcome(chunk.pk, "discarded", f"sweep {run_id} is {run.status}")
        done = SweepChunk.objects.filter(pk=chunk.pk, status=ChunkStatus.RUNNING, worker=worker[:128]).update(
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
    return ChunkOutcome(chunk.pk, ChunkStatus.DONE, f"{len(trials)} combinations in {seconds:.3f} s")


# --- the coordinator -------------------------------------------------------------------

_local = threading.local()


def sweep_coordinate(*, run_id: int) -> str:
    """Move sweep ``run_id`` forward: start it, send its chunks, breed the next generation,
    or finalise it. Idempotent: any number of deliveries, at any time, are safe.

    With django-q's sync mode (tests, Q_SYNC=1) a chunk runs inside ``async_task`` and
    its completion calls the coordinator again from inside this one; that nested call
    only asks the outer one for another round, so generations iterate instead of
    recursing.
    """
    active: set[int] = getattr(_local, "active", set())
    again: set[int] = getattr(_local, "again", set())
    _local.active, _local.again = active, again
    if run_id in active:
        again.add(run_id)
        return "again"
    active.add(run_id)
    try:
        while True:
            again.discard(run_id)
            outcome = _coordinate_once(run_id)
            if run_id not in again:
                return outcome
    finally:
        active.discard(run_id)


def _coordinate_once(run_id: int) -> str:
    run = OptimizationRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    if run.is_final:
        return run.status
    try:
        plan = sweep_plan(run.config)
        if run.status == SweepStatus.QUEUED:
            if not OptimizationRun.start(run_id):
                return OptimizationRun.objects.get(pk=run_id).status
            evaluator, _, _ = evaluator_for(run, plan)  # fail now if the candles are not there
            OptimizationRun.objects.filter(pk=run_id).update(candle_count=len(evaluator))
        if run.method == SweepMethod.GENETIC:
            finalise = _genetic_step(run_id, plan)
        else:
            open_chunks = SweepChunk.objects.filter(run_id=run_id).exclude(status=ChunkStatus.DONE)
            finalise = not open_chunks.exists()
            if not finalise:
                _send_queued_chunks(run_id)
        if finalise:
            return _finalise(run_id, plan)
    except USER_ERRORS as exc:
        OptimizationRun.fail(run_id, error=_message(exc))
        return SweepStatus.FAILED
    except Exception as exc:
        OptimizationRun.fail(run_id, error=f"internal error: {type(exc).__name__}: {exc}")
        raise
    return SweepStatus.RUNNING


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
        if run.status != SweepStatus.RUNNING:
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
                transaction.on_commit(lambda: _send_queued_chunks(run_id, generation))
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
            transaction.on_commit(lambda: _send_queued_chunks(run_id, to_send[0]))
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
    return _chunks_create(run, new, generation=generation, first_seq=first, size=plan.chunk_size)


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
    stale = now - timedelta(seconds=chunk_stale_seconds())
    claimed = (
        OptimizationRun.objects.filter(pk=run_id, status=SweepStatus.RUNNING)
        .filter(Q(finalizing_at__isnull=True) | Q(finalizing_at__lt=stale))
        .update(finalizing_at=now)
    )
    if claimed != 1:
        return "finalising elsewhere"
    run = OptimizationRun.objects.get(pk=run_id)
    best = Trial.objects.filter(run_id=run_id).order_by(*RANKING).first()
    report = None
    if plan.validation:
        evaluator, _, hi = evaluator_for(run, plan)
        if plan.validation.get("type") == "out_of_sample":
            report = _out_of_sample(run, plan, evaluator, hi)
        elif plan.validation.get("type") == "walk_forward":
            report = _walk_forward(run, plan, evaluator)
    updates: dict[str, Any] = {
        "status": SweepStatus.SUCCEEDED,
        "finished_at": timezone.now(),
        "validation": report,
    }
    if best is not None:
        updates.update(
            best_trial=best, best_params=best.params, best_metrics=best.metrics, best_objective=best.objective
        )
    if run.method == SweepMethod.GENETIC:
        # the plan was population x generations; what ran is what counts now
        updates["total_combinations"] = run.evaluated
    changed = OptimizationRun.objects.filter(pk=run_id, status=SweepStatus.RUNNING).update(**updates)
    return SweepStatus.SUCCEEDED if changed else OptimizationRun.objects.get(pk=run_id).status


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


# --- resume, reap, cancel --------------------------------------------------------------


def sweep_resume(*, run: OptimizationRun, now=None) -> int:
    """Continue a sweep that stopped (crash, lost tasks): chunks claimed longer ago than
    SWEEP_CHUNK_STALE_SECONDS go back to ``queued``, and the coordinator is queued; it
    re-sends only the chunks not done (done chunks keep their trials). Returns the
    number of chunks released. A finished sweep cannot be resumed (``SweepError``).
    """
    if run.is_final:
        raise SweepError(f"sweep {run.pk} is {run.status}; a finished sweep is not resumed")
    released = _release_stale_chunks(run.pk, now=now)
    transaction.on_commit(lambda: send_coordinator(run.pk))
    return len(released)


def _release_stale_chunks(run_id: int | None, *, now=None) -> list[tuple[int, int]]:
    """Put chunks claimed before the stale cutoff back to ``queued``; ``(chunk, run)`` ids.

    A chunk that has already crashed its worker MAX_CHUNK_ATTEMPTS times fails its
    sweep instead: retrying a chunk that kills every worker would never end.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=chunk_stale_seconds())
    stale = SweepChunk.objects.filter(status=ChunkStatus.RUNNING, claimed_at__lt=cutoff)
    if run_id is not None:
        stale = stale.filter(run_id=run_id)
    released: list[tuple[int, int]] = []
    for pk, rid, seq, attempts, worker in stale.values_list("pk", "run_id", "seq", "attempts", "worker"):
        if attempts >= MAX_CHUNK_ATTEMPTS:
            OptimizationRun.fail(
                rid,
                error=(
                    f"chunk {seq} was claimed {attempts} times and its worker "
                    f"({worker or 'unknown'}) stopped reporting each time (killed, out of memory?); "
                    "the sweep stops here"
                ),
            )
            continue
        if SweepChunk.release_stale(pk, claimed_before=cutoff):
            released.append((pk, rid))
    return released


def sweep_chunks_reap(*, now=None) -> int:
    """The periodic clean-up (a django-q schedule): release stale chunks, and queue the
    coordinator of every active sweep that had one released or has stopped moving (no
    chunk running and nothing happened since the stale cutoff: a lost coordinator task,
    a finaliser that died). Returns the number of sweeps nudged."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=chunk_stale_seconds())
    released = _release_stale_chunks(None, now=now)
    if released:
        log.warning("released %d stale sweep chunk(s): %s", len(released), released)
    nudged = {rid for _, rid in released}
    active = OptimizationRun.objects.filter(status__in=(SweepStatus.QUEUED, SweepStatus.RUNNING)).annotate(
        busy=Exists(SweepChunk.objects.filter(run=OuterRef("pk"), status=ChunkStatus.RUNNING)),
        last_claim=Max("chunks__claimed_at"),
        last_done=Max("chunks__finished_at"),
    )
    for run in active.filter(busy=False).exclude(pk__in=nudged):
        moments = [run.queued_at, run.started_at, run.finalizing_at, run.last_claim, run.last_done]
        if max(m for m in moments if m is not None) < cutoff:
            nudged.add(run.pk)
    for pk in sorted(nudged):
        send_coordinator(pk)
    return len(nudged)


def sweep_cancel(*, run: OptimizationRun) -> bool:
    """Cancel a queued or running sweep; chunks in flight drop their results. False when
    it had already finished."""
    return OptimizationRun.cancel(run.pk)


# --- promote ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    trial: Trial
    spec: Spec
    action: str  # created | updated | unchanged (spec_apply's)
    run: Any  # backtests.models.BacktestRun


def sweep_promote(*, run: OptimizationRun, trial: Trial | None = None) -> Promotion:
    """Make ``trial`` (default: the best) the next version of the sweep's Backtest spec and
    queue a full run of it.

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
    return Promotion(trial=trial, spec=spec, action=applied.action, run=backtest_run)
