"""The genetic search: reproducible from a seed, improves on its first generation,
keeps every gene inside its axis and the constraints, stops early without progress."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers.constraints import Constraints
from optimizers.genetic import GeneticSearch, GeneticSettings, run_genetic
from optimizers.random_search import random_columns
from optimizers.space import Space, canonical, dicts_from_columns
from strategies.registry import get_strategy

HYPERRSI = get_strategy("hyperrsi")
NAMES = list(HYPERRSI.params_schema["properties"])
SPACE = Space.from_mapping(
    {
        "rsi_period": {"min": 2, "max": 50, "step": 1},
        "rsi_oversold": {"min": 0, "max": 50, "step": 1},
        "stop_loss_percent": {"min": 0.5, "max": 10, "step": 0.5},
        "entry_option": {"values": ["reverse", "follow"]},
        "use_trend_filter": {"values": [True, False]},
    },
    HYPERRSI.params_schema,
)


def bowl(params: dict) -> float:
    """A known objective with one peak at rsi_period 37, oversold 12, stop 6.5, follow, no filter."""
    value = -((params["rsi_period"] - 37) ** 2) - (params["rsi_oversold"] - 12) ** 2
    value -= 4 * (params["stop_loss_percent"] - 6.5) ** 2
    value -= 50 * (params["entry_option"] != "follow") + 50 * params["use_trend_filter"]
    return float(value)


def score(params_list):
    values = [bowl(p) for p in params_list]
    return values, values, [(1, v) for v in values]


def search(seed=42, **overrides) -> GeneticSearch:
    settings = GeneticSettings(**{"population": 30, "generations": 40, "seed": seed, **overrides})
    return GeneticSearch(SPACE, None, settings)


def test_it_gives_the_same_result_for_the_same_seed():
    a = run_genetic(search(seed=7), score)
    b = run_genetic(search(seed=7), score)
    assert [s.as_dict() for s in a.history] == [s.as_dict() for s in b.history]
    assert list(a.trials) == list(b.trials)
    c = run_genetic(search(seed=8), score)
    assert list(a.trials) != list(c.trials)


def test_it_improves_on_its_first_generation():
    result = run_genetic(search(), score)
    first = result.history[0].best
    last = result.history[-1].best_so_far
    assert last > first
    # on this smooth bowl it finds the peak or a close neighbour of it
    assert last >= -5
    assert result.best["params"]["entry_option"] == "follow"
    assert result.best["params"]["use_trend_filter"] is False
    # the best so far never gets worse, and the mean improves too
    best_so_far = [s.best_so_far for s in result.history]
    assert best_so_far == sorted(best_so_far)
    assert result.history[-1].mean > result.history[0].mean


def test_it_evaluates_each_individual_once():
    seen = []

    def counting(params_list):
        seen.extend(canonical(p) for p in params_list)
        return score(params_list)

    result = run_genetic(search(), counting)
    assert len(seen) == len(set(seen)) == len(result.trials)
    assert sum(s.evaluated for s in result.history) == len(seen)
    # elites and converged children repeat: fewer evaluations than population x generations
    assert len(seen) < 30 * 40


def test_every_gene_stays_inside_its_axis_and_the_constraints():
    constraints = Constraints(["rsi_oversold * 2 < rsi_period"], fixed=HYPERRSI.defaults(), names=NAMES)
    ga = GeneticSearch(
        SPACE, constraints, GeneticSettings(population=20, generations=15, mutation_rate=0.5, seed=3)
    )
    result = run_genetic(ga, score)
    for trial in result.trials.values():
        params = trial["params"]
        for axis in SPACE.axes:
            assert params[axis.name] in axis.values
            assert type(params[axis.name]) is type(axis.values[0])
        assert params["rsi_oversold"] * 2 < params["rsi_period"]


def test_elites_survive_unchanged():
    ga = search(elite=3)
    population = ga.initial()
    values = [bowl(p) for p in population]
    keys = [(1, v) for v in values]
    children = ga.next(population, keys, 1)
    best3 = [population[i] for i in np.argsort(values)[::-1][:3]]
    assert children[:3] == best3
    assert len(children) == 30
    assert len({canonical(c) for c in children}) == 30


def test_it_stops_after_patience_generations_without_improvement():
    flat = run_genetic(
        search(patience=4), lambda ps: ([0.0] * len(ps), [0.0] * len(ps), [(1, 0.0)] * len(ps))
    )
    assert flat.stopped_early
    assert len(flat.history) == 5  # generation 0 sets the best, then 4 without improvement


def test_unqualified_individuals_rank_below_qualified_ones():
    ga = search(elite=1)
    population = ga.initial()[:3]
    # the first has the best score but too few trades: the elite is the second
    keys = [(0, 100.0), (1, -5.0), (1, -9.0)]
    assert ga.next(population, keys, 1)[0] == population[1]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"population": 1}, "population"),
        ({"elite": 50}, "elite"),
        ({"crossover_rate": 1.5}, "crossover_rate"),
        ({"patience": 0}, "patience"),
    ],
)
def test_it_refuses_bad_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        GeneticSettings(**settings)


def test_random_search_draws_distinct_valid_combinations_reproducibly():
    constraints = Constraints(["rsi_oversold < rsi_period"], fixed=HYPERRSI.defaults(), names=NAMES)
    a = random_columns(SPACE, constraints, samples=200, seed=5, max_combinations=100_000)
    b = random_columns(SPACE, constraints, samples=200, seed=5, max_combinations=100_000)
    rows = dicts_from_columns(a)
    assert rows == dicts_from_columns(b)
    assert len(rows) == 200 == len({canonical(r) for r in rows})
    assert all(r["rsi_oversold"] < r["rsi_period"] for r in rows)
    assert rows != dicts_from_columns(
        random_columns(SPACE, constraints, samples=200, seed=6, max_combinations=10**5)
    )


def test_random_search_returns_a_small_space_whole():
    small = Space.from_mapping({"rsi_period": {"values": [10, 12, 14]}}, HYPERRSI.params_schema)
    rows = dicts_from_columns(random_columns(small, None, samples=50, seed=1, max_combinations=1000))
    assert rows == [{"rsi_period": 10}, {"rsi_period": 12}, {"rsi_period": 14}]
