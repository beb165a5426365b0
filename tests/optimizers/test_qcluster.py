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


KILLED_BODIES = {
    # 20 x 10 = 200 combinations in 100 chunks
    "grid": """\
method: grid
space:
  rsi_period: {min: 5, max: 24, step: 1}
  rsi_oversold: {values: [20, 22, 24, 26, 28, 30, 32, 34, 36, 38]}
chunk_size: 2
""",
    # at most 16 x 8 = 128 evaluations, one generation after another
    "genetic": """\
method: genetic
space:
  rsi_period: {min: 5, max: 40, step: 1}
  rsi_oversold: {min: 15, max: 45, step: 1}
genetic: {population: 16, generations: 8, seed: 7}
chunk_size: 2
""",
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["grid", "genetic"])
def test_a_sweep_whose_cluster_is_killed_midway_ends_with_every_trial_exactly_once(
    django_user_model, monkeypatch, method
):
    owner = django_user_model.objects.create_user("alice")
    ingest("QCLUSTER-KILL", walk_candles(30000, seed=3))
    spec = apply(owner, backtest_yaml(symbol="QCLUSTER-KILL"), sweep_yaml(body=KILLED_BODIES[method]))[1]
    monkeypatch.setattr(Conf, "SYNC", False)
    doomed = Cluster(workers=2)
    try:
        doomed.wait_ready()
        run = services.sweep_create(spec=spec, owner=owner)
        deadline = time.monotonic() + 120
        while OptimizationRun.objects.get(pk=run.pk).chunks_done < 5:
            assert time.monotonic() < deadline, doomed.tail()
            time.sleep(0.02)
    finally:
        doomed.kill()
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING and run.evaluated > 0, "killed too late to test anything"

    healthy = Cluster(workers=2)
    try:
        healthy.wait_ready()
        deadline = time.monotonic() + 180
        while not run.is_final and time.monotonic() < deadline:
            time.sleep(0.2)
            run.refresh_from_db()
    finally:
        healthy.stop()
    assert run.status == JobStatus.SUCCEEDED, f"{run.status}: {run.error}\n{healthy.tail()}"
    # each combination stored once and counted once: a chunk done twice would count twice
    assert run.evaluated == run.trials.count()
    assert run.chunks_done == run.chunks_total
    assert {c.status for c in run.chunks.all()} == {ChunkStatus.DONE}

    # and the same trials as the same sweep run undisturbed, in this process
    monkeypatch.setattr(Conf, "SYNC", True)
    clean = services.sweep_create(spec=spec, owner=owner)
    clean.refresh_from_db()
    assert clean.status == JobStatus.SUCCEEDED, clean.error
    assert sorted(run.trials.values_list("params_hash", "objective")) == sorted(
        clean.trials.values_list("params_hash", "objective")
    )
    assert run.best_params == clean.best_params
