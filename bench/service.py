"""Benchmark the service path of a backtest run: queue → worker → results saved.

    .venv/bin/python bench/service.py [--runs 20] [--bars 100000]

Stores ``--bars`` one-minute candles under a bench symbol, applies a HYPERRSI
Backtest spec, starts one real ``qcluster`` with one worker, queues ``--runs`` runs at
once (each with a different rsi_period, so nothing is shared but the cached candles)
and prints the median queue-to-finish time (queued_at to finished_at, which
includes waiting behind the other runs in the queue), a run's own time (started_at to
finished_at) and the median split of a run into load (candles from the cached reader),
engine and save. Goal: under 1 s per run. Uses the normal settings and the services
in .services/env, its own queue name, and deletes what it created.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from services_env import django_setup

QUEUE = f"bench-service-{os.getpid()}"
SYMBOL = "BENCH-SERVICE"
SPEC = """\
kind: Backtest
name: bench-service
strategy: hyperrsi
params: {rsi_period: 14, use_trend_filter: true, leverage: 3, stop_loss_percent: 2.0}
market: {symbol: BENCH-SERVICE, timeframe: 1m, start: 2020-01-01, end: 2021-01-01}
execution: {fee_rate: 0.0004, slippage_bps: 1}
"""


def _walk(n: int):
    from tests.walks import gamma_volume, random_walk

    first_ms = 1_577_836_800_000  # 2020-01-01T00:00:00Z
    return random_walk(
        n, first_ms=first_ms, step_ms=60_000, seed=7, sigma=0.0008, price=30_000.0, volume=gamma_volume
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bars", type=int, default=100_000)
    args = parser.parse_args()
    django_setup(Q_CLUSTER_NAME=QUEUE)

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from backtests import services
    from backtests.models import BacktestRun
    from jobs.models import FINAL_STATUSES, JobStatus
    from marketdata.parse import RawCandles
    from marketdata.services import candles_delete, candles_ingest
    from specs.models import Spec
    from specs.services import spec_apply

    user, _ = get_user_model().objects.get_or_create(username="bench-service")
    candles_ingest(symbol=SYMBOL, timeframe="1m", raw=RawCandles.from_arrays(**_walk(args.bars)))
    spec_apply(text=SPEC, owner=user, source="bench")
    spec = Spec.objects.filter(owner=user, name="bench-service").order_by("-version").first()

    from tests.qcluster import QclusterProcess

    worker = QclusterProcess(dict(os.environ), workers=1)
    try:
        worker.wait_ready()
        # One warm-up run so Numba's cache load is not inside the figures.
        with transaction.atomic():
            warm = services.run_enqueue(spec=spec, owner=user)
        while not BacktestRun.objects.get(pk=warm.pk).is_final:
            time.sleep(0.05)

        started = time.perf_counter()
        ids = []
        for i in range(args.runs):
            with transaction.atomic():
                run = services.run_enqueue(
                    spec=spec, owner=user, overrides={"params": {"rsi_period": 8 + i % 30}}
                )
            ids.append(run.pk)
        while BacktestRun.objects.filter(pk__in=ids).exclude(status__in=FINAL_STATUSES).exists():
            time.sleep(0.05)
        wall = time.perf_counter() - started
        runs = list(BacktestRun.objects.filter(pk__in=ids).order_by("pk"))
    finally:
        worker.stop(grace=5)

    failed = [r for r in runs if r.status != JobStatus.SUCCEEDED]
    if failed:
        print(f"{len(failed)} run(s) did not succeed: {failed[0].status} {failed[0].error}")
        return 1

    def median(values):
        return statistics.median(values) * 1000

    print(f"service bench: {args.runs} runs of HYPERRSI over {args.bars:,} 1m candles, one worker")
    print(f"  wall time, queue of {args.runs}     {wall:8.2f} s  ({wall / args.runs * 1000:,.0f} ms per run)")
    own = median([r.duration_seconds for r in runs])
    print(f"  median started -> finished    {own:8.0f} ms  (one run's own time)")
    print(f"    load (cached reader)        {median([r.load_seconds for r in runs]):8.1f} ms")
    print(f"    engine                      {median([r.engine_seconds for r in runs]):8.1f} ms")
    print(f"    save (trades, equity)       {median([r.save_seconds for r in runs]):8.1f} ms")
    print(f"  median trades per run         {statistics.median([r.total_trades for r in runs]):8.0f}")

    BacktestRun.objects.filter(owner=user).delete()
    Spec.objects.filter(owner=user).delete()
    candles_delete(symbol=SYMBOL)
    user.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
