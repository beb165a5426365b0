"""Statistics of a run's per-bar returns beyond the contract table: moments, the
probabilistic Sharpe ratio and the deflated Sharpe ratio.

Framework-free (numpy and the standard library's ``statistics.NormalDist``). Sharpe
ratios here are **per bar** (not annualised): the contract's ``sharpe_ratio`` divided by
√bars_per_year. References:

- PSR: Bailey, D. H. and López de Prado, M. (2012), "The Sharpe Ratio Efficient
  Frontier", Journal of Risk 15(2), eq. for PSR(SR*).
- DSR: Bailey, D. H. and López de Prado, M. (2014), "The Deflated Sharpe Ratio:
  Correcting for Selection Bias, Backtest Overfitting and Non-Normality", Journal of
  Portfolio Management 40(5), 94-107.

Undefined figures are ``None`` (never NaN or infinite).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

from engine.enums import MINUTES_PER_YEAR

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """The per-bar returns the metrics use (docs/engine.md, "Metrics"): r_i =
    max(e_i / e_{i-1} - 1, -1) for i = 1..n-1 up to the first bar with e <= 0 (the ruin),
    and 0 after it. float64[n-1]."""
    e = np.asarray(equity, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.maximum(e[1:] / e[:-1] - 1.0, -1.0)
    ruined = np.flatnonzero(e <= 0.0)
    if ruined.size:
        r[ruined[0] :] = 0.0  # r_i for i > ruin bar sits at index i - 1 >= ruin
    return r


@dataclass(frozen=True)
class ReturnMoments:
    """T returns, their mean, std (ddof = 1), skewness and kurtosis (not excess: 3 for a
    normal distribution; both from the population central moments, as in the papers),
    and the per-bar Sharpe ratio (mean - rf) / std. ``None`` where undefined."""

    count: int
    mean: float | None
    std: float | None
    skewness: float | None
    kurtosis: float | None
    sharpe: float | None


def return_moments(returns: np.ndarray, rf_per_bar: float = 0.0) -> ReturnMoments:
    """Moments of ``returns`` (float64[T]); see ``ReturnMoments``."""
    r = np.asarray(returns, dtype=np.float64)
    t = int(r.shape[0])
    if t == 0:
        return ReturnMoments(0, None, None, None, None, None)
    mean = float(r.mean())
    if t < 2:
        return ReturnMoments(t, mean, None, None, None, None)
    d = r - mean
    m2 = float(np.mean(d * d))
    std = math.sqrt(m2 * t / (t - 1))
    if m2 <= 0.0:
        return ReturnMoments(t, mean, std, None, None, None)
    skew = float(np.mean(d**3)) / m2**1.5
    kurt = float(np.mean(d**4)) / (m2 * m2)
    return ReturnMoments(t, mean, std, skew, kurt, (mean - rf_per_bar) / std)


def probabilistic_sharpe_ratio(
    sharpe: float | None, benchmark: float, count: int, skewness: float | None, kurtosis: float | None
) -> float | None:
    """PSR(SR*) = Φ((SR - SR*) √(T - 1) / √(1 - γ3 SR + (γ4 - 1) / 4 SR²)).

    sharpe: the per-bar Sharpe ratio SR of T = ``count`` returns; benchmark: SR*, per
    bar; skewness γ3 and kurtosis γ4 (not excess) of the returns. The probability that
    the true Sharpe ratio exceeds SR*. None when an input is undefined, T < 2, or the
    variance term is not positive.
    """
    if sharpe is None or skewness is None or kurtosis is None or count < 2:
        return None
    var = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if not var > 0.0:
        return None
    z = (sharpe - benchmark) * math.sqrt(count - 1) / math.sqrt(var)
    return _NORMAL.cdf(z)


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0 = √V [(1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))]: the expected maximum of N
    independent Sharpe ratio estimates with true value 0 and variance V across trials
    (γ: the Euler-Mascheroni constant). 0 for a single trial."""
    if trials < 2 or variance <= 0.0:
        return 0.0
    n = float(trials)
    return math.sqrt(variance) * (
        (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n)
        + EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (n * math.e))
    )


def deflated_sharpe_ratio(
    sharpe: float | None,
    count: int,
    skewness: float | None,
    kurtosis: float | None,
    *,
    trials: int,
    variance: float,
) -> tuple[float | None, float]:
    """DSR = PSR(SR0) with SR0 = ``expected_max_sharpe(trials, variance)``: the
    probability that the selected trial's true Sharpe ratio beats the best of ``trials``
    skill-less ones.

    sharpe, count, skewness, kurtosis: the selected trial's per-bar Sharpe ratio and the
    T, γ3, γ4 of its returns; trials: N, the number of trials tried; variance: V, the
    variance of their per-bar Sharpe ratios (``sharpe_variance``). Returns ``(dsr, sr0)``.
    """
    sr0 = expected_max_sharpe(trials, variance)
    return probabilistic_sharpe_ratio(sharpe, sr0, count, skewness, kurtosis), sr0


def sharpe_variance(trial_sharpes: Sequence[float | None]) -> float:
    """V[{SR_n}]: the sample variance (ddof = 1) of the defined trial Sharpe ratios; 0
    with fewer than two."""
    defined = np.array([s for s in trial_sharpes if s is not None and math.isfinite(s)], dtype=np.float64)
    return float(np.var(defined, ddof=1)) if defined.shape[0] >= 2 else 0.0


def bars_per_year(minutes_per_bar: float) -> float:
    return MINUTES_PER_YEAR / minutes_per_bar


def rf_per_bar(annual: float, minutes_per_bar: float) -> float:
    """(1 + rf)^(1 / bars_per_year) - 1: an annual rate compounded per bar."""
    if annual == 0.0:
        return 0.0
    return math.expm1(math.log1p(annual) * minutes_per_bar / MINUTES_PER_YEAR)


@dataclass(frozen=True)
class RunStatistics:
    """What a run stores in ``BacktestRun.statistics`` (see ``run_statistics``)."""

    returns: int
    mean_return: float | None
    std_return: float | None
    skewness: float | None
    kurtosis: float | None
    sharpe_per_bar: float | None
    probabilistic_sharpe_ratio: float | None
    sharpe_ratio_arithmetic: float | None
    sortino_ratio_arithmetic: float | None
    risk_free_rate: float
    bars_per_year: float

    def as_dict(self) -> dict:
        return {key: _finite(value) for key, value in asdict(self).items()}


def run_statistics(
    equity: np.ndarray, minutes_per_bar: float, sharpe_ratio: float | None, risk_free_rate: float = 0.0
) -> RunStatistics:
    """The return statistics of one run: its moments, PSR(0) of its Sharpe ratio, and the
    textbook Sharpe and Sortino ratios over the *arithmetic* mean bar return, which the
    contract table used before it took the geometric mean (docs/engine.md, "Metrics").

    sharpe_ratio: the run's (annualised) contract ``sharpe_ratio``; PSR(0) is computed
    for it per bar, SR = sharpe_ratio / √bars_per_year, so that it speaks of the ratio
    the run shows (a losing run gets a PSR below one half). risk_free_rate: annual,
    compounded per bar (``rf_per_bar``).
    """
    per_year = bars_per_year(minutes_per_bar)
    rf_bar = rf_per_bar(risk_free_rate, minutes_per_bar)
    r = bar_returns(equity)
    m = return_moments(r, rf_bar)
    ann = math.sqrt(per_year)
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) if r.size else 0.0
    sr = None if sharpe_ratio is None else sharpe_ratio / ann
    return RunStatistics(
        returns=m.count,
        mean_return=m.mean,
        std_return=m.std,
        skewness=m.skewness,
        kurtosis=m.kurtosis,
        sharpe_per_bar=sr,
        probabilistic_sharpe_ratio=probabilistic_sharpe_ratio(sr, 0.0, m.count, m.skewness, m.kurtosis),
        sharpe_ratio_arithmetic=None if m.sharpe is None else m.sharpe * ann,
        sortino_ratio_arithmetic=(m.mean - rf_bar) / downside * ann
        if m.mean is not None and downside > 0
        else None,
        risk_free_rate=risk_free_rate,
        bars_per_year=per_year,
    )


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
