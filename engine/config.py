"""Execution settings of a run: the ``execution`` mapping of a Backtest spec."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from engine import enums
from engine.enums import FILL_NAMES, N_EXEC, OPPOSITE_NAMES
from engine.errors import EngineInputError
from engine.stats import rf_per_bar


def _number(name: str, value: Any) -> float:
    # bool is an int subclass; "fee_rate: true" in YAML is a mistake, not 1.0.
    # numbers.Real also admits numpy scalars (np.int64 is not an int).
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise EngineInputError(f"execution.{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise EngineInputError(f"execution.{name} must be finite, got {value!r}")
    return value


def _shown(value: float) -> str:
    """A value as the user wrote it in an error: 0 rather than 0.0 for a whole number."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise EngineInputError(f"execution.{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def liquidated_at_once(leverage: Any, maintenance_margin_rate: float) -> Any:
    """The maintenance margin is not below 1 / leverage (leverage > 1): a position is then
    liquidated as it opens. Elementwise over an array of leverages."""
    leverage = np.asarray(leverage, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (leverage > 1.0) & (maintenance_margin_rate >= 1.0 / leverage)


def margin_message(maintenance_margin_rate: float, leverage: float) -> str:
    """What ``liquidated_at_once`` means, for the user."""
    return (
        f"execution.maintenance_margin_rate ({maintenance_margin_rate}) must be below 1 / leverage "
        f"({1.0 / leverage}), or every position is liquidated at once"
    )


@dataclass(frozen=True)
class ExecutionConfig:
    """How orders are filled and charged (DESIGN.md, "Engine semantics").

    initial_capital: quote currency, > 0. fee_rate: fraction of fill notional charged on
    entry and on exit, 0 <= fee_rate < 1. slippage_bps: each fill moved against the
    trader by this many basis points, 0 <= slippage_bps < 10000. fill: "close" or
    "next_open". position_size: fraction of equity committed (margin + entry fee),
    0 < position_size <= 1. maintenance_margin_rate: 0 <= mmr < 1 (must also be below
    1 / leverage, checked when the leverage is known). on_opposite: "reverse", "close"
    or "ignore". risk_free_rate: annual, -1 < rf < 1, subtracted by the Sharpe and
    Sortino ratios as ``rf_per_bar`` (no cash earns it).
    """

    initial_capital: float = 10000.0
    fee_rate: float = 0.0004
    slippage_bps: float = 0.0
    fill: str = "next_open"
    position_size: float = 1.0
    maintenance_margin_rate: float = 0.005
    on_opposite: str = "reverse"
    risk_free_rate: float = 0.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise ints to floats in place once
        set_(self, "initial_capital", _number("initial_capital", self.initial_capital))
        set_(self, "fee_rate", _number("fee_rate", self.fee_rate))
        set_(self, "slippage_bps", _number("slippage_bps", self.slippage_bps))
        set_(self, "position_size", _number("position_size", self.position_size))
        set_(
            self,
            "maintenance_margin_rate",
            _number("maintenance_margin_rate", self.maintenance_margin_rate),
        )
        set_(self, "risk_free_rate", _number("risk_free_rate", self.risk_free_rate))
        _choice("fill", self.fill, FILL_NAMES)
        _choice("on_opposite", self.on_opposite, OPPOSITE_NAMES)
        if self.initial_capital <= 0:
            raise EngineInputError(f"execution.initial_capital must be > 0, got {self.initial_capital!r}")
        if not 0 <= self.fee_rate < 1:
            raise EngineInputError(f"execution.fee_rate must be in [0, 1), got {self.fee_rate!r}")
        if not 0 <= self.slippage_bps < 10000:
            raise EngineInputError(f"execution.slippage_bps must be in [0, 10000), got {self.slippage_bps!r}")
        if not 0 < self.position_size <= 1:
            raise EngineInputError(f"execution.position_size must be in (0, 1], got {self.position_size!r}")
        if not 0 <= self.maintenance_margin_rate < 1:
            raise EngineInputError(
                f"execution.maintenance_margin_rate must be in [0, 1), got {self.maintenance_margin_rate!r}"
            )

        if not -1 < self.risk_free_rate < 1:
            raise EngineInputError(
                f"execution.risk_free_rate must be in (-1, 1), got {self.risk_free_rate!r}"
            )

    def rf_per_bar(self, minutes_per_bar: float) -> float:
        """The risk-free rate per bar (``engine.stats.rf_per_bar``)."""
        return rf_per_bar(self.risk_free_rate, minutes_per_bar)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> ExecutionConfig:
        """Build from a spec's ``execution`` mapping; missing keys take the defaults.

        Raises ``ValueError`` naming the field for an unknown key or a bad value.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise EngineInputError(f"execution must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise EngineInputError(
                f"execution.{unknown[0]} is not a known setting (known: {', '.join(sorted(known))})"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def fill_code(self) -> int:
        return FILL_NAMES.index(self.fill)

    @property
    def opposite_code(self) -> int:
        return OPPOSITE_NAMES.index(self.on_opposite)

    def record(
        self, leverage: float = 1.0, stop_loss_pct: float = math.nan, take_profit_pct: float = math.nan
    ) -> np.ndarray:
        """These settings and a run's engine parameters as one float64[N_EXEC] array, the
        execution record kernels take (indices ``enums.X_*``; NaN levels mean none).
        The engine parameters are checked as ``records`` checks them."""
        return self.records(np.array([leverage]), np.array([stop_loss_pct]), np.array([take_profit_pct]))[0]

    def records(
        self, leverage: np.ndarray, stop_loss_pct: np.ndarray, take_profit_pct: np.ndarray
    ) -> np.ndarray:
        """float64[C, N_EXEC]: one execution record per combination of engine parameters
        (float64[C] each; NaN stop / take profit = none), these settings in every row.

        Raises ``EngineInputError`` naming the first offending value: leverage finite and
        >= 1, the maintenance margin below 1 / leverage (else every position is
        liquidated at once), stop loss in (0, 100), take profit finite and > 0. One
        check for a run (``runner``) and a sweep's batch (``optimizers.adapters``).
        """
        lev = np.asarray(leverage, dtype=np.float64)
        sl = np.asarray(stop_loss_pct, dtype=np.float64)
        tp = np.asarray(take_profit_pct, dtype=np.float64)
        mmr = self.maintenance_margin_rate
        bad = np.flatnonzero(~(np.isfinite(lev) & (lev >= 1.0)))
        if bad.size:
            raise EngineInputError(f"params.leverage must be a finite number >= 1, got {_shown(lev[bad[0]])}")
        bad = np.flatnonzero(liquidated_at_once(lev, mmr))
        if bad.size:
            raise EngineInputError(margin_message(mmr, float(lev[bad[0]])))
        bad = np.flatnonzero(~np.isnan(sl) & ~((sl > 0.0) & (sl < 100.0)))
        if bad.size:
            raise EngineInputError(f"params.stop_loss_percent must be in (0, 100), got {_shown(sl[bad[0]])}")
        bad = np.flatnonzero(~np.isnan(tp) & ~((tp > 0.0) & np.isfinite(tp)))
        if bad.size:
            raise EngineInputError(f"params.take_profit_percent must be > 0, got {_shown(tp[bad[0]])}")
        rec = np.empty((lev.shape[0], N_EXEC), dtype=np.float64)
        rec[:, enums.X_FILL] = self.fill_code
        rec[:, enums.X_OPPOSITE] = self.opposite_code
        rec[:, enums.X_INITIAL_CAPITAL] = self.initial_capital
        rec[:, enums.X_FEE_RATE] = self.fee_rate
        rec[:, enums.X_SLIPPAGE_BPS] = self.slippage_bps
        rec[:, enums.X_POSITION_SIZE] = self.position_size
        rec[:, enums.X_LEVERAGE] = lev
        rec[:, enums.X_STOP_LOSS] = sl
        rec[:, enums.X_TAKE_PROFIT] = tp
        rec[:, enums.X_MAINTENANCE_MARGIN_RATE] = mmr
        return rec
