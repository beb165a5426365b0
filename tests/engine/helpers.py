"""Small explicit builders for the engine tests: bars from price tuples, one run call."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine import simulate
from engine.runner import PRICE_FIELDS
from tests.conftest import SAMPLE_CSV_GZ

MINUTE_MS = 60_000


def bars(*ohlc: tuple[float, float, float, float], step_ms: int = MINUTE_MS) -> dict[str, np.ndarray]:
    """Columns of len(ohlc) bars from (open, high, low, close) tuples, one ``step_ms`` apart."""
    arr = np.array(ohlc, dtype=np.float64)
    return {
        "ts": np.arange(len(ohlc), dtype=np.int64) * step_ms,
        "open": arr[:, 0].copy(),
        "high": arr[:, 1].copy(),
        "low": arr[:, 2].copy(),
        "close": arr[:, 3].copy(),
    }


def flat(*closes: float) -> dict[str, np.ndarray]:
    """Bars whose open = high = low = close: no level can trigger inside them."""
    return bars(*[(c, c, c, c) for c in closes])


def columns(b: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """``ts, open, high, low, close`` of bars ``b``, in the order ``simulate`` takes them."""
    return (b["ts"], *(b[field] for field in PRICE_FIELDS))


def run(b: dict[str, np.ndarray], signals, *, leverage=1.0, stop=None, tp=None, minutes=None, **execution):
    """simulate() over builder bars; ``execution`` keys go to ExecutionConfig (fee 0 unless set)."""
    execution.setdefault("fee_rate", 0.0)
    return simulate(
        *columns(b),
        np.asarray(signals, dtype=np.int8),
        execution,
        leverage=leverage,
        stop_loss_percent=stop,
        take_profit_percent=tp,
        timeframe_minutes=minutes,
    )


def momentum_run(b: dict[str, np.ndarray], execution: dict, *, leverage, stop, tp):
    """simulate() of ``momentum_signals`` over bars ``b`` with ``execution`` as given (the
    engine's defaults for what it leaves out, the fee included)."""
    return simulate(
        *columns(b),
        momentum_signals(b["close"]),
        execution,
        leverage=leverage,
        stop_loss_percent=stop,
        take_profit_percent=tp,
    )


def only_trade(result) -> dict:
    trades = result.trades_as_dicts()
    assert len(trades) == 1, trades
    return trades[0]


def random_walk_bars(seed: int, n: int, vol: float = 0.01, gap: float = 0.002) -> dict[str, np.ndarray]:
    """n one-minute bars of a seeded geometric random walk with wicks and opening gaps.

    open[i] = close[i-1] moved by a small gap, high/low extend past both open and close,
    so every rule (gaps through levels, wicks touching them) gets exercised.
    """
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    prev = np.r_[100.0, close[:-1]]
    open_ = prev * np.exp(rng.normal(0.0, gap, n))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = top * np.exp(np.abs(rng.normal(0.0, vol, n)))
    low = bottom * np.exp(-np.abs(rng.normal(0.0, vol, n)))
    return {
        "ts": 1_600_000_000_000 + np.arange(n, dtype=np.int64) * MINUTE_MS,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
    }


def random_signals(seed: int, n: int, density: float) -> np.ndarray:
    """int8[n] of +1/-1 with probability ``density`` each bar, 0 otherwise (seeded)."""
    rng = np.random.default_rng(seed + 1)
    active = rng.random(n) < density
    side = np.where(rng.random(n) < 0.5, 1, -1)
    return np.where(active, side, 0).astype(np.int8)


def load_sample() -> dict[str, np.ndarray]:
    """The bundled BTC 15m sample (2021 Q4) as columns; ts in epoch ms."""
    df = pd.read_csv(SAMPLE_CSV_GZ)
    ts = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[ms, UTC]").astype("int64").to_numpy()
    return {
        "ts": ts.astype(np.int64),
        **{col: df[col].to_numpy(dtype=np.float64) for col in ("open", "high", "low", "close", "volume")},
    }


def momentum_signals(close: np.ndarray, lookback: int = 20, every: int = 3) -> np.ndarray:
    """+1/-1 when the sign of the ``lookback``-bar momentum flips, on every ``every``-th bar
    only (thinned so that stops and same-side signals both occur); uses close[:i+1] only."""
    mom = np.zeros_like(close)
    mom[lookback:] = close[lookback:] - close[:-lookback]
    sign = np.sign(mom).astype(np.int8)
    flip = np.zeros(close.shape[0], dtype=bool)
    flip[1:] = sign[1:] != sign[:-1]
    keep = flip | (np.arange(close.shape[0]) % every == 0)
    return np.where(keep, sign, 0).astype(np.int8)
