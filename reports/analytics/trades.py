"""Breakdowns of the trade list: by side, by exit reason, streaks, durations, SQN.

freqtrade's backtest tables (by side, "exit reason stats" with win/draw/loss) and the
trade figures of quantstats. A trade wins when its pnl after fees is > 0 (the
contract's win), draws at exactly 0 and loses below 0; streaks count a draw as a loss,
so that they cut the trade list into runs of the contract's winning and losing trades.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from reports.analytics.returns import MS_PER_DAY

EXIT_REASONS = ("signal", "stop", "take_profit", "liquidation", "end")


@dataclass(frozen=True)
class TradeArrays:
    """A run's trades as columns, one element per trade, in exit order (the fields of
    ``backtests.models.Trade``): side int8 (+1 long, −1 short); entry_time and exit_time
    int64 epoch ms; entry_price, exit_price, trade_return (pnl / margin) and pnl float64;
    exit_reason str (signal | stop | take_profit | liquidation | end); bars_held int64.
    What the analytics and the price chart read."""

    side: np.ndarray
    entry_time: np.ndarray
    exit_time: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    exit_reason: np.ndarray
    trade_return: np.ndarray
    pnl: np.ndarray
    bars_held: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.entry_time).shape[0])

    def subset(self, keep: np.ndarray) -> TradeArrays:
        """The trades at ``keep`` (indices or a mask)."""
        return TradeArrays(*(np.asarray(getattr(self, f.name))[keep] for f in dataclasses.fields(self)))


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if x.shape[0] else None


def group_row(t: TradeArrays, mask: np.ndarray) -> dict[str, float | int | None]:
    """count, wins/draws/losses, win_rate, total_pnl, avg_pnl, avg_return, best/worst
    return, avg_days (entry to exit) of the trades in ``mask``."""
    pnl = t.pnl[mask]
    ret = t.trade_return[mask]
    days = (t.exit_time[mask] - t.entry_time[mask]) / MS_PER_DAY
    count = int(pnl.shape[0])
    wins = int((pnl > 0).sum())
    return {
        "count": count,
        "wins": wins,
        "draws": int((pnl == 0).sum()),
        "losses": int((pnl < 0).sum()),
        "win_rate": wins / count if count else None,
        "total_pnl": float(pnl.sum()),
        "avg_pnl": _mean(pnl),
        "avg_return": _mean(ret),
        "best_return": float(ret.max()) if count else None,
        "worst_return": float(ret.min()) if count else None,
        "avg_days": _mean(days),
    }


def longest_run(flags: np.ndarray) -> int:
    """The longest run of consecutive True values in ``flags``. Vectorised."""
    flags = np.asarray(flags, dtype=bool)
    if not flags.any():
        return 0
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return int((change[1::2] - change[0::2]).max())


def sqn(returns: np.ndarray) -> float | None:
    """System quality number (Van Tharp): √N · mean(R) / std(R, ddof=1), R the trades'
    returns (pnl / margin). freqtrade computes it the same way over absolute profit;
    returns keep a compounding run's later, larger trades from dominating. None for
    fewer than two trades or no variance."""
    r = np.asarray(returns, dtype=np.float64)
    if r.shape[0] < 2:
        return None
    std = float(np.std(r, ddof=1))
    if std == 0:
        return None
    return float(np.sqrt(r.shape[0]) * r.mean() / std)


def trade_stats(t: TradeArrays) -> dict[str, float | int | None]:
    """Scalar trade figures: max_consecutive_wins / _losses (see the module docstring),
    avg_win_days / avg_loss_days (mean entry→exit time of winning / other trades),
    best_trade / worst_trade (largest and smallest return), sqn, draws."""
    win = t.pnl > 0
    days = (t.exit_time - t.entry_time) / MS_PER_DAY
    return {
        "max_consecutive_wins": longest_run(win) if len(t) else None,
        "max_consecutive_losses": longest_run(~win) if len(t) else None,
        "avg_win_days": _mean(days[win]),
        "avg_loss_days": _mean(days[~win]),
        "best_trade": float(t.trade_return.max()) if len(t) else None,
        "worst_trade": float(t.trade_return.min()) if len(t) else None,
        "sqn": sqn(t.trade_return),
    }


def breakdowns(t: TradeArrays) -> dict[str, list[dict]]:
    """{"side": rows for long and short, "exit_reason": a row per exit reason that
    occurred (in the engine's order), "all": one row for every trade}; each row is
    ``group_row`` with its ``key``."""
    reasons = np.asarray(t.exit_reason).astype(str)
    side = np.asarray(t.side)
    every = np.ones(len(t), dtype=bool)
    return {
        "all": [{"key": "all", **group_row(t, every)}],
        "side": [{"key": name, **group_row(t, side == code)} for name, code in (("long", 1), ("short", -1))],
        "exit_reason": [
            {"key": reason, **group_row(t, reasons == reason)}
            for reason in EXIT_REASONS
            if (reasons == reason).any()
        ],
    }
