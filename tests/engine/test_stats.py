"""engine.stats: moments, PSR and DSR against the published worked example and against
the slow twins in tests/naive.py (math.erf and a bisection inverse, not NormalDist)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.stats import (
    bar_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    return_moments,
    run_statistics,
    sharpe_variance,
)
from tests import naive


def test_dsr_matches_the_papers_worked_example():
    # Bailey & López de Prado (2014), section "A numerical example": N = 100 trials,
    # V[SR_n] = 1/2 and SR = 2.5 annualised over T = 1250 daily returns (250 a year),
    # skewness -3, kurtosis 10: SR0 = 0.1132 per day and DSR = 0.9004.
    sr = 2.5 / math.sqrt(250)
    dsr, sr0 = deflated_sharpe_ratio(sr, 1250, -3.0, 10.0, trials=100, variance=0.5 / 250)
    assert round(sr0, 4) == 0.1132
    assert round(dsr, 4) == 0.9004
    # the annualised SR0 of the paper, sqrt(V) times the expected max of 100 normals
    assert round(expected_max_sharpe(100, 0.5), 2) == 1.79


def test_dsr_and_psr_equal_the_naive_twins():
    cases = [
        (2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, 0.5 / 250),
        (0.05, 5000, 0.3, 4.5, 7, 1e-4),
        (-0.02, 300, -0.1, 3.2, 2000, 3e-4),
    ]
    for sr, t, skew, kurt, n, v in cases:
        dsr, sr0 = deflated_sharpe_ratio(sr, t, skew, kurt, trials=n, variance=v)
        naive_dsr, naive_sr0 = naive.naive_dsr(sr, t, skew, kurt, n, v)
        assert sr0 == pytest.approx(naive_sr0, rel=1e-9, abs=1e-12)
        assert dsr == pytest.approx(naive_dsr, rel=1e-9, abs=1e-12)
        psr = probabilistic_sharpe_ratio(sr, 0.0, t, skew, kurt)
        assert psr == pytest.approx(naive.naive_psr(sr, 0.0, t, skew, kurt), rel=1e-9, abs=1e-12)


def test_psr_of_normal_returns_is_lo_2002():
    # skewness 0 and kurtosis 3: the variance term is 1 + SR²/2 (Lo 2002, IID normal)
    sr, t = 0.08, 400
    expected = naive.norm_cdf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr * sr / 2))
    assert probabilistic_sharpe_ratio(sr, 0.0, t, 0.0, 3.0) == pytest.approx(expected, rel=1e-12)


def test_psr_undefined_cases():
    assert probabilistic_sharpe_ratio(None, 0.0, 100, 0.0, 3.0) is None
    assert probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0) is None
    # a variance term <= 0 (huge positive skew against a large SR) has no PSR
    assert probabilistic_sharpe_ratio(1.0, 0.0, 100, 10.0, 3.0) is None


def test_moments_equal_the_naive_twin():
    rng = np.random.default_rng(7)
    r = rng.standard_t(4, size=2000) * 0.01 + 0.0003
    m = return_moments(r)
    t, mean, std, skew, kurt = naive.naive_moments(r.tolist())
    assert m.count == t
    assert m.mean == pytest.approx(mean, rel=1e-9)
    assert m.std == pytest.approx(std, rel=1e-9)
    assert m.skewness == pytest.approx(skew, rel=1e-9)
    assert m.kurtosis == pytest.approx(kurt, rel=1e-9)
    assert m.sharpe == pytest.approx(mean / std, rel=1e-9)


def test_flat_returns_have_no_sharpe():
    m = return_moments(np.zeros(50))
    assert m.sharpe is None and m.skewness is None and m.std == 0.0


def test_sharpe_variance_ignores_undefined_trials():
    assert sharpe_variance([0.1, None, 0.3, float("nan")]) == pytest.approx(0.02)
    assert sharpe_variance([0.1]) == 0.0


def test_run_statistics_psr_is_of_the_runs_sharpe_ratio():
    rng = np.random.default_rng(3)
    curve = np.concatenate([[10_000.0], 10_000 * np.cumprod(1 + rng.normal(0.002, 0.01, size=1000))])
    sharpe = 2.5  # the run's contract sharpe_ratio (annualised), as run_results_store passes it
    stats = run_statistics(curve, minutes_per_bar=60, sharpe_ratio=sharpe)
    r = bar_returns(curve)
    t, mean, std, skew, kurt = naive.naive_moments(r.tolist())
    assert stats.returns == 1000
    sr = sharpe / math.sqrt(8760)
    assert stats.sharpe_per_bar == pytest.approx(sr)
    assert stats.probabilistic_sharpe_ratio == pytest.approx(
        naive.naive_psr(sr, 0.0, t, skew, kurt), rel=1e-9
    )
    assert stats.sharpe_ratio_arithmetic == pytest.approx(mean / std * math.sqrt(8760), rel=1e-9)
    assert stats.as_dict()["bars_per_year"] == 8760.0
    assert run_statistics(curve, 60, None).probabilistic_sharpe_ratio is None
