"""Sweeps through the services and the (synchronous) task queue: grid, genetic, random,
progress, best, validation, cancel."""

from __future__ import annotations

import pytest
from django.test import override_settings

from engine.runner import run_backtest
from jobs import doorbell
from jobs.models import JobStatus
from optimizers import services
from optimizers.evaluate import Evaluator
from optimizers.genetic import GeneticSearch, run_genetic
from optimizers.models import ChunkStatus, SweepChunk, Trial
from optimizers.services.coordinator import _scorer
from optimizers.space import params_hash
from optimizers.validation import oos_split, walk_forward_windows
from strategies.registry import get_strategy
from tests.optimizers.conftest import (
    BARS,
    GRID_BODY,
    GRID_COMBINATIONS,
    apply,
    backtest_yaml,
    run_sweep,
    sweep_yaml,
)

pytestmark = pytest.mark.django_db


def test_it_runs_a_grid_sweep_end_to_end(grid_spec, alice, candles, django_capture_on_commit_callbacks):
    run = run_sweep(grid_spec, alice, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert (run.total_combinations, run.evaluated) == (GRID_COMBINATIONS, GRID_COMBINATIONS)
    assert (run.chunks_total, run.chunks_done) == (7, 7)
    assert run.candle_count == len(candles["ts"])
    assert set(run.chunks.values_list("status", flat=True)) == {ChunkStatus.DONE}
    trials = list(run.trials.all())
    assert len(trials) == GRID_COMBINATIONS == len({t.params_hash for t in trials})
    assert all(t.params["rsi_period"] != 8 for t in trials)
    # the best is the qualified trial with the highest total return
    qualified = [t for t in trials if t.total_trades >= 3]
    best = max(qualified, key=lambda t: t.total_return)
    assert run.best_trial_id == best.pk
    assert run.best_params == best.params
    assert run.best_objective == best.total_return
    # and it is what a single run of those params gives
    params = {**grid_spec.backtest_spec().data["params"], **best.params}
    single = run_backtest(
        candles, get_strategy("hyperrsi"), params, grid_spec.backtest_spec().data["execution"]
    )
    assert single.metrics["total_return"] == pytest.approx(best.total_return, rel=1e-9)
    assert single.metrics["total_trades"] == best.total_trades == best.metrics["total_trades"]


def test_unqualified_trials_rank_last(candles, alice, django_capture_on_commit_callbacks):
    body = GRID_BODY.replace("min_trades: 3", "min_trades: 100000")
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    # nobody qualifies: the ranking falls back to the objective among the unqualified
    assert not Trial.objects.filter(run=run, qualified=True).exists()
    assert run.best_objective == max(run.trials.values_list("total_return", flat=True))


def test_a_genetic_sweep_matches_the_in_process_search(candles, alice, django_capture_on_commit_callbacks):
    body = """\
method: genetic
space:
  rsi_period: {min: 4, max: 30, step: 1}
  rsi_oversold: {values: [0, 15, 20, 25, 30, 35, 40]}
  rsi_overbought: {values: [70, 100]}
  stop_loss_percent: {min: 0.5, max: 4.0, step: 0.5}
objective: {metric: sharpe_ratio}
genetic: {population: 12, generations: 6, seed: 5, elite: 2}
chunk_size: 5
"""
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert [s["generation"] for s in run.generation_stats] == list(range(6))
    # the same search in one process, over the same candles, gives the same trials and stats
    plan = services.sweep_plan(run.config)
    evaluator = Evaluator(candles, "hyperrsi", plan.execution)
    local = run_genetic(
        GeneticSearch(plan.space, plan.constraints, plan.genetic),
        _scorer(plan, evaluator, 0, len(evaluator)),
    )
    assert set(run.trials.values_list("params_hash", flat=True)) == {
        params_hash(t["params"]) for t in local.trials.values()
    }
    for ours, theirs in zip(run.generation_stats, local.history, strict=True):
        assert ours["best"] == pytest.approx(theirs.best, rel=1e-12)
        assert ours["mean"] == pytest.approx(theirs.mean, rel=1e-12)
        assert ours["evaluated"] == theirs.evaluated
    assert run.evaluated == len(local.trials) == run.total_combinations
    assert run.best_params == local.best["params"]
    # oversold 0 with overbought 100 never signals: no trade, flat equity, a Sharpe ratio of 0
    assert run.trials.filter(objective=0.0, params__rsi_oversold=0.0, params__rsi_overbought=100.0).exists()


def test_a_random_sweep_draws_its_samples(candles, alice, django_capture_on_commit_callbacks):
    body = """\
method: random
space:
  rsi_period: {min: 4, max: 40, step: 1}
  rsi_oversold: {min: 10, max: 45, step: 1}
random: {samples: 30, seed: 3}
chunk_size: 8
"""
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.evaluated == run.trials.count() == 30
    assert run.chunks_total == 4


def test_the_size_cap_refuses_a_too_large_grid(grid_spec, alice):
    with override_settings(SWEEP_MAX_COMBINATIONS=50), pytest.raises(services.SweepError) as info:
        services.sweep_create(spec=grid_spec, owner=alice)
    assert "72 combinations" in str(info.value)
    assert "at most 50" in str(info.value)
    assert info.value.errors["space"]
    assert not grid_spec.sweeps.exists()


def test_missing_candles_fail_the_sweep_with_a_reason(alice, db, django_capture_on_commit_callbacks):
    spec = apply(alice, backtest_yaml(symbol="NOWHERE"), sweep_yaml(body=GRID_BODY))[1]
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.FAILED
    assert "no NOWHERE 1h candles" in run.error


def test_out_of_sample_reports_the_top_n_in_and_out(candles, alice, django_capture_on_commit_callbacks):
    body = GRID_BODY + "validation:\n  out_of_sample: {fraction: 0.25}\n"
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED, run.error
    report = run.validation
    split = oos_split(len(candles["ts"]), 0.25)
    assert split == 1125
    assert report["in_sample"]["lo"] == 0 and report["in_sample"]["hi"] == split
    assert report["out_of_sample"] == {
        "lo": split,
        "hi": 1500,
        "bars": 375,
        "start": "2024-02-16T21:00:00Z",
        "end": "2024-03-03T11:00:00Z",
    }
    assert len(report["top"]) == 5
    plan = services.sweep_plan(run.config)
    evaluator = Evaluator(candles, "hyperrsi", plan.execution)
    for row in report["top"]:
        trial = Trial.objects.get(pk=row["trial"])
        columns = plan.full_columns([trial.params])
        inside = evaluator.evaluate(columns, 0, split)[0]
        outside = evaluator.evaluate(columns, split, 1500)[0]
        assert trial.total_return == pytest.approx(inside[0], rel=1e-12)
        assert trial.oos_metrics["total_return"] == pytest.approx(outside[0], rel=1e-12)
        assert row["out_of_sample"] == trial.oos_metrics
    # the top is ranked on the in-sample metrics only
    returns = [Trial.objects.get(pk=r["trial"]).total_return for r in report["top"]]
    assert returns == sorted(returns, reverse=True)


def test_walk_forward_reports_each_window_and_the_stitched_curve(
    candles, alice, django_capture_on_commit_callbacks
):
    body = GRID_BODY + "validation:\n  walk_forward: {windows: 3, train_fraction: 0.5}\n"
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED, run.error
    report = run.validation
    windows = walk_forward_windows(1500, 3, 0.5)
    assert (
        [(w["train"]["lo"], w["train"]["hi"], w["test"]["lo"], w["test"]["hi"]) for w in report["windows"]]
        == [
            (0, 375, 375, 750),
            (375, 750, 750, 1125),
            (750, 1125, 1125, 1500),
        ]
        == [(*w.train, *w.test) for w in windows]
    )
    assert all(w["candidates"] == GRID_COMBINATIONS for w in report["windows"])
    points = report["stitched_equity"]
    assert points[0][0] == int(candles["ts"][375]) and points[-1][0] == int(candles["ts"][-1])
    assert report["stitched_metrics"]["total_trades"] == sum(
        w["test_metrics"]["total_trades"] for w in report["windows"]
    )


def test_a_cancelled_sweep_stops_and_keeps_its_status(grid_spec, alice, candles, monkeypatch):
    sent = []
    monkeypatch.setattr(
        doorbell,
        "send",
        lambda task, arg, **kw: (sent.append(arg) if task == SweepChunk.TASK else None) or "held",
    )
    run = services.sweep_create(spec=grid_spec, owner=alice)
    services.sweep_coordinate(run_id=run.pk)
    assert len(sent) == 7
    services.chunk_execute(chunk_id=sent[0])
    assert services.sweep_cancel(run=run)
    outcome = services.chunk_execute(chunk_id=sent[1])
    assert "skipped" in outcome.message
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED and run.evaluated == 10
    assert not services.sweep_cancel(run=run)
    assert services.sweep_coordinate(run_id=run.pk) == JobStatus.CANCELLED
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # the spec layer once counted 6 values here (float steps with a 1e-9 fudge) while
        # the optimiser ran 5: both now take the optimiser's exact decimal enumeration
        ("{min: 0.5, max: 0.9999999999, step: 0.1}", [0.5, 0.6, 0.7, 0.8, 0.9]),
        ("{min: 0.5, max: 0.9, step: 0.1}", [0.5, 0.6, 0.7, 0.8, 0.9]),
    ],
)
def test_a_sweep_stores_exactly_the_values_the_optimiser_runs(
    candles, alice, entry, expected, django_capture_on_commit_callbacks
):
    body = f"method: grid\nspace:\n  stop_loss_percent: {entry}\n"
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    assert spec.data["space"]["stop_loss_percent"]["values"] == expected
    assert spec.data["grid_size"] == spec.data["feasible_size"] == len(expected)
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    assert run.total_combinations == len(expected)
    assert sorted(t.params["stop_loss_percent"] for t in run.trials.all()) == expected


def test_a_grid_without_chunk_size_gets_the_automatic_one(candles, alice, django_capture_on_commit_callbacks):
    import math

    from django.conf import settings

    from optimizers.chunking import chunk_size_auto

    body = GRID_BODY.replace("chunk_size: 10\n", "")
    spec = apply(alice, backtest_yaml(), sweep_yaml(body=body))[1]
    assert "chunk_size" not in spec.data
    run = run_sweep(spec, alice, django_capture_on_commit_callbacks)
    assert run.status == JobStatus.SUCCEEDED, run.error
    # the rule over the 1,500 stored hourly bars and the workers
    size = chunk_size_auto(GRID_COMBINATIONS, BARS, int(settings.Q_CLUSTER["workers"]))
    assert run.chunks_total == math.ceil(GRID_COMBINATIONS / size) > 1
    assert run.evaluated == GRID_COMBINATIONS
