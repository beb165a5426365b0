"""optimizers.overfitting: PBO by CSCV against the step-by-step twin, constructed cases
with a known answer, the block bootstrap, the edge flags."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers.overfitting import (
    block_bounds,
    block_stats,
    bootstrap_ci,
    bootstrap_indices,
    edge_flags,
    pbo_from_returns,
    verdict,
)
from tests import naive


@pytest.mark.parametrize(("t", "n", "blocks", "seed"), [(64, 6, 4, 1), (103, 9, 6, 2), (160, 5, 8, 3)])
def test_pbo_equals_the_naive_twin(t, n, blocks, seed):
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0005, 0.01, size=(t, n)) + rng.normal(0, 0.002, size=n)
    result = pbo_from_returns(matrix, blocks)
    pbo, logits = naive.naive_pbo(matrix.tolist(), blocks)
    assert result.pbo == pytest.approx(pbo, abs=1e-12)
    assert result.logits.tolist() == pytest.approx(logits, rel=1e-9, abs=1e-12)


def test_pbo_is_zero_when_one_trial_dominates_everywhere():
    # trial 0 has a higher Sharpe than every other trial in every block
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.01, size=(160, 8))
    matrix = noise.copy()
    matrix[:, 0] = np.abs(noise[:, 0]) + 0.02
    result = pbo_from_returns(matrix, 8)
    assert result.pbo == 0.0
    assert result.combinations == 70  # C(8, 4)
    assert result.oos_loss == 0.0


def test_pbo_is_one_when_the_in_sample_best_is_always_the_worst_out_of_sample():
    # two trials, mirror images: whichever wins the training half loses the test half
    wiggle = np.tile([0.01, -0.008, 0.012, -0.009], 20)
    first = np.concatenate([wiggle[:40] + 0.005, wiggle[40:] - 0.005])
    second = np.concatenate([wiggle[:40] - 0.005, wiggle[40:] + 0.005])
    matrix = np.column_stack([first, second])
    result = pbo_from_returns(matrix, 2)
    assert result.combinations == 2
    assert result.pbo == 1.0
    assert result.oos_loss == 1.0


def test_block_stats_and_bounds():
    bounds = block_bounds(10, 3)
    assert bounds.tolist() == [0, 4, 7, 10]
    mean, m2 = block_stats(np.arange(10.0), bounds)
    assert mean.tolist() == [1.5, 5.0, 8.0]
    assert m2.tolist() == [5.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="cannot be cut"):
        block_bounds(7, 4)


def test_bootstrap_ci_equals_a_loop_over_the_same_draws():
    rng_data = np.random.default_rng(11)
    r = rng_data.normal(0.001, 0.01, size=300)

    def stat(idx):
        x = r[idx]
        return x.mean() / x.std(ddof=1)

    ci = bootstrap_ci(
        300, stat, estimate=stat(np.arange(300)), samples=200, confidence=0.9, block=7, seed=42, method="t"
    )
    # the same draws, blocks assembled by hand
    rng = np.random.default_rng(42)
    starts = rng.integers(0, 300, size=(200, 43))
    values = []
    for row in starts.tolist():
        idx = [(s + k) % 300 for s in row for k in range(7)][:300]
        values.append(stat(np.array(idx)))
    assert ci.low == pytest.approx(naive.naive_quantile(values, 0.05), rel=1e-9)
    assert ci.high == pytest.approx(naive.naive_quantile(values, 0.95), rel=1e-9)
    assert ci.low < ci.estimate < ci.high
    assert ci.defined == 200


def test_bootstrap_indices_wrap_in_blocks():
    idx = bootstrap_indices(5, 3, 2, np.random.default_rng(0))
    assert idx.shape == (3, 5)
    for row in idx.tolist():
        for a, b in zip(row[0::2], row[1::2], strict=False):
            assert b == (a + 1) % 5


def test_edge_flags():
    space = {
        "stop_loss_percent": [0.5, 1.0, 1.5, 2.0],
        "rsi_period": [7, 14, 21],
        "use_trend_filter": [True, False],
        "leverage": [1, 2],
    }
    best = {"stop_loss_percent": 0.5, "rsi_period": 14, "use_trend_filter": True, "leverage": 2}
    top = [best, {**best, "stop_loss_percent": 1.0}, best]
    flags = edge_flags(space, best, top)
    assert flags == [
        {
            "param": "stop_loss_percent",
            "value": 0.5,
            "edge": "min",
            "axis_min": 0.5,
            "axis_max": 2.0,
            "top_at_edge": 2,
            "top": 3,
        }
    ]


def test_verdict_levels():
    assert verdict(0.7, 0.99)[0] == "overfit"
    assert verdict(0.1, 0.3)[0] == "overfit"
    assert verdict(0.3, 0.99)[0] == "doubtful"
    assert verdict(0.05, 0.97)[0] == "credible"
    assert verdict(None, None)[0] == "unknown"
    assert "Likely overfit" in verdict(0.7, None)[1]
