"""Slow, obvious twins of the Numba kernels, for the tests to compare against.

Plain Python over lists with the ``math`` module: each function follows its textbook
definition as directly as possible (windows are sliced and summed afresh, formulas
are the classic ones), so that an optimisation in a kernel cannot hide in both.
Undefined values are ``math.nan``; signals are lists of ints (+1 long, −1 short, 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# --- Indicators ---------------------------------------------------------------------


def changes(close):
    """close[j] − close[j−1] for j = 1..n−1 (one shorter than ``close``)."""
    return [close[j] - close[j - 1] for j in range(1, len(close))]


def rsi_from_averages(avg_gain, avg_loss):
    if avg_loss == 0:
        return 100.0 if avg_gain > 0 else 50.0
    rs = avg_gain / avg_loss
    return 100.0 - 100.0 / (1.0 + rs)


def rsi_wilder(close, period):
    n = len(close)
    out = [math.nan] * n
    if n <= period:
        return out
    diffs = changes(close)
    gains = [max(d, 0.0) for d in diffs]
    losses = [max(-d, 0.0) for d in diffs]
    avg_gain = sum(gains[:period]) / period
    avg_loss = sum(losses[:period]) / period
    out[period] = rsi_from_averages(avg_gain, avg_loss)
    for i in range(period + 1, n):
        # diffs[i - 1] is close[i] - close[i - 1].
        avg_gain = (avg_gain * (period - 1) + gains[i - 1]) / period
        avg_loss = (avg_loss * (period - 1) + losses[i - 1]) / period
        out[i] = rsi_from_averages(avg_gain, avg_loss)
    return out


def rsi_sma(close, period):
    n = len(close)
    out = [math.nan] * n
    diffs = changes(close)
    for i in range(period, n):
        window = diffs[i - period : i]
        avg_gain = math.fsum(d for d in window if d > 0) / period
        avg_loss = math.fsum(-d for d in window if d < 0) / period
        out[i] = rsi_from_averages(avg_gain, avg_loss)
    return out


def rsi(close, period, method):
    return {"wilder": rsi_wilder, "sma": rsi_sma}[method](close, period)


def ema(close, period):
    alpha = 2.0 / (period + 1)
    out = []
    for i, value in enumerate(close):
        out.append(value if i == 0 else alpha * value + (1 - alpha) * out[-1])
    return out


def sma(x, period):
    out = [math.nan] * len(x)
    for i in range(period - 1, len(x)):
        window = x[i - period + 1 : i + 1]
        if not any(math.isnan(v) for v in window):
            out[i] = math.fsum(window) / period
    return out


def true_range(high, low, close):
    out = [math.nan]
    for i in range(1, len(close)):
        out.append(max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])))
    return out


def atr(high, low, close, period):
    n = len(close)
    out = [math.nan] * n
    if n <= period:
        return out
    tr = true_range(high, low, close)
    value = sum(tr[1 : period + 1]) / period
    out[period] = value
    for i in range(period + 1, n):
        value = (value * (period - 1) + tr[i]) / period
        out[i] = value
    return out


def bollinger(close, period, k):
    n = len(close)
    mid = [math.nan] * n
    upper = [math.nan] * n
    lower = [math.nan] * n
    for i in range(period - 1, n):
        window = close[i - period + 1 : i + 1]
        mean = math.fsum(window) / period
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in window) / period)
        mid[i], upper[i], lower[i] = mean, mean + k * sd, mean - k * sd
    return mid, upper, lower


# --- Strategies ---------------------------------------------------------------------


def hyperrsi_signals(
    close,
    *,
    rsi_period=14,
    rsi_oversold=30.0,
    rsi_overbought=70.0,
    rsi_method="wilder",
    entry_option="reverse",
    use_trend_filter=True,
    trend_ema_period=200,
):
    """HYPERRSI as DESIGN.md words it; the trend filter applies in reverse mode only."""
    r = rsi(close, rsi_period, rsi_method)
    trend = ema(close, trend_ema_period)
    first = max(2 * rsi_period, 30)
    out = [0] * len(close)
    for i in range(first, len(close)):
        if entry_option == "reverse":
            prev, now = r[i - 1], r[i]
            if math.isnan(prev) or math.isnan(now):
                continue
            below_trend = close[i] < trend[i] or not use_trend_filter
            above_trend = close[i] > trend[i] or not use_trend_filter
            if prev <= rsi_oversold < now and below_trend:
                out[i] = 1
            elif prev >= rsi_overbought > now and above_trend:
                out[i] = -1
        else:
            now = r[i]
            if math.isnan(now):
                continue
            if now <= rsi_oversold:
                out[i] = 1
            elif now >= rsi_overbought:
                out[i] = -1
    return out


def ema_cross_signals(close, *, fast_period=12, slow_period=26):
    """+1 where the fast EMA goes from at-or-below the slow one to above it, −1 mirrored."""
    fast = ema(close, fast_period)
    slow = ema(close, slow_period)
    out = [0] * len(close)
    for i in range(max(slow_period, 1), len(close)):
        if fast[i - 1] <= slow[i - 1] and fast[i] > slow[i]:
            out[i] = 1
        elif fast[i - 1] >= slow[i - 1] and fast[i] < slow[i]:
            out[i] = -1
    return out


# --- The engine: a bar-by-bar simulation and the metrics table -----------------------
# Written from DESIGN.md ("Engine semantics", "Metrics") independently of the Numba
# kernels in engine; every rule is a plain if/else in the contract's order.

LONG, SHORT = 1, -1


@dataclass
class Position:
    side: int  # +1 long, -1 short
    entry_idx: int
    entry_price: float  # the fill price, slippage included
    quantity: float
    notional: float
    margin: float
    entry_fee: float
    stop: float | None
    take_profit: float | None
    liquidation: float | None


def naive_simulate(  # noqa: PLR0917 (the columns and the signals, like the kernel)
    ts,
    open_,
    high,
    low,
    close,
    signals,
    *,
    fill: str = "next_open",
    on_opposite: str = "reverse",
    initial_capital: float = 10000.0,
    fee_rate: float = 0.0004,
    slippage_bps: float = 0.0,
    position_size: float = 1.0,
    leverage: float = 1.0,
    stop_loss_percent: float | None = None,
    take_profit_percent: float | None = None,
    maintenance_margin_rate: float = 0.005,
) -> dict:
    """Returns {"equity": [float], "trades": [dict], "in_position": [bool]}.

    Trade dicts carry entry_idx/exit_idx besides the contract's fields; ``side`` and
    ``exit_reason`` are strings. ``in_position[i]``: a position is open at bar i's close
    (before the end-of-data exit).
    """
    n = len(close)
    o = [float(x) for x in open_]
    h = [float(x) for x in high]
    lo = [float(x) for x in low]
    c = [float(x) for x in close]
    t = [int(x) for x in ts]
    sig = [int(x) for x in signals]
    s = slippage_bps / 10000.0

    cash = float(initial_capital)
    pos: Position | None = None
    trades: list[dict] = []
    equity: list[float] = []
    in_position: list[bool] = []

    def adverse_price(p: Position, price: float) -> float:
        # slippage makes an exit worse: a long sells lower, a short buys higher
        return price * (1 - s) if p.side == LONG else price * (1 + s)

    def close_position(p: Position, i: int, price: float, reason: str) -> None:
        nonlocal cash, pos
        if reason == "liquidation":
            exit_price = price
            gross = -p.margin
            exit_fee = 0.0
        else:
            exit_price = adverse_price(p, price)
            gross = (exit_price - p.entry_price) * p.quantity
            if p.side == SHORT:
                gross = -gross
            exit_fee = exit_price * p.quantity * fee_rate
        # (gross - exit_fee) first, as the kernel adds it: a liquidation at position_size
        # 1 leaves a rounding residue of zero, whose sign depends on this order
        cash = cash + (gross - exit_fee)
        pnl = gross - p.entry_fee - exit_fee
        trades.append(
            {
                "side": "long" if p.side == LONG else "short",
                "entry_idx": p.entry_idx,
                "exit_idx": i,
                "entry_time": t[p.entry_idx],
                "exit_time": t[i],
                "entry_price": p.entry_price,
                "exit_price": exit_price,
                "quantity": p.quantity,
                "fees": p.entry_fee + exit_fee,
                "pnl": pnl,
                "return": pnl / p.margin,
                "bars_held": i - p.entry_idx,
                "exit_reason": reason,
            }
        )
        pos = None

    def open_position(side: int, i: int, price: float) -> None:
        nonlocal cash, pos
        equity_now = cash  # flat at every entry: a reversal has closed first
        # bust: nothing left, or a rounding residue of nothing (1e-9 of the capital)
        if equity_now <= initial_capital * 1e-9:
            return
        fill_price = price * (1 + s) if side == LONG else price * (1 - s)
        notional = equity_now * position_size * leverage / (1 + leverage * fee_rate)
        fee = notional * fee_rate
        cash -= fee
        stop = tp = liq = None
        if stop_loss_percent is not None:
            stop = fill_price * (1 - side * stop_loss_percent / 100)
        if take_profit_percent is not None:
            tp = fill_price * (1 + side * take_profit_percent / 100)
        if leverage > 1:
            liq = fill_price * (1 - side * (1 / leverage - maintenance_margin_rate))
        pos = Position(
            side, i, fill_price, notional / fill_price, notional, notional / leverage, fee, stop, tp, liq
        )

    def nearer_adverse(p: Position) -> tuple[str, float] | None:
        """("stop"|"liquidation", level) nearer to entry; a tie goes to the stop."""
        candidates = []
        if p.stop is not None:
            candidates.append(("stop", p.stop))
        if p.liquidation is not None:
            candidates.append(("liquidation", p.liquidation))
        if not candidates:
            return None
        best = candidates[0]
        for cand in candidates[1:]:
            if abs(cand[1] - p.entry_price) < abs(best[1] - p.entry_price):
                best = cand
        return best

    def beyond_adverse(p: Position, price: float, level: float) -> bool:
        return price <= level if p.side == LONG else price >= level

    def beyond_tp(p: Position, price: float) -> bool:
        return price >= p.take_profit if p.side == LONG else price <= p.take_profit

    def check_open(p: Position, i: int) -> None:
        adv = nearer_adverse(p)
        if adv is not None and beyond_adverse(p, o[i], adv[1]):
            if adv[0] == "liquidation":
                close_position(p, i, adv[1], "liquidation")
            else:
                close_position(p, i, o[i], "stop")
            return
        if p.take_profit is not None and beyond_tp(p, o[i]):
            close_position(p, i, o[i], "take_profit")

    def check_range(p: Position, i: int) -> None:
        adv = nearer_adverse(p)
        worst = lo[i] if p.side == LONG else h[i]
        best = h[i] if p.side == LONG else lo[i]
        if adv is not None and beyond_adverse(p, worst, adv[1]):
            close_position(p, i, adv[1], adv[0])
            return
        if p.take_profit is not None and beyond_tp(p, best):
            close_position(p, i, p.take_profit, "take_profit")

    def act_on_signal(value: int, i: int, price: float) -> bool:
        """Apply a signal at ``price``; True when a position was opened."""
        if value == 0:
            return False
        side = LONG if value > 0 else SHORT
        if pos is None:
            open_position(side, i, price)
            return pos is not None
        if pos.side == side:
            return False
        if on_opposite == "ignore":
            return False
        close_position(pos, i, price, "signal")
        if on_opposite == "reverse":
            open_position(side, i, price)
            return pos is not None
        return False

    for i in range(n):
        if pos is not None:
            check_open(pos, i)
        if fill == "next_open" and i >= 1:
            opened = act_on_signal(sig[i - 1], i, o[i])
            if opened:
                # the fill bar is checked from its open onwards
                check_open(pos, i)
        if pos is not None:
            check_range(pos, i)
        if fill == "close":
            act_on_signal(sig[i], i, c[i])
        in_position.append(pos is not None)
        if pos is None:
            equity.append(cash)
        else:
            move = c[i] - pos.entry_price
            equity.append(cash + (move if pos.side == LONG else -move) * pos.quantity)

    if pos is not None:
        close_position(pos, n - 1, c[n - 1], "end")
        equity[n - 1] = cash
    return {"equity": equity, "trades": trades, "in_position": in_position}


def _none_if_bad(x):
    if x is None or math.isnan(x) or math.isinf(x):
        return None
    return x


def naive_metrics(
    equity, ts, trades, *, minutes_per_bar, initial_capital, in_position, rf_per_bar=0.0
) -> dict:
    """The contract's metric table, term by term, with None for null, as amended in
    docs/engine.md ("Metrics"): returns clamped at −1 and 0 after a ruin, Sharpe and
    Sortino over the geometric mean return."""
    e = [float(x) for x in equity]
    t = [int(x) for x in ts]
    n = len(e)
    out: dict = {}
    bars_per_year = 365 * 24 * 60 / minutes_per_bar

    total_return = e[-1] / initial_capital - 1
    out["total_return"] = total_return
    span_days = (t[-1] - t[0]) / 86_400_000
    if total_return <= -1:
        annual = -1.0
    else:
        try:
            annual = (1 + total_return) ** (365 / span_days) - 1
        except OverflowError:
            annual = math.inf
    out["annual_return"] = annual

    # the bar returns: clamped at −1; after the first equity <= 0 (the ruin), 0
    r = []
    ruined_at = next((i for i in range(n) if e[i] <= 0), None)
    for i in range(1, n):
        if ruined_at is not None and i > ruined_at:
            r.append(0.0)
        else:
            r.append(max(e[i] / e[i - 1] - 1, -1.0))
    mean_r = sum(r) / len(r)
    # the geometric mean: (1 + g)^m = 1 + total_return; −1 for a ruined run
    g = -1.0 if ruined_at is not None or total_return <= -1 else (1 + total_return) ** (1 / len(r)) - 1
    excess = g - rf_per_bar
    if len(r) >= 2:
        std = math.sqrt(sum((x - mean_r) ** 2 for x in r) / (len(r) - 1))
        out["volatility"] = std * math.sqrt(bars_per_year)
        out["sharpe_ratio"] = (
            excess / std * math.sqrt(bars_per_year) if std > 0 else (0.0 if excess == 0 else None)
        )
    else:
        out["volatility"] = None
        out["sharpe_ratio"] = None
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    if downside > 0:
        out["sortino_ratio"] = excess / downside * math.sqrt(bars_per_year)
    else:
        out["sortino_ratio"] = 0.0 if excess == 0 else None

    running_max = []
    peak = -math.inf
    for x in e:
        peak = max(peak, x)
        running_max.append(peak)
    out["max_drawdown"] = max(1 - e[i] / running_max[i] for i in range(n))
    below = [e[i] < running_max[i] for i in range(n)]
    longest = 0
    i = 0
    while i < n:
        if below[i]:
            start = i  # bar start-1 is the peak: it is not below its running max
            while i < n and below[i]:
                i += 1
            end = i if i < n else n - 1  # the bar that regains the peak, or the last bar
            longest = max(longest, t[end] - t[start - 1])
        else:
            i += 1
    out["max_drawdown_duration"] = longest / 86_400_000
    out["calmar_ratio"] = annual / out["max_drawdown"] if out["max_drawdown"] != 0 else None

    pnls = [tr["pnl"] for tr in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p <= 0]
    out["total_trades"] = len(trades)
    out["win_rate"] = len(wins) / len(trades) if trades else None
    gross_loss = -sum(losses)
    out["profit_factor"] = sum(wins) / gross_loss if gross_loss != 0 else None
    out["avg_trade_return"] = sum(tr["return"] for tr in trades) / len(trades) if trades else None
    out["avg_win"] = sum(wins) / len(wins) if wins else None
    out["largest_win"] = max(wins) if wins else None
    out["avg_loss"] = sum(losses) / len(losses) if losses else None
    out["largest_loss"] = min(losses) if losses else None
    out["expectancy"] = sum(pnls) / len(pnls) if pnls else None
    out["avg_bars_held"] = sum(tr["bars_held"] for tr in trades) / len(trades) if trades else None
    out["exposure"] = sum(1 for flag in in_position if flag) / n
    out["total_fees"] = sum(tr["fees"] for tr in trades)
    return {key: _none_if_bad(value) for key, value in out.items()}


# --- Statistics of returns and of sweeps (engine.stats, optimizers.overfitting) ---------


def norm_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def norm_ppf(p):
    """Φ⁻¹ by bisection on ``norm_cdf`` (independent of statistics.NormalDist)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if norm_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def naive_moments(returns):
    """(T, mean, std ddof 1, skewness, kurtosis) with population central moments."""
    t = len(returns)
    mean = sum(returns) / t
    m2 = sum((r - mean) ** 2 for r in returns) / t
    m3 = sum((r - mean) ** 3 for r in returns) / t
    m4 = sum((r - mean) ** 4 for r in returns) / t
    return t, mean, math.sqrt(m2 * t / (t - 1)), m3 / m2**1.5, m4 / m2**2


def naive_psr(sharpe, benchmark, t, skew, kurt):
    """Bailey & López de Prado (2012): Φ((SR − SR*)·√(T−1) / √(1 − γ3·SR + (γ4−1)/4·SR²))."""
    return norm_cdf(
        (sharpe - benchmark) * math.sqrt(t - 1) / math.sqrt(1 - skew * sharpe + (kurt - 1) / 4 * sharpe**2)
    )


def naive_dsr(sharpe, t, skew, kurt, n_trials, variance):  # noqa: PLR0917 (the paper's inputs)
    gamma = 0.5772156649015329
    sr0 = math.sqrt(variance) * (
        (1 - gamma) * norm_ppf(1 - 1 / n_trials) + gamma * norm_ppf(1 - 1 / (n_trials * math.e))
    )
    return naive_psr(sharpe, sr0, t, skew, kurt), sr0


def _naive_sharpe(values):
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean / std if std > 0 else 0.0


def naive_pbo(matrix, blocks):
    """CSCV as in Bailey, Borwein, López de Prado & Zhu (2015), step by step, over a list
    of T rows of N returns: blocks of rows (sizes as numpy.array_split), every half of the
    blocks as the training set, the best training Sharpe's relative test rank, its logit.
    Returns (pbo, logits)."""
    from itertools import combinations

    t, n = len(matrix), len(matrix[0])
    sizes = [t // blocks + (1 if b < t % blocks else 0) for b in range(blocks)]
    starts = [sum(sizes[:b]) for b in range(blocks)]
    parts = [matrix[starts[b] : starts[b] + sizes[b]] for b in range(blocks)]
    logits = []
    for train_ids in combinations(range(blocks), blocks // 2):
        train_rows = [row for b in train_ids for row in parts[b]]
        test_rows = [row for b in range(blocks) if b not in train_ids for row in parts[b]]
        train = [_naive_sharpe([row[j] for row in train_rows]) for j in range(n)]
        test = [_naive_sharpe([row[j] for row in test_rows]) for j in range(n)]
        best = train.index(max(train))
        below = sum(1 for v in test if v < test[best])
        equal = sum(1 for v in test if v == test[best])
        omega = (below + (equal + 1) / 2) / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
    return sum(1 for x in logits if x <= 0) / len(logits), logits


def naive_quantile(values, p):
    """numpy's default (linear) quantile, by hand."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])
