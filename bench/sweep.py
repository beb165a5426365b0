"""Benchmark sweeps: the kernel against a hand-written one, the django-q2 path, scaling, genetic.

    .venv/bin/python bench/sweep.py [--parts kernel,queue,scaling,genetic] [--repeat 9] [--workers 2]

1. kernel: a 1,000-combination HYPERRSI grid (rsi_period x rsi_oversold x
   rsi_overbought, 10 x 10 x 10; trend filter, leverage 3, stop 2 %) over 100,000
   one-minute bars (``bench/engine.py``'s seeded random walk), measured side by side
   in one run, interleaved, ``--repeat`` times: the project's
   ``optimizers.evaluate.Evaluator`` (indicator table + the parallel kernel, every
   contract metric per combination, a fresh table each time) and
   ``bench/straight_nb.py``, a straightforward ``prange`` kernel written for this one
   study (one RSI row per period, everything inline). Prints medians of wall and CPU
   time, their ratio (target <= 1.2), the load average, and how far the two kernels'
   metrics are apart (they must agree: the same work is being timed).
2. queue: a 1,000-combination grid as a stored Sweep spec over 100,000 hourly bars in
   TimescaleDB, through ``sweep_create`` -> Redis -> a real ``qcluster`` subprocess
   (``--workers``) -> SweepChunk and Trial rows, until ``succeeded``. A small sweep
   runs first to warm the workers; its time is printed as the cold start.
3. scaling: a 10,000-combination grid over the same bars through a real qcluster of
   1, 2 and 4 workers (each worker with cores / workers Numba threads), chunk size by
   the rule of ``optimizers.chunking`` (the spec sets none).
4. genetic: 100 generations x 50 individuals with ``run_genetic`` in this process.
   (``--parts genetic-queue`` also runs it through the queue.)

Runs with the normal settings against the services in ``.services/env`` under the user
``bench-sweep`` and the symbol BENCH-SWEEP, all deleted afterwards. Numba uses
NUMBA_NUM_THREADS threads (default: every core).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
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
SCALING_GRID = """\
  rsi_period: {min: 5, max: 23, step: 2}
  rsi_oversold: {min: 16, max: 34, step: 2}
  rsi_overbought: {min: 66, max: 84, step: 2}
  stop_loss_percent: {min: 0.5, max: 5.0, step: 0.5}
"""  # 10 x 10 x 10 x 10 = 10,000 combinations
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

    from tests.walks import random_walk

    def volume(rng, n):
        return np.full(n, 100.0)

    return random_walk(
        n, first_ms=T0_MS, step_ms=3_600_000, seed=20240101, sigma=0.006, price=30_000.0, volume=volume
    )


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


KERNEL_AXES = {  # 10 x 10 x 10
    "rsi_period": list(range(5, 24, 2)),
    "rsi_oversold": list(range(16, 35, 2)),
    "rsi_overbought": list(range(66, 85, 2)),
}
KERNEL_BASE = {"use_trend_filter": True, "trend_ema_period": 200, "leverage": 3, "stop_loss_percent": 2.0}
KERNEL_EXECUTION = {"initial_capital": 10_000.0, "fee_rate": 0.0004, "slippage_bps": 1.0, "fill": "next_open"}


def _bench_engine():
    """bench/engine.py, for its one-minute candles (by path: ``engine`` is the project's)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_engine", REPO / "bench" / "engine.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _kernel_grid():
    import numpy as np

    mesh = np.meshgrid(*KERNEL_AXES.values(), indexing="ij")
    return {name: axis.ravel().astype(np.int64) for name, axis in zip(KERNEL_AXES, mesh, strict=True)}


def _straight(candles, grid) -> np.ndarray:  # noqa: F821 (numpy imported lazily)
    """The hand-written kernel's whole job: its indicator rows, then its ``prange``."""
    import numpy as np
    from straight_nb import straight_sweep_nb

    from strategies.indicators_nb import ema, rsi_wilder

    close = candles["close"]
    periods = np.array(KERNEL_AXES["rsi_period"], dtype=np.int64)
    rsi_rows = np.empty((periods.shape[0], close.shape[0]))
    for k, period in enumerate(periods.tolist()):
        rsi_rows[k] = rsi_wilder(close, period)
    trend = ema(close, KERNEL_BASE["trend_ema_period"])
    out = np.empty((grid["rsi_period"].shape[0], 20))
    ex = KERNEL_EXECUTION
    straight_sweep_nb(
        candles["ts"], candles["open"], candles["high"], candles["low"], close, rsi_rows, trend,
        np.searchsorted(periods, grid["rsi_period"]), np.maximum(2 * grid["rsi_period"], 30),
        grid["rsi_oversold"].astype(np.float64), grid["rsi_overbought"].astype(np.float64),
        ex["initial_capital"], ex["fee_rate"], ex["slippage_bps"], float(KERNEL_BASE["leverage"]),
        KERNEL_BASE["stop_loss_percent"], 0.005, 1.0, out,
    )  # fmt: skip
    return out


def bench_kernel(repeat: int, verdicts: list) -> None:
    import numpy as np

    from engine.enums import M_TOTAL_TRADES
    from optimizers.evaluate import Evaluator, full_columns
    from strategies.registry import get_strategy

    candles = _bench_engine().make_candles(100_000)
    grid = _kernel_grid()
    full = full_columns(get_strategy("hyperrsi").defaults(), KERNEL_BASE, grid)

    def project():
        return Evaluator(candles, "hyperrsi", KERNEL_EXECUTION).evaluate(full)  # a fresh table each time

    t = time.perf_counter()
    ours = project()
    theirs = _straight(candles, grid)
    print(_line("warm-up (load compiled kernels)", time.perf_counter() - t))
    if not np.array_equal(ours[:, M_TOTAL_TRADES], theirs[:, M_TOTAL_TRADES]):
        raise SystemExit("the two kernels disagree on the trades: they are not doing the same work")
    apart = np.nanmax(np.abs(ours - theirs) / np.maximum(np.abs(ours), 1e-12))
    wall: dict[str, list[float]] = {"project": [], "straight": []}
    cpu: dict[str, list[float]] = {"project": [], "straight": []}
    pairs = []
    for _ in range(repeat):
        for name, fn in (("project", project), ("straight", lambda: _straight(candles, grid))):
            w, c = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
        pairs.append(wall["project"][-1] / wall["straight"][-1])
    med = statistics.median
    size, n = full["rsi_period"].shape[0], len(candles["ts"])
    for name, label in (
        ("project", "project kernel (Evaluator)"),
        ("straight", "straightforward prange kernel"),
    ):
        print(
            _line(
                f"{label}",
                med(wall[name]),
                f"median of {repeat}; CPU {med(cpu[name]):.3f} s; "
                f"{size * n / med(wall[name]) / 1e6:,.0f} M bar-steps/s",
            )
        )
    ratio = med(wall["project"]) / med(wall["straight"])
    print(
        f"  {'ratio project / straightforward':<34}{ratio:>8.2f}    wall medians; "
        f"paired runs {med(pairs):.2f}; "
        f"CPU {med(cpu['project']) / med(cpu['straight']):.2f}; load average {os.getloadavg()[0]:.2f}"
    )
    trades = ours[:, M_TOTAL_TRADES]
    print(
        f"  {'':34}{size:,} combinations x {n:,} one-minute bars; trades per combination "
        f"{trades.min():.0f}-{trades.max():.0f}; metrics apart by at most {apart:.1e} (relative)"
    )
    verdicts.append(("ratio project / straightforward kernel", ratio, 1.2))


def _cluster(workers: int, threads: int | None = None):
    """A ready qcluster of ``workers`` on this bench's queue (tests/qcluster.py's process
    helper), each worker with ``threads`` Numba threads (default: NUMBA_NUM_THREADS)."""
    from tests.qcluster import QclusterProcess

    env = dict(os.environ)
    if threads:
        env["NUMBA_NUM_THREADS"] = str(threads)
    cluster = QclusterProcess(env, workers=workers)
    cluster.wait_ready()
    return cluster


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
    parser.add_argument("--parts", default="kernel,queue,scaling,genetic")
    parser.add_argument("--repeat", type=int, default=9, help="kernel: runs of each kernel")
    parser.add_argument("--workers", type=int, default=2, help="queue: qcluster worker processes")
    parser.add_argument("--scaling", default="1,2,4", help="scaling: worker counts")
    parser.add_argument("--scaling-repeat", type=int, default=3, help="scaling: sweeps per worker count")
    parser.add_argument("--chunk-size", type=int, help="queue: chunk size (default: the automatic rule)")
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
        f"bench/sweep.py: {os.cpu_count()} cores, {numba.get_num_threads()} Numba threads, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    verdicts: list[tuple[str, float, float]] = []
    if "kernel" in parts:
        bench_kernel(args.repeat, verdicts)
    if parts & {"queue", "scaling", "genetic", "genetic-queue"}:
        print(f"  database parts: {args.bars:,} hourly bars")
        bench_database(args, _walk(args.bars), parts, verdicts)
    for label, value, target in verdicts:
        verdict = "ok" if value <= target else "MISSED"
        print(f"  target {label} <= {target:g}: {verdict} ({value:.3f})")
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
    from optimizers.services.coordinator import _scorer
    from optimizers.services.plan import sweep_config, sweep_plan
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
        chunking = f"chunk_size: {args.chunk_size}\n" if args.chunk_size else ""
        grid = _spec_text("bench-grid", "grid", GRID, chunking)
        scaling = _spec_text("bench-scaling", "grid", SCALING_GRID)
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
        spec_apply(text=scaling, owner=owner, source="bench-scaling.yaml")

        def spec(name):
            return Spec.objects.latest_version(owner=owner, kind="Sweep", name=name)

        if parts & {"queue", "genetic-queue"}:
            t = time.perf_counter()
            cluster = _cluster(args.workers)
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
        if "scaling" in parts:
            if cluster is not None:
                cluster.stop(grace=5)
                cluster = None
            for workers in [int(w) for w in args.scaling.split(",")]:
                threads = max(1, (os.cpu_count() or 1) // workers)
                cluster = _cluster(workers, threads)
                _sweep_through_queue(spec("bench-warm"), owner)
                walls, kernel = [], []
                for _ in range(args.scaling_repeat):
                    run, seconds, _ = _sweep_through_queue(spec("bench-scaling"), owner)
                    if run.status != "succeeded":
                        print(f"  ERROR: {run.error}")
                    walls.append(seconds)
                    kernel.append(run.eval_seconds)
                wall = statistics.median(walls)
                per = statistics.median(kernel) / max(run.evaluated, 1)
                print(
                    _line(
                        f"scaling: grid 10,000, {workers} worker{'s' if workers > 1 else ''}",
                        wall,
                        f"median of {len(walls)}; {run.chunks_total} chunks "
                        f"of ~{run.evaluated // run.chunks_total} "
                        f"x {threads} Numba thread{'s' if threads > 1 else ''}; "
                        f"{run.evaluated / wall:,.0f} combinations/s; kernel {per * 1e3:.2f} ms per "
                        f"combination in its chunk; load average {os.getloadavg()[0]:.2f}",
                    )
                )
                cluster.stop(grace=5)
                cluster = None
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
            # django-q's graceful stop can wait for its broker poll; nothing is in
            # flight any more, so do not wait long for it
            cluster.stop(grace=5)
        OptimizationRun.objects.filter(owner=owner).delete()
        Spec.objects.filter(owner=owner, kind="Sweep").delete()
        Spec.objects.filter(owner=owner).delete()
        owner.delete()
        candles_delete(symbol=SYMBOL)


if __name__ == "__main__":
    sys.exit(main())
