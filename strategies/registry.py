"""The strategy registry: what a strategy must declare to be run, validated and swept.

A strategy is framework-free data plus kernels:

- ``params_schema``: the JSON Schema (draft 2020-12) of its ``params`` mapping, with
  ``default``, bounds and enums; spec validation uses it verbatim, so its
  ``description`` strings are what users read in error messages and in editors.
  Engine knobs that a strategy carries in its params (``leverage``,
  ``stop_loss_percent``, ``take_profit_percent``) are declared here too.
- ``warmup(params) -> int``: the first bar index at which a signal may occur.
- ``signals(params, open, high, low, close, volume) -> int8[n]``: +1 long, -1 short,
  0 none; bar i may use data up to and including bar i's close only.
- ``constraints``: expressions over its params that must hold (``"fast_period <
  slow_period"``) beyond what the schema can say; specs and sweeps check them.
- optionally ``fused``: a kernel running the whole backtest in one pass, which
  ``engine.run_backtest`` then uses instead of ``signals`` + the engine
  kernels. Called as ``fused(params, columns, xrec, equity_out, trades_out)``:
  params with defaults filled in; columns a mapping of the coerced (not value-checked)
  int64 ``ts`` and float64 ``open/high/low/close/volume``; xrec the execution record
  (float64[N_EXEC], indices ``engine.enums.X_*``) as ``simulate_nb`` takes it;
  equity_out float64[n] and trades_out ``trade_dt`` records to fill. It returns
  ``(status, n_first_step, n_trades, n_exposed, sum_down2, ss, max_dd, max_dd_ms)`` as
  ``strategies.hyperrsi_fused_nb.hyperrsi_backtest_nb`` documents, and must give
  exactly what ``signals`` + ``simulate_nb`` + ``metrics_nb`` give
  (``tests/engine/test_fused.py`` holds HYPERRSI's to that).
- optionally ``sweep``: its sweep adapter (``strategies.sweep.SweepAdapter``): how a
  batch of combinations maps onto the sweep kernel. Without one, sweeps of the
  strategy are refused.
- optionally ``indicators(params, close) -> list[IndicatorLine]``: the lines a report
  draws with the price, computed by the strategy's own indicator code so the chart
  shows what the signals saw.

Strategies register themselves at import time of ``strategies.builtin``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from strategies.sweep import SweepAdapter

SignalFn = Callable[..., np.ndarray]


class StrategyError(ValueError):
    """A parameter a strategy cannot run with; the message names it (``params.x``)."""


class UnknownStrategy(KeyError):
    """No strategy is registered under the name asked for; the message lists the known."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class IndicatorLine:
    """A series drawn with the price: ``panel`` "price" (over the close, e.g. a trend
    EMA) or "lower" (an oscillator under it, e.g. RSI, with ``levels`` as dashed lines
    and ``bounds`` as its fixed y range)."""

    label: str
    values: np.ndarray
    panel: str = "price"
    levels: tuple[float, ...] = ()
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class StrategyDef:
    name: str
    title: str
    description: str
    params_schema: dict[str, Any]
    warmup: Callable[[Mapping[str, Any]], int]
    signals: SignalFn
    constraints: tuple[str, ...] = ()
    fused: Callable[..., tuple] | None = None
    sweep: SweepAdapter | None = None
    indicators: Callable[[Mapping[str, Any], np.ndarray], list[IndicatorLine]] | None = None

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter that has one."""
        props = self.params_schema.get("properties", {})
        return {key: prop["default"] for key, prop in props.items() if "default" in prop}

    def with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with every missing parameter filled from its default."""
        return {**self.defaults(), **params}


def engine_params_schema(*, leverage_default: float) -> dict[str, dict[str, Any]]:
    """Schema properties of the params every strategy carries for the engine.

    ``leverage`` (isolated margin), ``stop_loss_percent`` and the optional
    ``take_profit_percent``, with the live system's bounds; a strategy spreads these
    into its own ``params_schema["properties"]``.
    """
    return {
        "leverage": {
            "type": "number",
            "minimum": 1,
            "maximum": 20,
            "default": leverage_default,
            "description": "Position leverage (isolated margin); applied by the engine.",
        },
        "stop_loss_percent": {
            "type": "number",
            "minimum": 0.5,
            "maximum": 10,
            "default": 2.0,
            "description": "Stop loss as a percent price move against the entry; applied by the engine.",
        },
        "take_profit_percent": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 100,
            "description": (
                "Take profit as a percent price move in favour of the entry; "
                "applied by the engine. Absent: no take profit."
            ),
        },
    }


_REGISTRY: dict[str, StrategyDef] = {}


def register(strategy: StrategyDef) -> StrategyDef:
    if strategy.name in _REGISTRY:
        raise ValueError(f"strategy {strategy.name!r} is already registered")
    if strategy.sweep is not None:
        taken = [s.name for s in _REGISTRY.values() if s.sweep and s.sweep.code == strategy.sweep.code]
        if taken:
            raise ValueError(
                f"strategy {strategy.name!r}: sweep code {strategy.sweep.code} is {taken[0]!r}'s"
            )
    _REGISTRY[strategy.name] = strategy
    return strategy


def _load_builtins() -> None:
    # Imported for its side effect: each built-in strategy module calls register().
    import strategies.builtin  # noqa: F401


def get_strategy(name: str) -> StrategyDef:
    """The registered strategy ``name``; ``UnknownStrategy`` (a ``KeyError``) listing the
    known names otherwise."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownStrategy(f"unknown strategy {name!r} (known: {known})") from None


def all_strategies() -> list[StrategyDef]:
    _load_builtins()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def price_array(name: str, values: Any) -> np.ndarray:
    """``values`` as the contiguous 1-D float64 array the kernels take (no copy if it is one).

    A signal function calls this on its inputs so that a list, a pandas Series or a
    float32 column compiles to the one kernel specialisation; ``name`` goes into the error.
    """
    # asarray first: ascontiguousarray would quietly turn a scalar into shape (1,).
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    return np.ascontiguousarray(array)
