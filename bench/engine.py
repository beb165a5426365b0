"""Benchmark of one full HYPERRSI backtest over 1,000,000 one-minute candles.

Run: ``.venv/bin/python bench/engine.py [--bars N] [--repeat R]``

Prints
- the JIT compile time of a cold process (fresh Numba cache: first ``run_backtest``), and
  the start of a process that finds the on-disk cache (``cache=True``) warm;
- after warm-up, the median of R runs of: ``run_backtest`` (validation + indicators +
  signals + simulation + metrics; HYPERRSI takes the fused path), the same with the bar
  length inferred from ts, the bare fused kernel on preallocated buffers, the unfused
  path (``strategy.signals`` + ``simulate``, what ``run_backtest`` ran before the fused
  kernel) and its bare kernels, and the stages of both;
- the memory floor: the median time numpy takes to sum the five OHLCV columns (every
  backtest must read at least that much), and each figure as a multiple of it, both of
  the floor's median (columns hot in cache: the stricter ratio) and of the floor run just
  before each run (columns evicted by the previous run: the machine is shared, and
  pairing the runs also keeps the ratio steady while the load drifts);
- the load average, since other work on the machine moves every figure.

Figures, not assertions: performance is tracked by reading these numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

PARAMS = {
    "rsi_period": 14,
    "rsi_oversold": 30,
    "rsi_overbought": 70,
    "entry_option": "reverse",
    "use_trend_filter": True,
    "trend_ema_period": 200,
    "leverage": 3,
    "stop_loss_percent": 2.0,
    "take_profit_percent": 4.0,
}
EXECUTION = {"initial_capital": 10000.0, "fee_rate": 0.0004, "slippage_bps": 1.0, "fill": "next_open"}


def make_candles(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """n one-minute candles of a seeded geometric random walk (with wicks and gaps)."""
    rng = np.random.default_rng(seed)
    close = 30000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n)))
    open_ = np.r_[30000.0, close[:-1]] * np.exp(rng.normal(0.0, 0.0001, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.0005, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.0005, n)))
    return {
        "ts": 1_600_000_000_000 + np.arange(n, dtype=np.int64) * 60_000,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": rng.uniform(1.0, 100.0, n),
    }


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_seconds(fn, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    return statistics.median(_seconds(fn) for _ in range(repeat))


def against_floor(fn, floor, repeat: int, warmup: int = 2) -> tuple[float, float]:
    """(median seconds of ``fn``, median of fn / floor over adjacent pairs of runs).

    The machine is shared: timing the floor right next to each run makes the ratio
    robust to the load drifting during the benchmark.
    """
    for _ in range(warmup):
        fn()
    times, ratios = [], []
    for _ in range(repeat):
        base = _seconds(floor)
        spent = _seconds(fn)
        times.append(spent)
        ratios.append(spent / base)
    return statistics.median(times), statistics.median(ratios)


def child_first_call() -> None:
    """In a fresh process: time the import and the first backtest (which compiles)."""
    start = time.perf_counter()
    from engine import run_backtest
    from strategies.registry import get_strategy

    imported = time.perf_counter()
    run_backtest(make_candles(5000), get_strategy("hyperrsi"), PARAMS, EXECUTION)
    done = time.perf_counter()
    print(f"{imported - start:.6f} {done - imported:.6f}")


def first_call_in_new_process(cache_dir: str) -> tuple[float, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_first_call()
        return

    with tempfile.TemporaryDirectory() as cache_dir:
        cold_import, cold_first = first_call_in_new_process(cache_dir)
        warm_import, warm_first = first_call_in_new_process(cache_dir)
    for label, imported, first in (
        ("cold process, empty Numba cache:", cold_import, cold_first),
        ("new process, warm Numba cache:", warm_import, warm_first),
    ):
        print(f"{label:33s} import {imported * 1e3:5.0f} ms, first backtest (compile or load) {first:6.2f} s")

    from engine import ExecutionConfig, blocks_nb, run_backtest, simulate
    from engine.enums import trade_dt
    from engine.metrics_nb import metrics_from_sums_nb, metrics_nb, metrics_start
    from engine.nb import sim_setup, sim_start, simulate_nb
    from strategies import hyperrsi_fused_nb as fused_nb
    from strategies import hyperrsi_nb, indicators_nb
    from strategies.registry import get_strategy

    n = args.bars
    c = make_candles(n)
    cfg = ExecutionConfig.from_mapping(EXECUTION)
    strategy = get_strategy("hyperrsi")
    full_params = strategy.with_defaults(PARAMS)
    lev, sl, tp = 3.0, 2.0, 4.0
    xrec = cfg.record(lev, sl, tp)
    columns = (c["ts"], c["open"], c["high"], c["low"], c["close"], c["volume"])

    def floor():
        for key in ("open", "high", "low", "close", "volume"):
            c[key].sum()

    # buffers allocated once, as a sweep would reuse them
    rsi = np.empty(n)
    ema = np.empty(n)
    sig = np.empty(n, dtype=np.int8)
    equity = np.empty(n)
    trades = np.empty(n, dtype=trade_dt)

    def fused_kernel():
        out = fused_nb.hyperrsi_backtest_nb(
            *columns, 14, indicators_nb.RSI_WILDER, 30.0, 70.0, hyperrsi_nb.ENTRY_REVERSE, True, 200, xrec,
            equity, trades,
        )  # fmt: skip
        _, _, k, exposed, *sums = out
        return metrics_from_sums_nb(
            *sums,
            equity[n - 1],
            c["ts"][0],
            c["ts"][n - 1],
            n,
            trades[:k],
            1.0,
            cfg.initial_capital,
            exposed,
            0.0,
        )

    def indicators():
        indicators_nb.rsi_wilder_into(rsi, c["close"], 14)
        indicators_nb.ema_into(ema, c["close"], 200)

    def signals():
        hyperrsi_nb.hyperrsi_signals_into(sig, c["close"], rsi, ema, 14, 30.0, 70.0, 0, True)

    def simulation():
        return simulate_nb(c["ts"], c["open"], c["high"], c["low"], c["close"], sig, xrec, equity, trades)

    indicators()
    signals()
    n_trades, n_exposed = simulation()

    def metrics():
        metrics_nb(equity, c["ts"], trades[:n_trades], 1.0, cfg.initial_capital, n_exposed, 0.0)

    def bare():
        indicators()
        signals()
        simulation()
        metrics()

    def full():
        return run_backtest(c, get_strategy("hyperrsi"), PARAMS, cfg, timeframe_minutes=1.0)

    def full_inferred():
        return run_backtest(c, get_strategy("hyperrsi"), PARAMS, cfg)

    def unfused():
        raw = strategy.signals(full_params, c["open"], c["high"], c["low"], c["close"], c["volume"])
        return simulate(
            c["ts"], c["open"], c["high"], c["low"], c["close"], raw, cfg, leverage=lev, stop_loss_percent=sl,
            take_profit_percent=tp, timeframe_minutes=1.0,
        )  # fmt: skip

    # The fused kernel's stages, each run alone over all bars in one call. Inside the
    # kernel they run a block of 2048 bars at a time with the block in the cache; timed
    # block by block from Python, the dispatch of each call would dominate.
    start = 30
    all_sig = np.empty(n, dtype=np.int8)
    params_tuple, state0, acc0 = _fused_states(sim_setup, sim_start, metrics_start, xrec, c["ts"])

    def fused_check():
        blocks_nb.check_block(*columns, 1, n, 60_000)

    def fused_signals():
        rsi_state = (0.1, 0.1, 0, 0, 0, False, False)
        alpha = 2.0 / 201.0
        fused_nb._signals_block(
            c["close"], start, n, all_sig[start:], rsi_state, c["close"][0], alpha, False, 14, False, True,
            30.0, 70.0,
        )  # fmt: skip

    def fused_simulation():
        blocks_nb.simulate_block(
            c["ts"], c["open"], c["high"], c["low"], c["close"], 0, n, all_sig, state0, params_tuple, 0, True,
            equity, trades,
        )  # fmt: skip

    prices = (c["open"], c["high"], c["low"], c["close"], c["volume"])

    def fused_metrics():
        # an empty range ahead: nothing to prefetch when the stage runs alone
        blocks_nb.metrics_block(acc0, equity, c["ts"], 1, n - 1, prices, n, n)

    all_sig[:start] = 0
    fused_signals()

    result = full()
    check = unfused()
    same = (
        np.array_equal(result.equity, check.equity)
        and result.trades.tobytes() == check.trades.tobytes()
        and result.metrics == check.metrics
    )
    t_floor = median_seconds(floor, args.repeat)
    rows = [
        ("run_backtest (timeframe given)", full),
        ("run_backtest (timeframe inferred)", full_inferred),
        ("fused kernel alone, preallocated", fused_kernel),
        ("  its stages, each alone over all bars:", None),
        ("  candle check", fused_check),
        ("  indicators + signals", fused_signals),
        ("  simulation", fused_simulation),
        ("  metric sums", fused_metrics),
        ("unfused: strategy.signals + simulate", unfused),
        ("unfused bare kernels, preallocated", bare),
        ("  indicators (RSI + EMA)", indicators),
        ("  signals", signals),
        ("  simulation", simulation),
        ("  metrics", metrics),
    ]
    stage_runs = [full().timings for _ in range(args.repeat)]
    stages = {key: statistics.median(t[key] for t in stage_runs) for key in stage_runs[0]}

    print(f"\n{n:,} one-minute bars, HYPERRSI {PARAMS}")
    print(f"{result.metrics['total_trades']} trades, total_return {result.metrics['total_return']:.4f}")
    print(f"run_backtest (fused) == unfused path, bit for bit: {same}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    print(f"median of {args.repeat} runs after warm-up; 'x floor' = median / floor median (the floor's")
    print("columns hot in cache); 'x adjacent' = median of run / floor run right before it (the")
    print("floor after the run has evicted the columns: closer to a cold read of memory)")
    print(f"{'':38s} {'median':>11s} {'x floor':>8s} {'x adjacent':>10s}")
    print(f"{'floor: numpy sum of 5 OHLCV columns':38s} {t_floor * 1e3:8.2f} ms {1:7.2f}x")
    for label, fn in rows:
        if fn is None:
            print(label)
            continue
        seconds, ratio = against_floor(fn, floor, args.repeat)
        print(f"{label:38s} {seconds * 1e3:8.2f} ms {seconds / t_floor:7.2f}x {ratio:9.2f}x")
    print("run_backtest stages (median of BacktestResult.timings; fused: 'simulate' is the kernel):")
    for key, seconds in stages.items():
        print(f"  {key:36s} {seconds * 1e3:8.2f} ms {seconds / t_floor:7.2f}x")


def _fused_states(sim_setup, sim_start, metrics_start, xrec, ts):
    """The params, start state and metric accumulators the fused kernel's stages take
    (built by the engine's own step functions, compiled for the call)."""
    from numba import njit

    @njit
    def build(xrec, ts0):
        params, capital, _ = sim_setup(xrec)
        return params, sim_start(capital), metrics_start(capital, ts0)

    return build(xrec, ts[0])


if __name__ == "__main__":
    main()
