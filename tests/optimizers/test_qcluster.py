"""Two real ``qcluster`` processes, sharing PostgreSQL and Redis, split one sweep."""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings
from django.db import connection
from django_q.conf import Conf

from jobs.models import JobStatus
from optimizers import services
from optimizers.models import ChunkStatus, OptimizationRun
from tests.optimizers.builders import walk_candles
from tests.optimizers.conftest import apply, backtest_yaml, ingest, sweep_yaml
from tests.qcluster import Cluster

BODY = """\
method: grid
space:
  rsi_period: {min: 5, max: 24, step: 1}
  rsi_oversold: {values: [20, 25, 30, 35, 40, 45]}
chunk_size: 3
"""  # 20 x 6 = 120 combinations in 40 chunks


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_qcluster_processes_split_one_sweep(django_user_model, monkeypatch):
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.fail("this test needs the project's PostgreSQL and Redis (make services)")
    owner = django_user_model.objects.create_user("alice")
    ingest("QCLUSTER-TEST", walk_candles(4000, seed=2))
    spec = apply(owner, backtest_yaml(symbol="QCLUSTER-TEST"), sweep_yaml(body=BODY))[1]
    clusters = [Cluster(), Cluster()]
    try:
        for cluster in clusters:
            cluster.wait_ready()
        monkeypatch.setattr(Conf, "SYNC", False)  # async_task goes to Redis, not inline
        run = services.sweep_create(spec=spec, owner=owner)
        deadline = time.monotonic() + 180
        while not run.is_final and time.monotonic() < deadline:
            time.sleep(0.2)
            run = OptimizationRun.objects.get(pk=run.pk)
    finally:
        for cluster in clusters:
            cluster.stop()
    logs = "".join(line for c in clusters for line in c.log[-20:])
    assert run.status == JobStatus.SUCCEEDED, f"{run.status}: {run.error}\n{logs}"
    assert run.evaluated == run.trials.count() == 120
    chunks = run.chunks.all()
    assert chunks.count() == 40 and {c.status for c in chunks} == {ChunkStatus.DONE}
    assert all(c.attempts == 1 for c in chunks)
    workers = {c.worker for c in chunks}
    assert len(workers) >= 2, workers
    # the worker ids are the two clusters' worker processes, not this test process
    assert all(not w.endswith(f":{os.getpid()}") for w in workers)
