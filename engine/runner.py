"""The public wrapper of the engine: validate, allocate, call the kernels, shape the result.

``run_backtest`` runs a strategy plug-in over candles; ``simulate`` does the same for
callers that already hold a signal array (tests, sweeps). Neither loops over bars in
Python: every per-bar pass is a Numba kernel (``nb.py``, ``metrics_nb.py``) or a numpy
reduction. Framework-free: no Django, no pandas.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from engine.bars import BAR_FIELDS, BarColumns
from engine.config import ExecutionConfig
from engine.enums import EXIT_REASON_NAMES, METRIC_NAMES, SIDE_NAMES, trade_dt
from engine.errors import EngineInputError
from engine.metrics_nb import metrics_from_sums_nb, metrics_nb
from engine.nb import (
    candles_ok_nb,
    first_non_increasing_nb,
    first_outside_nb,
    simulate_nb,
)

# The first value a fused kernel returns (see ``strategies.registry``): done, or its
# trade buffer filled up; a bar index >= 0 is the first bad candle.
FUSED_DONE = -1
FUSED_FULL = -2
PRICE_FIELDS = ("open", "high", "low", "close")

# The keys of one trade in trades_as_dicts()/JSON, in the order of the contract.
TRADE_KEYS = (
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "quantity",
    "fees",
    "pnl",
    "return",
    "bars_held",
    "exit_reason",
)


@dataclass(frozen=True)
class Candles(BarColumns):
    """Column arrays of n bars: ts int64 epoch ms (UTC, strictly increasing) and float64
    open/high/low/close/volume. Build with ``Candles.coerce`` to get them validated."""

    @classmethod
    def coerce(cls, candles: Any) -> tuple[Candles, int]:
        """Validated contiguous columns of ``candles`` (a ``Candles``, any object with the
        six attributes, or a mapping with the six keys), copied only when a dtype or the
        layout has to change.

        Returns ``(candles, majority_step_ms)``: the ts step shared by more than half of
        the steps, which is then their median (-1 when there is none).
        Raises ``ValueError`` naming the column and the first bad index.
        """
        cols, step = _validated_columns(candles, BAR_FIELDS)
        return cls(**cols), step


def _validated_columns(
    source: Any, names: tuple[str, ...], prefix: str = "candles."
) -> tuple[dict[str, np.ndarray], int]:
    """The columns ``names`` (``ts`` first) of a mapping or an object, checked and made
    contiguous; see ``Candles.coerce``. Errors name ``{prefix}{column}``."""
    cols = _coerced_columns(source, names, prefix)
    return cols, _checked_values(cols, prefix)


def _coerced_columns(source: Any, names: tuple[str, ...], prefix: str) -> dict[str, np.ndarray]:
    """The columns as contiguous int64 ts / float64 arrays of one length n >= 2: the
    structural checks only (presence, 1-D, dtype kind, lengths), no pass over values."""
    cols: dict[str, np.ndarray] = {}
    for name in names:
        if isinstance(source, Mapping):
            if name not in source:
                raise EngineInputError(f"{prefix}{name} is missing")
            raw = source[name]
        else:
            if not hasattr(source, name):
                raise EngineInputError(f"{prefix}{name} is missing")
            raw = getattr(source, name)
        arr = np.asarray(raw)
        if arr.ndim != 1:
            raise EngineInputError(f"{prefix}{name} must be 1-D, got shape {arr.shape}")
        if name == "ts":
            if arr.dtype.kind not in "iu":
                raise EngineInputError(f"{prefix}ts must be int64 epoch milliseconds, got dtype {arr.dtype}")
            arr = np.ascontiguousarray(arr, dtype=np.int64)
        else:
            if arr.dtype.kind not in "iuf":
                raise EngineInputError(f"{prefix}{name} must be float64, got dtype {arr.dtype}")
            arr = np.ascontiguousarray(arr, dtype=np.float64)
        cols[name] = arr
    n = cols["ts"].shape[0]
    for name in names[1:]:
        if cols[name].shape[0] != n:
            raise EngineInputError(f"{prefix}{name} has {cols[name].shape[0]} values but {prefix}ts has {n}")
    if n < 2:
        raise EngineInputError(f"{prefix.rstrip('.') or 'the arrays'} need at least 2 bars, got {n}")
    return cols


def _checked_values(cols: Mapping[str, np.ndarray], prefix: str) -> int:
    """One pass over the values of coerced columns: raise ``ValueError`` naming the first
    bad one (ts not strictly increasing, a price not finite and > 0, a volume not
    finite), else return the majority ts step (-1 when there is none)."""
    ts = cols["ts"]
    # without a volume column (``simulate``) close stands in: it is checked as a price anyway
    volume = cols.get("volume", cols["close"])
    min_step, n_first, prices_ok, volume_ok = candles_ok_nb(
        ts, cols["open"], cols["high"], cols["low"], cols["close"], volume
    )
    if min_step <= 0:
        bad = first_non_increasing_nb(ts)
        raise EngineInputError(
            f"{prefix}ts must be strictly increasing: ts[{bad}] = {int(ts[bad])} "
            f"<= ts[{bad - 1}] = {int(ts[bad - 1])}"
        )
    if not prices_ok:
        for name in PRICE_FIELDS:
            bad = first_outside_nb(cols[name], 0.0, np.inf)
            if bad >= 0:
                raise EngineInputError(
                    f"{prefix}{name}[{bad}] = {float(cols[name][bad])!r}: prices must be finite and > 0"
                )
    if not volume_ok:
        bad = first_outside_nb(volume, -np.inf, np.inf)
        raise EngineInputError(f"{prefix}volume[{bad}] = {float(volume[bad])!r} is not finite")
    return _majority_step(ts, n_first)


def _majority_step(ts: np.ndarray, n_first: int) -> int:
    """The first ts step when more than half of the n-1 steps equal it (it is then their
    median), else -1."""
    n = ts.shape[0]
    return int(ts[1] - ts[0]) if 2 * n_first > n - 1 else -1


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """What one run produces.

    metrics: every name of ``enums.METRIC_NAMES``; float, or None where undefined (never
    NaN/inf); ``total_trades`` is an int. trades: ``enums.trade_dt`` records in exit
    order. equity: float64[n], equity at each bar close. timings: seconds per stage:
    validate, signals, simulate, metrics, total. On a strategy's fused path (see
    ``run_backtest``) one kernel checks the candle values, computes the indicators and
    signals, simulates and sums the metrics: its time is ``simulate``, ``signals`` is 0,
    ``validate`` covers only the structural checks, and ``metrics`` the final figures.
    """

    metrics: dict[str, float | None]
    trades: np.ndarray
    equity: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)

    def trades_as_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per trade: sides and exit reasons as strings, times as epoch
        ms ints, the rest as Python floats/ints."""
        columns = {key: self.trades[key].tolist() for key in TRADE_KEYS}
        columns["side"] = [SIDE_NAMES[s] for s in columns["side"]]
        columns["exit_reason"] = [EXIT_REASON_NAMES[r] for r in columns["exit_reason"]]
        return [dict(zip(TRADE_KEYS, values, strict=True)) for values in zip(*columns.values(), strict=True)]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "metrics": dict(self.metrics),
            "trades": self.trades_as_dicts(),
            "equity": self.equity.tolist(),
        }


def _number_or_none(name: str, value: Any) -> float:
    """A strategy param as float; None (or absent) becomes NaN, the kernels' "none"."""
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise EngineInputError(f"params.{name} must be a number, got {value!r}")
    return float(value)


def _execution_record(
    execution: ExecutionConfig, leverage: Any, stop_loss_percent: Any, take_profit_percent: Any
) -> np.ndarray:
    """The run's execution record (``ExecutionConfig.record``, which checks the levels);
    None levels mean none."""
    return execution.record(
        _number_or_none("leverage", leverage),
        _number_or_none("stop_loss_percent", stop_loss_percent),
        _number_or_none("take_profit_percent", take_profit_percent),
    )


def _execution(execution: ExecutionConfig | Mapping[str, Any] | None) -> ExecutionConfig:
    if isinstance(execution, ExecutionConfig):
        return execution
    return ExecutionConfig.from_mapping(execution)


def _minutes_per_bar(ts: np.ndarray, majority_step: int, timeframe_minutes: float | None) -> float:
    """``timeframe_minutes`` when given, else the median step of ``ts`` in minutes."""
    if timeframe_minutes is not None:
        minutes = _number_or_none("timeframe_minutes", timeframe_minutes)
        if not (math.isfinite(minutes) and minutes > 0):
            raise EngineInputError(f"timeframe_minutes must be > 0, got {timeframe_minutes!r}")
        return minutes
    # A regular series has a majority step, which is then the median: no sort needed.
    step = majority_step if majority_step > 0 else float(np.median(np.diff(ts)))
    return step / 60_000.0


def _signals(signals: Any, n: int) -> np.ndarray:
    arr = np.asarray(signals)
    if arr.shape != (n,):
        raise EngineInputError(f"signals must have shape ({n},) like the candles, got {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise EngineInputError(f"signals must be an integer array of +1/-1/0, got dtype {arr.dtype}")
    if arr.dtype != np.int8:
        # the kernel reads the sign; take it first so that a wide dtype cannot wrap in int8
        arr = np.sign(arr).astype(np.int8)
    return np.ascontiguousarray(arr)


def _metrics_dict(values: list[float], n_trades: int) -> dict[str, float | None]:
    """The kernel's metric array as the result mapping: NaN/inf -> None, trades an int."""
    metrics: dict[str, float | None] = {
        name: (value if math.isfinite(value) else None)
        for name, value in zip(METRIC_NAMES, values, strict=True)
    }
    metrics["total_trades"] = int(n_trades)
    return metrics


def _run(
    cols: Mapping[str, np.ndarray],
    signals: np.ndarray,
    *,
    execution: ExecutionConfig,
    xrec: np.ndarray,
    minutes_per_bar: float,
    timings: dict[str, float],
) -> BacktestResult:
    t0 = time.perf_counter()
    ts = cols["ts"]
    equity = np.empty(ts.shape[0], dtype=np.float64)
    # every entry consumes one nonzero signal, so this bounds the number of trades
    capacity = max(int(np.count_nonzero(signals)), 1)
    trades_buf = np.empty(capacity, dtype=trade_dt)
    n_trades, n_exposed = simulate_nb(
        ts,
        cols["open"],
        cols["high"],
        cols["low"],
        cols["close"],
        signals,
        xrec,
        equity,
        trades_buf,
    )
    trades = trades_buf[:n_trades].copy()
    t1 = time.perf_counter()
    values = metrics_nb(
        equity, ts, trades, minutes_per_bar, execution.initial_capital, n_exposed,
        execution.rf_per_bar(minutes_per_bar),
    ).tolist()  # fmt: skip
    metrics = _metrics_dict(values, n_trades)
    t2 = time.perf_counter()
    timings["simulate"] = t1 - t0
    timings["metrics"] = t2 - t1
    return BacktestResult(metrics=metrics, trades=trades, equity=equity, timings=timings)


def simulate(  # noqa: PLR0917 (five price columns and the signals, like the kernel)
    ts: Any,
    open_: Any,
    high: Any,
    low: Any,
    close: Any,
    signals: Any,
    execution: ExecutionConfig | Mapping[str, Any] | None = None,
    *,
    leverage: float = 1.0,
    stop_loss_percent: float | None = None,
    take_profit_percent: float | None = None,
    timeframe_minutes: float | None = None,
) -> BacktestResult:
    """Simulate ``signals`` (int[n], +1 long / -1 short / 0 none; the sign is used) over
    the bars and compute the metrics; see ``nb.simulate_nb`` for the rules.

    ``execution`` defaults to ``ExecutionConfig()``; a mapping goes through
    ``ExecutionConfig.from_mapping``. ``stop_loss_percent``/``take_profit_percent`` None
    mean no stop / no take profit. ``timeframe_minutes`` None infers the bar length from
    the median ts step. Volume is not used by the engine, so none is asked for.
    Raises ``ValueError`` naming the bad argument (and index, for arrays).
    """
    started = time.perf_counter()
    cfg = _execution(execution)
    xrec = _execution_record(cfg, leverage, stop_loss_percent, take_profit_percent)
    cols, step = _validated_columns(
        {"ts": ts, "open": open_, "high": high, "low": low, "close": close}, BAR_FIELDS[:5], prefix=""
    )
    minutes = _minutes_per_bar(cols["ts"], step, timeframe_minutes)
    sig = _signals(signals, cols["ts"].shape[0])
    timings = {"validate": time.perf_counter() - started}
    result = _run(cols, sig, execution=cfg, xrec=xrec, minutes_per_bar=minutes, timings=timings)
    timings["total"] = time.perf_counter() - started
    return result


class Strategy(Protocol):
    """What the engine needs of a strategy plug-in (``strategies.registry.StrategyDef``):
    the engine never looks a strategy up by name, so it imports nothing from ``strategies``."""

    def with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]: ...

    def signals(self, params: Mapping[str, Any], *columns: np.ndarray) -> np.ndarray: ...

    @property
    def fused(self) -> Any: ...


def run_backtest(
    candles: Candles | Mapping[str, Any] | Any,
    strategy: Strategy,
    params: Mapping[str, Any] | None,
    execution: ExecutionConfig | Mapping[str, Any] | None = None,
    *,
    timeframe_minutes: float | None = None,
) -> BacktestResult:
    """Run ``strategy`` (a plug-in, e.g. ``strategies.registry.get_strategy("hyperrsi")``)
    with ``params`` over ``candles``.

    candles: a ``Candles``, a mapping or an object with ts (int64 epoch ms, strictly
    increasing, n >= 2) and open/high/low/close/volume (float64, finite; prices > 0).
    params: the strategy's parameters; missing ones take the strategy's defaults (schema
    validation is the spec layer's job). The engine reads ``leverage`` (default 1),
    ``stop_loss_percent`` and ``take_profit_percent`` (absent or None = none) from them.
    execution: ``ExecutionConfig``, a mapping for ``from_mapping``, or None (defaults).
    timeframe_minutes: bar length for annualisation; None = median ts step.
    Raises ``ValueError`` for bad input (naming it).

    A strategy that has a fused kernel (``strategy.fused``, e.g. HYPERRSI) runs
    through it: the candle check, indicators, signals, simulation and metric sums in one
    pass over the bars, with the same results and errors as the unfused path (candle
    check, ``strategy.signals``, ``simulate_nb``, ``metrics_nb``), which every other
    strategy takes. docs/engine.md, "Performance".
    """
    started = time.perf_counter()
    cfg = _execution(execution)
    full_params = strategy.with_defaults(params or {})
    xrec = _execution_record(
        cfg,
        full_params.get("leverage", 1.0),
        full_params.get("stop_loss_percent"),
        full_params.get("take_profit_percent"),
    )
    fused = strategy.fused
    if fused is not None:
        return _run_fused(
            fused,
            candles,
            full_params,
            cfg,
            xrec,
            timeframe_minutes=timeframe_minutes,
            started=started,
        )
    bars, step = Candles.coerce(candles)
    minutes = _minutes_per_bar(bars.ts, step, timeframe_minutes)
    t_validated = time.perf_counter()
    raw = strategy.signals(full_params, bars.open, bars.high, bars.low, bars.close, bars.volume)
    sig = _signals(raw, len(bars))
    t_signals = time.perf_counter()
    timings = {"validate": t_validated - started, "signals": t_signals - t_validated}
    result = _run(vars(bars), sig, execution=cfg, xrec=xrec, minutes_per_bar=minutes, timings=timings)
    timings["total"] = time.perf_counter() - started
    return result


# Trade records the fused path first makes room for: one per 16 bars (+ 64), far more
# than strategies trade in practice (HYPERRSI on a million one-minute bars: ~7,000 to
# ~22,000). A kernel that fills it up says so and runs again with room for n, the bound
# (each entry takes a bar). Only the records written are ever touched, so this costs a
# few page faults, not 90 bytes per record: a pool of buffers kept between runs measured
# no faster, and would be state shared by the threads of a web process.
_FUSED_TRADES_PER_BAR = 1 / 16


def _run_fused(
    fused: Any,
    candles: Any,
    params: Mapping[str, Any],
    cfg: ExecutionConfig,
    xrec: np.ndarray,
    *,
    timeframe_minutes: float | None,
    started: float,
) -> BacktestResult:
    """``run_backtest`` through a strategy's fused kernel (``StrategyDef.fused``,
    protocol in ``strategies.registry``): one pass that also checks the candle values.

    Its results are those of the unfused path bit for bit (``tests/engine/
    test_fused.py``), and so are its errors: when the kernel reports a bad candle, the
    full check runs and raises the message ``Candles.coerce`` would have.
    """
    cols = _coerced_columns(candles, BAR_FIELDS, "candles.")
    ts = cols["ts"]
    n = ts.shape[0]
    equity = np.empty(n, dtype=np.float64)
    trades_buf = np.empty(int(n * _FUSED_TRADES_PER_BAR) + 64, dtype=trade_dt)
    t_validated = time.perf_counter()
    out = fused(params, cols, xrec, equity, trades_buf)
    if out[0] == FUSED_FULL:
        trades_buf = np.empty(n + 1, dtype=trade_dt)
        out = fused(params, cols, xrec, equity, trades_buf)
    status, n_first, n_trades, n_exposed, sum_down2, ss, max_dd, max_dd_ms = out
    if status != FUSED_DONE:
        _checked_values(cols, "candles.")  # raises, naming the column and index
        raise RuntimeError(f"the fused kernel stopped at bar {status}, but the candles check found nothing")
    trades = trades_buf[:n_trades].copy()
    t_simulated = time.perf_counter()
    minutes = _minutes_per_bar(ts, _majority_step(ts, n_first), timeframe_minutes)
    values = metrics_from_sums_nb(
        sum_down2,
        ss,
        max_dd,
        max_dd_ms,
        equity[n - 1],
        ts[0],
        ts[n - 1],
        n,
        trades,
        minutes,
        cfg.initial_capital,
        n_exposed,
        cfg.rf_per_bar(minutes),
    ).tolist()
    metrics = _metrics_dict(values, n_trades)
    done = time.perf_counter()
    timings = {
        "validate": t_validated - started,
        "signals": 0.0,
        "simulate": t_simulated - t_validated,
        "metrics": done - t_simulated,
        "total": done - started,
    }
    return BacktestResult(metrics=metrics, trades=trades, equity=equity, timings=timings)
