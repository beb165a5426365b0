"""Genetic search over a sweep space: tournament selection, uniform crossover, typed
mutation, elitism, early stop; reproducible from a seed.

An individual is a full assignment of the swept parameters (a dict, as stored in a
trial). The population of generation g+1 is a pure function of the seed, g+1, the
population of g and its fitness: the random generator of a generation is
``default_rng([seed, generation])``. So a coordinator that only persists the population
and the trials can produce the next generation on any worker, after a crash too, and
get the same answer.

Fitness compares ``Objective.key`` tuples, (qualified, score): combinations below the
trade minimum lose to every qualified one; an undefined objective loses inside its
group.

Genes are values of the axis (never outside it), so mutation respects each parameter's
type and bounds: an ordinal axis (numbers) steps to a nearby value (a Gaussian step of
about 15 % of the axis, at least one value), a categorical one (strings, booleans)
jumps to another value. Children that break a constraint are redrawn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from optimizers.constraints import Constraints
from optimizers.random_search import draw_columns
from optimizers.space import Axis, Space, canonical, dicts_from_columns

# Redraws of a child that breaks a constraint or repeats a sibling before settling for
# a fresh random individual (or, in a tiny space, a repeat).
MAX_REDRAWS = 50

Key = tuple[int, float]


@dataclass(frozen=True)
class GeneticSettings:
    population: int = 50
    generations: int = 100
    crossover_rate: float = 0.8
    mutation_rate: float = 0.1
    elite: int = 2
    tournament_size: int = 3
    patience: int | None = None  # stop after this many generations without a better best
    seed: int = 42

    def __post_init__(self) -> None:
        checks = [
            (self.population >= 2, "population must be >= 2"),
            (self.generations >= 1, "generations must be >= 1"),
            (0.0 <= self.crossover_rate <= 1.0, "crossover_rate must be in [0, 1]"),
            (0.0 <= self.mutation_rate <= 1.0, "mutation_rate must be in [0, 1]"),
            (0 <= self.elite < self.population, "elite must be in [0, population)"),
            (self.tournament_size >= 1, "tournament_size must be >= 1"),
            (self.patience is None or self.patience >= 1, "patience must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"genetic.{message}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> GeneticSettings:
        data = {key: value for key, value in (data or {}).items() if value is not None}
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


def _rng(seed: int, generation: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, int(generation)])


class GeneticSearch:
    """The breeding rules; the caller evaluates and keeps the trials."""

    def __init__(self, space: Space, constraints: Constraints | None, settings: GeneticSettings):
        self.space = space
        self.constraints = constraints
        self.settings = settings
        self._index = {axis.name: {value: i for i, value in enumerate(axis.values)} for axis in space.axes}

    # --- individuals -------------------------------------------------------------------
    def _valid(self, params: Mapping[str, Any]) -> bool:
        return not self.constraints or self.constraints.ok(params)

    def _random(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        columns = draw_columns(self.space, count, rng)
        if self.constraints:
            keep = self.constraints.mask(columns)
            columns = {name: column[keep] for name, column in columns.items()}
        return dicts_from_columns(columns, self.space.names)

    def random_individual(self, rng: np.random.Generator) -> dict[str, Any]:
        """One uniform draw that satisfies the constraints (redrawn up to MAX_REDRAWS x 64)."""
        for _ in range(MAX_REDRAWS):
            found = self._random(rng, 64)
            if found:
                return found[0]
        raise ValueError("the constraints rule out (almost) every combination of the space")

    def initial(self) -> list[dict[str, Any]]:
        """Generation 0: ``population`` distinct valid individuals (fewer distinct ones
        only when the space is that small)."""
        rng = _rng(self.settings.seed, 0)
        size = self.settings.population
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_REDRAWS):
            for params in self._random(rng, 4 * size):
                text = canonical(params)
                if text not in seen:
                    seen.add(text)
                    out.append(params)
                    if len(out) == size:
                        return out
        while len(out) < size:  # a space smaller than the population: repeat
            out.append(self.random_individual(rng))
        return out

    def _mutate_gene(self, axis: Axis, value: Any, rng: np.random.Generator) -> Any:
        values = axis.values
        size = len(values)
        if size < 2:
            return value
        i = self._index[axis.name][value]
        if axis.ordinal:
            step = round(rng.normal(0.0, max(1.0, 0.15 * size)))
            if step == 0:
                step = 1 if rng.random() < 0.5 else -1
            j = min(max(i + step, 0), size - 1)
            if j == i:  # pushed against a bound: step inwards instead
                j = i - 1 if i == size - 1 else i + 1
            return values[j]
        j = int(rng.integers(0, size - 1))
        return values[j if j < i else j + 1]

    def _child(self, a: Mapping[str, Any], b: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        s = self.settings
        if rng.random() < s.crossover_rate:
            child = {name: (a[name] if rng.random() < 0.5 else b[name]) for name in self.space.names}
        else:
            child = dict(a)
        for axis in self.space.axes:
            if rng.random() < s.mutation_rate:
                child[axis.name] = self._mutate_gene(axis, child[axis.name], rng)
        return child

    def _tournament(self, keys: Sequence[Key], rng: np.random.Generator) -> int:
        entrants = rng.integers(0, len(keys), size=self.settings.tournament_size)
        best = int(entrants[0])
        for i in entrants[1:]:
            if keys[int(i)] > keys[best]:
                best = int(i)
        return best

    def next(
        self, population: Sequence[Mapping[str, Any]], keys: Sequence[Key], generation: int
    ) -> list[dict]:
        """Generation ``generation`` bred from the previous ``population`` and its ``keys``.

        The ``elite`` best distinct individuals pass unchanged; the rest are children of
        two tournament winners. A child that breaks a constraint, or repeats one already
        in the new generation, is bred again (MAX_REDRAWS times, then a random one).
        """
        rng = _rng(self.settings.seed, generation)
        size = self.settings.population
        order = sorted(range(len(population)), key=lambda i: keys[i], reverse=True)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i in order:
            if len(out) >= self.settings.elite:
                break
            text = canonical(population[i])
            if text not in seen:
                seen.add(text)
                out.append(dict(population[i]))
        while len(out) < size:
            child = None
            for _ in range(MAX_REDRAWS):
                a = population[self._tournament(keys, rng)]
                b = population[self._tournament(keys, rng)]
                candidate = self._child(a, b, rng)
                if self._valid(candidate) and canonical(candidate) not in seen:
                    child = candidate
                    break
            if child is None:
                child = self.random_individual(rng)
            seen.add(canonical(child))
            out.append(child)
        return out


@dataclass
class GenerationStats:
    generation: int
    best: float | None  # best objective in this generation (raw metric value)
    mean: float | None  # mean of the defined objectives in this generation
    best_so_far: float | None
    evaluated: int  # new combinations evaluated for this generation

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def generation_stats(
    generation: int,
    objectives: Sequence[float | None],
    keys: Sequence[Key],
    best_so_far: float | None,
    evaluated: int,
) -> GenerationStats:
    """Stats of one scored population; ``objectives`` are raw metric values (None = null)."""
    best_i = max(range(len(keys)), key=lambda i: keys[i])
    defined = [v for v in objectives if v is not None and np.isfinite(v)]
    return GenerationStats(
        generation=generation,
        best=objectives[best_i],
        mean=float(np.mean(defined)) if defined else None,
        best_so_far=best_so_far,
        evaluated=evaluated,
    )


@dataclass
class GeneticResult:
    trials: dict[
        str, dict[str, Any]
    ]  # canonical params -> {"params", "row", "generation", "key", "objective"}
    history: list[GenerationStats] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def best(self) -> dict[str, Any]:
        return max(self.trials.values(), key=lambda t: t["key"])


def run_genetic(
    search: GeneticSearch,
    score: Callable[[list[dict[str, Any]]], tuple[list[Any], list[float | None], list[Key]]],
) -> GeneticResult:
    """Run ``search`` in this process. ``score(params_list)`` evaluates new individuals and
    returns ``(rows, objectives, keys)`` for them (rows: anything to keep, e.g. metrics).

    Each distinct individual is scored once; a repeat reuses its trial. Stops after
    ``generations`` generations, or ``patience`` generations without a better best.
    The distributed coordinator (``optimizers.services``) follows the same steps with
    trials in the database.
    """
    s = search.settings
    result = GeneticResult(trials={})
    population = search.initial()
    best_key: Key | None = None
    best_objective: float | None = None
    stale = 0
    for generation in range(s.generations):
        texts = [canonical(p) for p in population]
        new = list(dict.fromkeys(t for t in texts if t not in result.trials))
        fresh = {t: population[texts.index(t)] for t in new}
        if fresh:
            rows, objectives, keys = score(list(fresh.values()))
            for (text, params), row, objective, key in zip(
                fresh.items(), rows, objectives, keys, strict=True
            ):
                result.trials[text] = {
                    "params": params,
                    "row": row,
                    "generation": generation,
                    "key": key,
                    "objective": objective,
                }
        keys = [result.trials[t]["key"] for t in texts]
        objectives = [result.trials[t]["objective"] for t in texts]
        gen_best = max(keys)
        if best_key is None or gen_best > best_key:
            best_key = gen_best
            best_objective = objectives[keys.index(gen_best)]
            stale = 0
        else:
            stale += 1
        result.history.append(generation_stats(generation, objectives, keys, best_objective, len(fresh)))
        if s.patience is not None and stale >= s.patience:
            result.stopped_early = generation < s.generations - 1
            break
        if generation + 1 < s.generations:
            population = search.next(population, keys, generation + 1)
    return result
