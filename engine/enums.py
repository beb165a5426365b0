"""Integer constants and record dtypes shared by the engine kernels and their wrapper.

Kernels take modes as plain integers (Numba compiles one specialisation for all of
them) and write trades into a structured array of ``trade_dt``. The ``*_NAMES`` tuples
map each constant, used as an index, to the string the API, specs and JSON use.
"""

from __future__ import annotations

import numpy as np

# --- fill modes: when a signal at bar i is executed ---------------------------------
FILL_CLOSE = 0  # at close[i]
FILL_NEXT_OPEN = 1  # at open[i + 1]; a signal on the last bar is dropped
FILL_NAMES = ("close", "next_open")

# --- what an opposite signal does to an open position -------------------------------
OPPOSITE_REVERSE = 0  # close it and open the other side at the same fill
OPPOSITE_CLOSE = 1  # close it and stay flat
OPPOSITE_IGNORE = 2  # keep it
OPPOSITE_NAMES = ("reverse", "close", "ignore")

# --- position sides (the value stored in trade_dt["side"]) --------------------------
SIDE_LONG = 1
SIDE_SHORT = -1
SIDE_NAMES = {SIDE_LONG: "long", SIDE_SHORT: "short"}

# --- why a trade was closed ---------------------------------------------------------
EXIT_SIGNAL = 0
EXIT_STOP = 1
EXIT_TAKE_PROFIT = 2
EXIT_LIQUIDATION = 3
EXIT_END = 4
EXIT_REASON_NAMES = ("signal", "stop", "take_profit", "liquidation", "end")

# --- one run's execution record: a float64[N_EXEC] array, these the indices ------------
# The settings of ``ExecutionConfig`` and the engine parameters a strategy's params carry,
# as one array a kernel takes instead of ten scalars (modes as their integer codes).
X_FILL = 0  # FILL_* code
X_OPPOSITE = 1  # OPPOSITE_* code
X_INITIAL_CAPITAL = 2
X_FEE_RATE = 3
X_SLIPPAGE_BPS = 4
X_POSITION_SIZE = 5
X_LEVERAGE = 6
X_STOP_LOSS = 7  # percent, NaN = none
X_TAKE_PROFIT = 8  # percent, NaN = none
X_MAINTENANCE_MARGIN_RATE = 9
N_EXEC = 10

# One closed trade. Packed (no align=True): Numba may leave garbage in alignment padding,
# and records should compare and hash by their bytes. Prices include slippage; ``fees`` is
# entry fee + exit fee (entry fee only for a liquidation); ``pnl`` is after both fees, so
# that final equity = initial capital + sum(pnl); ``return`` = pnl / margin.
trade_dt = np.dtype(
    [
        ("side", np.int8),
        ("entry_idx", np.int64),
        ("exit_idx", np.int64),
        ("entry_time", np.int64),  # epoch ms, = ts[entry_idx]
        ("exit_time", np.int64),  # epoch ms, = ts[exit_idx]
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("quantity", np.float64),  # base units, > 0 for both sides
        ("fees", np.float64),
        ("pnl", np.float64),
        ("return", np.float64),
        ("bars_held", np.int64),  # exit_idx - entry_idx
        ("exit_reason", np.int8),
    ]
)

# --- metrics: indices into the float64 array metrics_nb returns (NaN = null) --------
M_TOTAL_RETURN = 0
M_ANNUAL_RETURN = 1
M_VOLATILITY = 2
M_SHARPE_RATIO = 3
M_SORTINO_RATIO = 4
M_MAX_DRAWDOWN = 5
M_MAX_DRAWDOWN_DURATION = 6
M_CALMAR_RATIO = 7
M_TOTAL_TRADES = 8
M_WIN_RATE = 9
M_PROFIT_FACTOR = 10
M_AVG_TRADE_RETURN = 11
M_AVG_WIN = 12
M_LARGEST_WIN = 13
M_AVG_LOSS = 14
M_LARGEST_LOSS = 15
M_EXPECTANCY = 16
M_AVG_BARS_HELD = 17
M_EXPOSURE = 18
M_TOTAL_FEES = 19
N_METRICS = 20

METRIC_NAMES = (
    "total_return",
    "annual_return",
    "volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar_ratio",
    "total_trades",
    "win_rate",
    "profit_factor",
    "avg_trade_return",
    "avg_win",
    "largest_win",
    "avg_loss",
    "largest_loss",
    "expectancy",
    "avg_bars_held",
    "exposure",
    "total_fees",
)

MS_PER_DAY = 86_400_000
MINUTES_PER_YEAR = 365 * 24 * 60
