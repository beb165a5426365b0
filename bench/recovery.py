"""How long does the service take to recover lost work, with the default settings?

    .venv/bin/python bench/recovery.py [--sleep 2]

Runs real qcluster processes on the project's services (.services/env) with the default
JOB_* settings (heartbeat 5 s, stale after 20 s, re-send after 30 s, housekeeping every
5 s; docs/operations.md) and prints, for each failure, the time from the failure to the
last affected run finishing:

- a worker process killed mid-run (SIGKILL) while another worker of its cluster is up;
- a whole cluster killed with runs queued and running, then started again;
- the broker's queue flushed (Redis lost its data) with runs queued.

The runs use the test-only strategy ``test_sleepy`` (tests/plugins), which sleeps
``--sleep`` seconds and trades nothing, so a run is still running when it is killed.
Uses its own queue name and user, and deletes what it created.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from services_env import django_setup

QUEUE = f"bench-recovery-{os.getpid()}"
ENV = {
    "DJANGO_SETTINGS_MODULE": "backtest_project.settings_test",
    "BACKTEST_TEST_PLUGINS": "1",
    "Q_SYNC": "0",
    "Q_CLUSTER_NAME": QUEUE,
    "CACHE_KEY_PREFIX": QUEUE,
}
SPEC = """\
kind: Backtest
name: bench-recovery
strategy: test_sleepy
params: {{sleep_seconds: {sleep}}}
market: {{symbol: BENCH-RECOVERY, timeframe: 1h, start: 2024-01-01, end: 2024-02-01}}
"""


def _cluster(workers: int):
    """A ready qcluster on this bench's queue (tests/qcluster.py's process helper)."""
    from tests.qcluster import QclusterProcess

    cluster = QclusterProcess(dict(os.environ), workers=workers)
    cluster.wait_ready()
    return cluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=2.0, help="seconds each run sleeps")
    args = parser.parse_args()
    for key, value in ENV.items():
        os.environ[key] = value
    django_setup()

    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django_redis import get_redis_connection

    from backtests import services
    from backtests.models import BacktestRun
    from jobs.models import FINAL_STATUSES, JobStatus
    from marketdata.parse import RawCandles
    from marketdata.services import candles_delete, candles_ingest
    from specs.models import Spec
    from specs.services import spec_apply

    n = 800
    ts = 1_704_067_200_000 + np.arange(n, dtype=np.int64) * 3_600_000
    close = np.linspace(100.0, 120.0, n)
    user, _ = get_user_model().objects.get_or_create(username="bench-recovery")
    candles_ingest(
        symbol="BENCH-RECOVERY",
        timeframe="1h",
        raw=RawCandles.from_arrays(
            ts=ts, open=close, high=close + 1, low=close - 1, close=close, volume=close
        ),
    )
    spec_apply(text=SPEC.format(sleep=args.sleep), owner=user, source="bench")
    spec = Spec.objects.filter(owner=user, name="bench-recovery").order_by("-version").first()

    def queue(count: int) -> list[int]:
        ids = []
        for _ in range(count):
            with transaction.atomic():
                ids.append(services.run_enqueue(spec=spec, owner=user).pk)
        return ids

    def wait(ids, status=None, timeout=300) -> None:
        deadline = time.monotonic() + timeout
        runs = BacktestRun.objects.filter(pk__in=ids)
        while True:
            if status is None and not runs.exclude(status__in=FINAL_STATUSES).exists():
                bad = runs.exclude(status=JobStatus.SUCCEEDED)
                if bad.exists():
                    raise SystemExit(f"a run did not succeed: {bad.first().status} {bad.first().error}")
                return
            if status is not None and runs.filter(status=status).count() == len(ids):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"runs {ids} not done after {timeout} s")
            time.sleep(0.05)

    print(f"recovery bench: default JOB_* settings, runs sleeping {args.sleep:g} s")
    try:
        cluster = _cluster(workers=2)
        [run_id] = queue(1)
        wait([run_id], JobStatus.RUNNING)
        worker = BacktestRun.objects.get(pk=run_id).worker
        killed = time.perf_counter()
        os.kill(int(worker.rsplit(":", 1)[1]), signal.SIGKILL)
        wait([run_id])
        print(f"  worker killed mid-run, its cluster up        {time.perf_counter() - killed:6.1f} s to done")

        running = queue(2)
        wait(running, JobStatus.RUNNING)
        queued = queue(6)
        time.sleep(0.3)
        cluster.kill()
        restarted = time.perf_counter()
        cluster = _cluster(workers=2)
        wait(running + queued)
        print(
            f"  cluster killed (2 running, 6 queued)         {time.perf_counter() - restarted:6.1f} s "
            "from its restart to all done"
        )

        cluster.stop(grace=10)  # SIGTERM, as a supervisor sends it
        queued = queue(4)
        get_redis_connection("default").delete(f"django_q:{QUEUE}:q")
        flushed = time.perf_counter()
        cluster = _cluster(workers=2)
        wait(queued)
        took = time.perf_counter() - flushed
        print(f"  queue flushed with 4 runs queued             {took:6.1f} s to all done")
    finally:
        cluster.stop(grace=10)
        BacktestRun.objects.filter(owner=user).delete()
        Spec.objects.filter(owner=user).delete()
        candles_delete(symbol="BENCH-RECOVERY")
        user.delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
