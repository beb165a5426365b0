"""HYPERRSI: RSI mean reversion (or momentum) with an optional trend EMA filter.

The strategy of the live system, as DESIGN.md "HYPERRSI" states it. The work is split
in two so that sweeps can cache indicators:

- ``indicators(params, close)`` -> ``(rsi, ema)``: depends only on ``rsi_method``,
  ``rsi_period`` and (with the filter) ``trend_ema_period``;
- ``signals_from_indicators(params, close, rsi, ema)``: the cheap per-combination
  kernel over thresholds, mode and filter.

``signals(params, open, high, low, close, volume)`` chains both; it is the
``StrategyDef.signals`` a caller with its own engine loop uses. ``run_backtest`` runs
``fused_backtest`` instead (``StrategyDef.fused``): the same backtest in one pass over the
bars (``hyperrsi_fused_nb``), bit-identical to ``signals`` + the engine kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from strategies import hyperrsi_fused_nb, hyperrsi_nb, indicators_nb
from strategies.registry import (
    IndicatorLine,
    StrategyDef,
    StrategyError,
    engine_params_schema,
    price_array,
    register,
)
from strategies.sweep import (
    Columns,
    SweepAdapter,
    SweepLayout,
    choice_codes,
    float_matrix,
    period_column,
    unique_keys,
)

RSI_METHODS = {"wilder": indicators_nb.RSI_WILDER, "sma": indicators_nb.RSI_SMA}
ENTRY_OPTIONS = {"reverse": hyperrsi_nb.ENTRY_REVERSE, "follow": hyperrsi_nb.ENTRY_FOLLOW}

PARAMS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "HYPERRSI parameters",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rsi_period": {
            "type": "integer",
            "minimum": 2,
            "maximum": 50,
            "default": 14,
            "description": "RSI lookback in bars (price changes averaged).",
        },
        "rsi_oversold": {
            "type": "number",
            "minimum": 0,
            "maximum": 50,
            "default": 30,
            "description": "RSI level at or below which the market counts as oversold (long side).",
        },
        "rsi_overbought": {
            "type": "number",
            "minimum": 50,
            "maximum": 100,
            "default": 70,
            "description": "RSI level at or above which the market counts as overbought (short side).",
        },
        "rsi_method": {
            "type": "string",
            "enum": ["wilder", "sma"],
            "default": "wilder",
            "description": "RSI averaging: wilder (TA-Lib RSI) or sma (rolling means of gains and losses).",
        },
        "entry_option": {
            "type": "string",
            "enum": ["reverse", "follow"],
            "default": "reverse",
            "description": (
                "reverse: enter when RSI crosses back out of the oversold/overbought zone; "
                "follow: enter on every bar inside the zone."
            ),
        },
        "use_trend_filter": {
            "type": "boolean",
            "default": True,
            "description": ("In reverse mode, take longs only below the trend EMA and shorts only above it."),
        },
        "trend_ema_period": {
            "type": "integer",
            "minimum": 50,
            "maximum": 500,
            "default": 200,
            "description": "Span in bars of the trend EMA used by the trend filter.",
        },
        **engine_params_schema(leverage_default=3),
    },
}


def _choice(params: Mapping[str, Any], key: str, choices: Mapping[str, int]) -> int:
    value = params[key]
    try:
        return choices[value]
    except (KeyError, TypeError):
        raise StrategyError(f"params.{key} must be one of {sorted(choices)}, got {value!r}") from None


def warmup(params: Mapping[str, Any]) -> int:
    """The first bar that may signal: max(2·rsi_period, 30)."""
    p = STRATEGY.with_defaults(params)
    return int(hyperrsi_nb.hyperrsi_warmup(int(p["rsi_period"])))


def indicators(params: Mapping[str, Any], close: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(rsi, ema)`` over ``close`` (float64[n] each) for these params.

    Without the trend filter the EMA is never read, and ``close`` itself is returned in
    its place rather than computing one.
    """
    p = STRATEGY.with_defaults(params)
    close = price_array("close", close)
    rsi = indicators_nb.rsi(close, int(p["rsi_period"]), _choice(p, "rsi_method", RSI_METHODS))
    trend = indicators_nb.ema(close, int(p["trend_ema_period"])) if p["use_trend_filter"] else close
    return rsi, trend


def signals_from_indicators(
    params: Mapping[str, Any], close: Any, rsi: np.ndarray, ema: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """int8[n] signals from precomputed ``rsi`` and ``ema`` (see ``indicators``).

    ``out``, if given, is an int8[n] buffer to fill and return (sweeps reuse one).
    """
    p = STRATEGY.with_defaults(params)
    close = price_array("close", close)
    if out is None:
        out = np.empty(close.shape[0], dtype=np.int8)
    hyperrsi_nb.hyperrsi_signals_into(
        out,
        close,
        rsi,
        ema,
        int(p["rsi_period"]),
        float(p["rsi_oversold"]),
        float(p["rsi_overbought"]),
        _choice(p, "entry_option", ENTRY_OPTIONS),
        bool(p["use_trend_filter"]),
    )
    return out


def signals(  # noqa: PLR0917 (the StrategyDef.signals calling convention)
    params: Mapping[str, Any], open: Any, high: Any, low: Any, close: Any, volume: Any
) -> np.ndarray:
    """int8[n] HYPERRSI signals (+1 long, −1 short, 0) over the candles; only close is read."""
    close = price_array("close", close)
    rsi, trend = indicators(params, close)
    return signals_from_indicators(params, close, rsi, trend)


def indicator_lines(params: Mapping[str, Any], close: Any) -> list[IndicatorLine]:
    """For reports: the trend EMA over the price (when its filter is on) and the RSI under
    it with the oversold and overbought levels."""
    p = STRATEGY.with_defaults(params)
    rsi, trend = indicators(p, close)
    lines = []
    if p.get("use_trend_filter"):
        lines.append(IndicatorLine(f"trend EMA {p['trend_ema_period']}", trend))
    levels = (float(p["rsi_oversold"]), float(p["rsi_overbought"]))
    lines.append(IndicatorLine(f"RSI {p['rsi_period']}", rsi, "lower", levels, (0.0, 100.0)))
    return lines


def sweep_layout(columns: Columns) -> SweepLayout:
    """The sweep kernel's layout of a batch (``strategies.sweep``), as
    ``hyperrsi_nb.hyperrsi_sweep_signals`` reads it: one RSI row per (method, period),
    one EMA row per trend span of the combinations with the filter on."""
    method = choice_codes(columns, "rsi_method", RSI_METHODS)
    period = period_column(columns, "rsi_period")
    entry = choice_codes(columns, "entry_option", ENTRY_OPTIONS)
    use_filter = np.asarray(columns["use_trend_filter"], dtype=bool)
    trend = period_column(columns, "trend_ema_period")
    rsi_keys = np.stack([method, period], axis=1)
    # Without the filter the EMA is never read: point at the RSI row, so no EMA is
    # computed for it.
    ema_keys = np.where(
        use_filter[:, None], np.stack([np.full_like(trend, indicators_nb.EMA), trend], 1), rsi_keys
    )
    keys, iidx = unique_keys(rsi_keys, ema_keys)
    fpar = float_matrix(period, columns["rsi_oversold"], columns["rsi_overbought"], entry, use_filter)
    return SweepLayout(keys, iidx, fpar)


def fused_backtest(
    params: Mapping[str, Any],
    columns: Mapping[str, np.ndarray],
    xrec: np.ndarray,
    equity_out: np.ndarray,
    trades_out: np.ndarray,
) -> tuple:
    """The whole backtest in one pass: the ``StrategyDef.fused`` hook (protocol in
    ``strategies.registry``), running ``hyperrsi_fused_nb.hyperrsi_backtest_nb``."""
    p = STRATEGY.with_defaults(params)
    rsi_period = int(p["rsi_period"])
    ema_period = int(p["trend_ema_period"])
    use_filter = bool(p["use_trend_filter"])
    # the unfused indicator kernels refuse these; the fused one would divide by zero
    if rsi_period < 1 or (use_filter and ema_period < 1):
        raise StrategyError("params.rsi_period and params.trend_ema_period must be >= 1")
    return hyperrsi_fused_nb.hyperrsi_backtest_nb(
        columns["ts"],
        columns["open"],
        columns["high"],
        columns["low"],
        columns["close"],
        columns["volume"],
        rsi_period,
        _choice(p, "rsi_method", RSI_METHODS),
        float(p["rsi_oversold"]),
        float(p["rsi_overbought"]),
        _choice(p, "entry_option", ENTRY_OPTIONS),
        use_filter,
        max(ema_period, 1),
        xrec,
        equity_out,
        trades_out,
    )


STRATEGY = register(
    StrategyDef(
        name="hyperrsi",
        title="HYPERRSI",
        description=(
            "RSI reversal (or follow-through) entries with an optional trend EMA filter, "
            "as run by the live system."
        ),
        params_schema=PARAMS_SCHEMA,
        warmup=warmup,
        signals=signals,
        constraints=("rsi_oversold < rsi_overbought",),
        fused=fused_backtest,
        sweep=SweepAdapter(
            code=hyperrsi_nb.SWEEP_CODE,
            indicator_params=("rsi_method", "rsi_period", "use_trend_filter", "trend_ema_period"),
            layout=sweep_layout,
        ),
        indicators=indicator_lines,
    )
)
