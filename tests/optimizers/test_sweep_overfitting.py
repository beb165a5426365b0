"""Overfitting statistics of a finished sweep: PBO, DSR, PSR and the bootstrap interval
are those of the trials re-run independently; the API, the page and promote show them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from django.test import Client

from engine.runner import run_backtest
from engine.stats import bar_returns
from jobs.models import JobStatus
from marketdata.read import candles_load
from optimizers import services
from optimizers.models import RANKING, OptimizationRun, Trial
from strategies.registry import get_strategy
from tests import naive
from tests.factories import PASSWORD
from tests.optimizers.conftest import SYMBOL, apply, backtest_yaml, finished_sweep, run_sweep, sweep_yaml

pytestmark = pytest.mark.django_db

OOS_BODY = """\
method: grid
space:
  rsi_period: {values: [8, 10, 12, 14]}
  stop_loss_percent: {min: 0.5, max: 3.0, step: 0.5}
objective: {metric: sharpe_ratio, direction: maximize}
top_n: 5
validation: {out_of_sample: {fraction: 0.25}}
overfitting: {cscv_blocks: 4, bootstrap_samples: 200, seed: 3}
"""


@pytest.fixture
def done(candles, alice, django_capture_on_commit_callbacks) -> OptimizationRun:
    spec = apply(alice, backtest_yaml(), sweep_yaml(name="oos", body=OOS_BODY))[1]
    return finished_sweep(spec, alice, django_capture_on_commit_callbacks)


def _in_sample_returns(run: OptimizationRun, params: dict) -> np.ndarray:
    c = candles_load(SYMBOL, "1h", "2024-01-01", "2025-01-01")
    split = run.validation["in_sample"]["hi"]
    window = {k: getattr(c, k)[:split] for k in ("ts", "open", "high", "low", "close", "volume")}
    base = run.config["backtest"]
    full = {**base["params"], **params}
    result = run_backtest(window, get_strategy("hyperrsi"), full, base["execution"], timeframe_minutes=60)
    return bar_returns(result.equity)


def test_the_report_equals_an_independent_computation(done):
    report = done.overfitting
    assert "error" not in report, report
    trials = list(Trial.objects.filter(run=done).order_by("id"))
    assert report["trials"] == len(trials) == 24
    assert report["bars"]["part"] == "in_sample"
    # PBO: the T x N matrix of every trial's in-sample returns, through the step-by-step twin
    matrix = np.column_stack([_in_sample_returns(done, t.params) for t in trials])
    pbo, _ = naive.naive_pbo(matrix.tolist(), 4)
    assert report["pbo"]["pbo"] == pytest.approx(pbo, abs=1e-12)
    assert report["pbo"]["combinations"] == 6
    # DSR and PSR of the best, from its returns and the trials' Sharpe ratios
    best = Trial.objects.filter(run=done).order_by(*RANKING).first()
    r = _in_sample_returns(done, best.params)
    t, _, _, skew, kurt = naive.naive_moments(r.tolist())
    ann = math.sqrt(8760)
    per_bar = [x.sharpe_ratio / ann for x in trials if x.sharpe_ratio is not None]
    variance = float(np.var(per_bar, ddof=1))
    sr = best.sharpe_ratio / ann  # the ratio the sweep ranked, per bar
    dsr, sr0 = naive.naive_dsr(sr, t, skew, kurt, len(trials), variance)
    assert report["deflated_sharpe"]["sr0_per_bar"] == pytest.approx(sr0, rel=1e-9)
    assert report["deflated_sharpe"]["dsr"] == pytest.approx(dsr, rel=1e-9, abs=1e-12)
    assert report["best"]["probabilistic_sharpe_ratio"] == pytest.approx(
        naive.naive_psr(sr, 0.0, t, skew, kurt), rel=1e-9, abs=1e-12
    )
    # the bootstrap interval brackets nothing in particular, but it is there and ordered
    boot = report["bootstrap"]
    assert boot["samples"] == 200 and boot["low"] <= boot["high"]
    assert boot["estimate"] == pytest.approx(best.sharpe_ratio)
    assert report["verdict"] in ("overfit", "doubtful", "credible")


def test_edges_are_flagged(done):
    best = Trial.objects.filter(run=done).order_by(*RANKING).first()
    flags = {f["param"]: f for f in done.overfitting["edges"]}
    for name, low, high in (("rsi_period", 8, 14), ("stop_loss_percent", 0.5, 3.0)):
        assert (name in flags) == (best.params[name] in (low, high))


def test_api_page_and_promote_show_the_statistics(done, alice, api):
    api.force_authenticate(alice)
    detail = api.get(f"/api/v1/sweeps/{done.pk}/").json()
    assert detail["overfitting"]["pbo"]["pbo"] == done.overfitting["pbo"]["pbo"]
    assert detail["overfitting"]["deflated_sharpe"]["dsr"] == done.overfitting["deflated_sharpe"]["dsr"]
    assert detail["overfitting"]["verdict"] == done.overfitting["verdict"]
    # the base Backtest asks for 2024 and the candles stop after 1500 hours: said, not hidden
    assert detail["warnings"] == [
        "the data ends at 2024-03-03T11:00:00Z (last bar), 7,284 bars before the period's end "
        "2025-01-01T00:00:00Z"
    ]
    assert detail["coverage"]["expected_bars"] == 8784

    web = Client()
    web.login(username="alice", password=PASSWORD)
    page = web.get(f"/sweeps/{done.pk}/").content.decode()
    assert page.index('id="validation"') < page.index('id="progress"')  # the page leads with it
    assert "probability of backtest overfitting (PBO)" in page and "deflated Sharpe ratio (DSR)" in page
    assert f'data-verdict="{done.overfitting["verdict"]}"' in page
    assert "Best trial: in sample vs out of sample (held out)" in page
    assert "bars (full period: " in page and "held out" in page
    assert "The candles do not cover the period" in page and "7,284 bars before" in page

    response = api.post(f"/api/v1/sweeps/{done.pk}/promote/", {}, format="json")
    assert response.status_code == 202
    warnings = response.json()["warnings"]
    best = Trial.objects.get(pk=response.json()["trial"])
    oos = best.oos_metrics["sharpe_ratio"]
    assert any("out-of-sample sharpe_ratio" in w for w in warnings) == (oos is None or oos < 0)


def test_promote_warns_when_out_of_sample_is_worse_than_the_threshold(done, alice):
    best = Trial.objects.filter(run=done).order_by(*RANKING).first()
    best.oos_metrics = {**best.oos_metrics, "sharpe_ratio": -2.14}
    best.save(update_fields=["oos_metrics"])
    promotion = services.sweep_promote(run=done, trial=best)
    assert promotion.warnings[0] == (
        f"trial {best.pk}'s out-of-sample sharpe_ratio is -2.14, worse than the threshold 0 "
        f"(in sample {best.objective:.4g})"
    )
    assert promotion.run.status == JobStatus.QUEUED  # warned, not refused


def test_a_sweep_without_validation_warns_on_promote(grid_spec, alice, django_capture_on_commit_callbacks):
    run = run_sweep(grid_spec, alice, django_capture_on_commit_callbacks)
    assert run.overfitting["pbo"]["blocks"] == 16 or "reason" in run.overfitting["pbo"]
    promotion = services.sweep_promote(run=run)
    assert promotion.warnings[0] == (
        "the sweep has no out-of-sample validation: every figure of this trial is in sample"
    )


def test_promoting_from_the_page_lists_the_warnings_on_the_run_page(done, alice):
    best = Trial.objects.filter(run=done).order_by(*RANKING).first()
    best.oos_metrics = {**best.oos_metrics, "sharpe_ratio": -2.14}
    best.save(update_fields=["oos_metrics"])
    web = Client()
    web.login(username="alice", password=PASSWORD)
    page = web.post(f"/sweeps/{done.pk}/promote/", {"trial": best.pk}, follow=True).content.decode()
    assert (
        f"Promoted from sweep {done.pk} despite: trial {best.pk}&#x27;s out-of-sample sharpe_ratio is -2.14"
        in page
    )
