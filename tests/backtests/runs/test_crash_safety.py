"""No run is ever lost: real qcluster processes killed, Redis restarted or flushed or down.

Each test goes through real processes (tests/qcluster.py) on the project's PostgreSQL;
the ones that take Redis away use a Redis of their own (``PrivateRedis``) so the rest of
the suite keeps its own. The clusters run the housekeeper every second, with a 4 s
heartbeat limit and re-sends after 3 s (tests/qcluster.py), instead of 5 / 20 / 30 s.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from django.db import transaction
from django_q.conf import Conf

from backtests import services
from backtests.models import BacktestRun
from backtests.run_config import backtest_spec_for
from jobs.models import JobStatus
from marketdata.read import candles_load
from specs.services import spec_apply
from tests.factories import engine_result
from tests.qcluster import Cluster, PrivateRedis, broker_to, poll_runs

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _through_the_broker(monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)  # async_task goes to the broker, not inline


def _post_runs(client, count: int) -> list[int]:
    ids = []
    for i in range(count):
        response = client.post(
            "/api/v1/runs/",
            {"spec": "hyperrsi-btc-15m", "overrides": {"params": {"rsi_period": 8 + i}}},
            format="json",
        )
        assert response.status_code == 202, response.content
        ids.append(response.json()["id"])
    return ids


def _queue_sleepy(owner, strategy: str, count: int, seconds: float) -> list[int]:
    spec_apply(
        text=f"kind: Backtest\nname: sleepy\nstrategy: {strategy}\nparams: {{sleep_seconds: {seconds}}}\n"
        "market: {symbol: BTC-USD, timeframe: 15m, start: 2021-10-01, end: 2021-10-10}\n",
        owner=owner,
        source="sleepy.yaml",
    )
    spec = backtest_spec_for(owner, "sleepy")
    ids = []
    for _ in range(count):
        with transaction.atomic():
            ids.append(services.run_enqueue(spec=spec, owner=owner).pk)
    return ids


def _wait_running(ids: list[int], cluster: Cluster, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while BacktestRun.objects.filter(pk__in=ids, status=JobStatus.RUNNING).count() < len(ids):
        assert time.monotonic() < deadline, cluster.tail()
        time.sleep(0.05)


def _assert_clean(runs: list[BacktestRun]) -> None:
    """Each run's metrics are those of the same run done in this process, undisturbed."""
    candles = candles_load("BTC-USD", "15m", "2021-10-01", "2021-12-29")
    for run in runs:
        assert run.metrics == engine_result(run, candles, timeframe_minutes=15).metrics, run.pk


def test_a_cluster_killed_with_ten_runs_queued_and_two_running_loses_none(example, sleepy):
    owner, client = example
    doomed = Cluster(workers=2)
    try:
        doomed.wait_ready()
        slow = _queue_sleepy(owner, sleepy, 2, seconds=5)
        _wait_running(slow, doomed)
        fast = _post_runs(client, 10)
        time.sleep(0.3)  # the cluster takes a few tasks ahead of its two busy workers
    finally:
        doomed.kill()
    assert BacktestRun.objects.filter(pk__in=slow, status=JobStatus.RUNNING).count() == 2
    assert BacktestRun.objects.filter(pk__in=fast, status=JobStatus.QUEUED).count() == 10

    healthy = Cluster(workers=2)
    try:
        healthy.wait_ready()
        runs = poll_runs(slow + fast, timeout=150)
    finally:
        healthy.stop()
    assert [run.status for run in runs] == [JobStatus.SUCCEEDED] * 12, healthy.tail()
    assert {run.attempts for run in runs if run.pk in slow} == {2}
    _assert_clean([run for run in runs if run.pk in fast])


@pytest.mark.parametrize("loss", ["restart", "flush"])
def test_runs_queued_when_redis_loses_everything_all_succeed(example, monkeypatch, tmp_path, loss):
    _, client = example
    redis = PrivateRedis(tmp_path)
    try:
        broker_to(monkeypatch, redis.url)
        ids = _post_runs(client, 5)  # no cluster yet: the five tasks wait in Redis
        assert redis.client().llen(f"django_q:{Conf.CLUSTER_NAME}:q") == 5
        if loss == "restart":
            redis.restart()  # it kept nothing on disk
        else:
            redis.client().flushall()
        assert redis.client().llen(f"django_q:{Conf.CLUSTER_NAME}:q") == 0
        cluster = Cluster(workers=2, extra_env={"REDIS_URL": redis.url})
        try:
            cluster.wait_ready()
            runs = poll_runs(ids)
        finally:
            cluster.stop()
    finally:
        redis.kill()
    assert [run.status for run in runs] == [JobStatus.SUCCEEDED] * 5, cluster.tail()
    _assert_clean(runs)


def test_a_run_posted_while_redis_is_down_is_accepted_and_runs_later(
    example, monkeypatch, tmp_path, settings
):
    _, client = example
    redis = PrivateRedis(tmp_path)
    try:
        broker_to(monkeypatch, redis.url)
        redis.kill()
        # the cache (throttles, sessions) is down too, as it is on the same Redis
        settings.CACHES = {
            **settings.CACHES,
            "default": {**settings.CACHES["default"], "LOCATION": redis.url},
        }
        [run_id] = _post_runs(client, 1)
        run = BacktestRun.objects.get(pk=run_id)
        assert (run.status, run.sent_at) == (JobStatus.QUEUED, None)

        redis.start()
        cluster = Cluster(workers=1, extra_env={"REDIS_URL": redis.url})
        try:
            cluster.wait_ready()
            [run] = poll_runs([run_id])
        finally:
            cluster.stop()
    finally:
        redis.kill()
    assert run.status == JobStatus.SUCCEEDED, cluster.tail()
    _assert_clean([run])


def test_a_worker_killed_mid_run_is_replaced_and_its_run_finishes_within_a_minute(example, sleepy):
    owner, _ = example
    cluster = Cluster(workers=2)
    try:
        cluster.wait_ready()
        [run_id] = _queue_sleepy(owner, sleepy, 1, seconds=3)
        _wait_running([run_id], cluster)
        first = BacktestRun.objects.get(pk=run_id)
        os.kill(int(first.worker.rsplit(":", 1)[1]), signal.SIGKILL)  # that worker process only
        [run] = poll_runs([run_id], timeout=60)
    finally:
        cluster.stop()
    assert run.status == JobStatus.SUCCEEDED, cluster.tail()
    assert run.attempts == 2 and run.worker != first.worker


def test_qcluster_waits_for_a_broker_that_is_not_up_yet_then_works(example, monkeypatch, tmp_path):
    _, client = example
    redis = PrivateRedis(tmp_path)
    try:
        broker_to(monkeypatch, redis.url)
        redis.kill()
        cluster = Cluster(workers=1, extra_env={"REDIS_URL": redis.url})
        try:
            cluster.wait_for_line("waiting for broker")
            time.sleep(3)
            assert cluster.proc.poll() is None  # still waiting, not gone
            redis.start()
            cluster.wait_ready()
            [run] = poll_runs(_post_runs(client, 1))
        finally:
            cluster.stop()
    finally:
        redis.kill()
    assert run.status == JobStatus.SUCCEEDED, cluster.tail()


def test_qcluster_says_it_waits_for_a_database_that_does_not_answer(example):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    cluster = Cluster(workers=1, extra_env={"DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead}/nothing"})
    try:
        cluster.wait_for_line("waiting for database")
    finally:
        cluster.kill()
