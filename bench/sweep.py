"""Benchmark sweeps: the parallel kernel, the django-q2 path end to end, and a genetic run.

    .venv/bin/python bench/sweep.py [--bars 100000] [--parts kernel,queue,genetic] [--workers 2]

1. kernel: a 1,000-combination HYPERRSI grid over ``--bars`` hourly bars (a seeded
   random walk) through ``optimizers.evaluate.Evaluator`` (indicator table + the
   ``prange`` kernel), after one warm-up call that loads the compiled kernels. Target on
   the project's 2-core machine: under 1 s.
2. queue: the same grid as a stored Sweep spec, over the same bars stored in
   TimescaleDB, through ``sweep_create`` → Redis → a real ``qcluster`` subprocess
   (``--workers`` worker processes) → SweepChunk and Trial rows, until ``succeeded``.
   A small sweep runs first to warm the workers (their first task loads the compiled
   kernels); its time is printed as the cold start. Target: under 10 s.
3. genetic: 100 generations x 50 individuals over the same bars with ``run_genetic``
   in this process. Target: under 10 s. (``--parts genetic-queue`` also runs it through
   the queue, one coordinator round trip per generation.)

Runs with the normal settings against the services in ``.services/env`` under the user
``bench-sweep`` and the symbol BENCH-SWEEP, all deleted afterwards. Numba uses
NUMBA_NUM_THREADS threads (default: every core).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from services_env import REPO, django_setup

SYMBOL = "BENCH-SWEEP"
USER = "bench-sweep"
T0_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z: 100,000 hourly bars end in 2026
CLUSTER = "bench-sweep"

GRID = """\
  rsi_period: {min: 5, max: 23, step: 2}
  rsi_oversold: {values: [20, 25, 30, 35]}
  stop_loss_percent: {min: 0.5, max: 2.5, step: 0.5}
  trend_ema_period: {values: [100, 150, 200, 250, 300]}
"""  # 10 x 4 x 5 x 5 = 1,000 combinations
GENETIC_SPACE = """\
  rsi_period: {min: 2, max: 50, step: 1}
  rsi_oversold: {min: 10, max: 45, step: 1}
  rsi_overbought: {min: 55, max: 90, step: 1}
  stop_loss_percent: {min: 0.5, max: 10, step: 0.5}
  trend_ema_period: {min: 50, max: 500, step: 10}
  entry_option: {values: [reverse, follow]}
"""


def _walk(n: int):
    import numpy as np

    rng = np.random.default_rng(20240101)
    ts = T0_MS + np.arange(n, dtype=np.int64) * 3_600_000
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.006, n)))
    open_ = np.concatenate([[30_000.0], close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.003, (2, n)))
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    return {"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": np.full(n, 100.0)}


def _spec_text(name: str, method: str, space: str, extra: str = "") -> str:
    return (
        "kind: Backtest\nname: bench-base\nstrategy: hyperrsi\n"
        "params: {rsi_period: 14, leverage: 3, stop_loss_percent: 2.0}\n"
        f"market: {{symbol: {SYMBOL}, timeframe: 1h, start: 2015-01-01, end: 2030-01-01}}\n"
        "execution: {fee_rate: 0.0004, slippage_bps: 1, fill: next_open}\n"
        f"---\nkind: Sweep\nname: {name}\nbacktest: bench-base\nmethod: {method}\nspace:\n{space}"
        f"objective: {{metric: sharpe_ratio, min_trades: 10}}\n{extra}"
    )


def _line(step: str, seconds: float, note: str = "") -> str:
    return f"  {step:<34}{seconds:>8.3f} s  {note}".rstrip()


def bench_kernel(bars: dict, verdicts: list) -> None:
    import numpy as np

    from optimizers.evaluate import Evaluator, full_columns
    from optimizers.grid import grid_columns
    from optimizers.space import Space
    from strategies.registry import get_strategy

    st = get_strategy("hyperrsi")
    import yaml

    space = Space.from_mapping(yaml.safe_load(GRID), st.params_schema)
    columns, size = grid_columns(space, max_combinations=10**6, first=("rsi_period", "trend_ema_period"))
    base = {"rsi_period": 14, "leverage": 3, "stop_loss_percent": 2.0}
    full = full_columns(st.defaults(), base, columns)
    execution = {"fee_rate": 0.0004, "slippage_bps": 1, "fill": "next_open"}

    t = time.perf_counter()
    warm = Evaluator(bars, "hyperrsi", execution)
    warm.evaluate(full_columns(st.defaults(), base, {k: v[:4] for k, v in columns.items()}))
    print(_line("warm-up (load compiled kernels)", time.perf_counter() - t))

    best = None
    for _ in range(3):
        evaluator = Evaluator(bars, "hyperrsi", execution)  # a fresh indicator table each time
        t = time.perf_counter()
        rows = evaluator.evaluate(full)
        seconds = time.perf_counter() - t
        if best is None or seconds < best[0]:
            best = (seconds, dict(evaluator.timings), evaluator.table.computed)
    seconds, timings, computed = best
    n = len(bars["ts"])
    print(
        _line(
            f"grid {size:,} x {n:,} bars (best of 3)",
            seconds,
            f"{size / seconds:,.0f} combinations/s, {size * n / seconds / 1e6:,.0f} M bar-steps/s; "
            f"indicators {timings['indicators']:.3f} s ({computed} rows), kernel {timings['kernel']:.3f} s",
        )
    )
    trades = rows[:, 8]
    print(
        f"  {'':34}trades per combination: min {trades.min():.0f}, "
        f"median {np.median(trades):.0f}, max {trades.max():.0f}"
    )
    verdicts.append(("kernel grid 1,000 x 100,000", seconds, 1.0))


class Cluster:
    """A ``manage.py qcluster`` subprocess; ``ready()`` waits for its workers' log lines."""

    def __init__(self, workers: int):
        env = dict(os.environ, Q_WORKERS=str(workers), Q_SYNC="0", PYTHONUNBUFFERED="1")
        self.workers = workers
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), "qcluster"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.ready_lines = 0
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.log.append(line)
            if "ready for work" in line:
                self.ready_lines += 1

    def ready(self, timeout: float = 60.0) -> None:
        until = time.monotonic() + timeout
        while self.ready_lines < self.workers:
            if self.proc.poll() is not None or time.monotonic() > until:
                raise RuntimeError("qcluster did not start:\n" + "".join(self.log[-20:]))
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                # django-q's graceful stop can wait for its broker poll; nothing is in
                # flight any more, so do not wait long for it
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _sweep_through_queue(spec, owner, timeout: float = 600.0):
    from optimizers import services
    from optimizers.models import OptimizationRun

    t = time.perf_counter()
    run = services.sweep_create(spec=spec, owner=owner)
    created = time.perf_counter() - t
    while True:
        run = OptimizationRun.objects.get(pk=run.pk)
        if run.is_final:
            return run, time.perf_counter() - t, created
        if time.perf_counter() - t > timeout:
            raise RuntimeError(f"sweep {run.pk} still {run.status} after {timeout} s")
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--parts", default="kernel,queue,genetic")
    parser.add_argument("--workers", type=int, default=2, help="qcluster worker processes")
    parser.add_argument("--chunk-size", type=int, default=125)
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    # This bench's own queue, and tasks sent to it (not run inline).
    os.environ["Q_SYNC"] = "0"
    os.environ["Q_CLUSTER_NAME"] = CLUSTER
    django_setup()
    import logging

    import numba

    logging.getLogger("django-q").setLevel(logging.WARNING)

    print(
        f"bench/sweep.py: {args.bars:,} hourly bars, {os.cpu_count()} cores, "
        f"{numba.get_num_threads()} Numba threads"
    )
    bars = _walk(args.bars)
    verdicts: list[tuple[str, float, float]] = []
    if "kernel" in parts:
        bench_kernel(bars, verdicts)
    if parts & {"queue", "genetic", "genetic-queue"}:
        bench_database(args, bars, parts, verdicts)
    for label, seconds, target in verdicts:
        verdict = "ok" if seconds < target else "MISSED"
        print(f"  target {label} < {target:g} s: {verdict} ({seconds:.3f} s)")
    return 0


def bench_database(args, bars, parts, verdicts) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from marketdata.parse import RawCandles
    from marketdata.services import candles_delete, candles_ingest
    from optimizers.evaluate import Evaluator
    from optimizers.genetic import GeneticSearch, run_genetic
    from optimizers.models import OptimizationRun
    from optimizers.services import _scorer, sweep_config, sweep_plan
    from specs.models import Spec
    from specs.services import spec_apply

    if "optimizers_trial" not in connection.introspection.table_names():
        call_command("migrate", verbosity=0, skip_checks=True)
    User = get_user_model()
    owner, _ = User.objects.get_or_create(username=USER)
    cluster = None
    try:
        candles_delete(symbol=SYMBOL)
        t = time.perf_counter()
        raw = RawCandles.from_arrays(**bars, source="bench/sweep.py")
        candles_ingest(symbol=SYMBOL, timeframe="1h", raw=raw, source="bench/sweep.py")
        print(_line(f"store {args.bars:,} bars (setup)", time.perf_counter() - t))
        grid = _spec_text("bench-grid", "grid", GRID, f"chunk_size: {args.chunk_size}\n")
        warm = _spec_text(
            "bench-warm", "grid", "  rsi_period: {values: [10, 12, 14, 16]}\n", "chunk_size: 1\n"
        )
        genetic = _spec_text(
            "bench-genetic",
            "genetic",
            GENETIC_SPACE,
            "genetic: {population: 50, generations: 100, seed: 42}\nchunk_size: 25\n",
        )
        spec_apply(text=grid, owner=owner, source="bench-grid.yaml")
        spec_apply(text=warm, owner=owner, source="bench-warm.yaml")
        spec_apply(text=genetic, owner=owner, source="bench-genetic.yaml")

        def spec(name):
            return Spec.objects.latest_version(owner=owner, kind="Sweep", name=name)

        if parts & {"queue", "genetic-queue"}:
            t = time.perf_counter()
            cluster = Cluster(args.workers)
            cluster.ready()
            print(_line(f"qcluster start ({args.workers} workers)", time.perf_counter() - t))
            run, seconds, _ = _sweep_through_queue(spec("bench-warm"), owner)
            print(_line("cold start: 4-chunk warm-up sweep", seconds, f"{run.status}"))
        if "queue" in parts:
            run, seconds, created = _sweep_through_queue(spec("bench-grid"), owner)
            workers = sorted(set(run.chunks.values_list("worker", flat=True)))
            print(
                _line(
                    "queue: grid 1,000 end to end",
                    seconds,
                    f"{run.status}; {run.evaluated:,} trials in {run.chunks_total} chunks on {len(workers)} "
                    f"workers; create {created:.3f} s, evaluation {run.eval_seconds:.3f} s "
                    "summed over chunks",
                )
            )
            if run.status != "succeeded":
                print(f"  ERROR: {run.error}")
            verdicts.append(("queue grid 1,000 end to end", seconds, 10.0))
        if "genetic" in parts:
            sweep = spec("bench-genetic")
            plan = sweep_plan(sweep_config(sweep, sweep.backtest_spec()))
            evaluator = Evaluator(bars, "hyperrsi", plan.execution)
            t = time.perf_counter()
            result = run_genetic(
                GeneticSearch(plan.space, plan.constraints, plan.genetic),
                _scorer(plan, evaluator, 0, args.bars),
            )
            seconds = time.perf_counter() - t
            first, last = result.history[0], result.history[-1]
            print(
                _line(
                    "genetic 100 x 50 in process",
                    seconds,
                    f"{len(result.history)} generations, {len(result.trials):,} distinct individuals "
                    f"evaluated; kernel {evaluator.timings['kernel']:.3f} s, indicators "
                    f"{evaluator.timings['indicators']:.3f} s ({evaluator.table.computed} rows); "
                    f"best sharpe {first.best:.3f} → {last.best_so_far:.3f}",
                )
            )
            verdicts.append(("genetic 100 x 50 in process", seconds, 10.0))
        if "genetic-queue" in parts:
            run, seconds, _ = _sweep_through_queue(spec("bench-genetic"), owner)
            print(
                _line(
                    "genetic 100 x 50 through the queue",
                    seconds,
                    f"{run.status}; {len(run.generation_stats)} generations, {run.evaluated:,} trials, "
                    f"evaluation {run.eval_seconds:.3f} s summed over chunks",
                )
            )
            if run.status != "succeeded":
                print(f"  ERROR: {run.error}")
    finally:
        if cluster is not None:
            cluster.stop()
        OptimizationRun.objects.filter(owner=owner).delete()
        Spec.objects.filter(owner=owner, kind="Sweep").delete()
        Spec.objects.filter(owner=owner).delete()
        owner.delete()
        candles_delete(symbol=SYMBOL)


if __name__ == "__main__":
    sys.exit(main())
