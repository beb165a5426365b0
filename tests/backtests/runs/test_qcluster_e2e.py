"""End to end through a real qcluster on PostgreSQL + TimescaleDB + Redis.

Apply the example spec, load the bundled sample with the real command, POST a run
through the API, poll until it succeeds, and check its metrics and trades equal the
engine's for the same arrays. Then: ten runs queued at once all finish; a cluster
killed mid-run leaves a run that the next cluster's housekeeper requeues and finishes.
"""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django_q.conf import Conf

from backtests import services
from backtests.models import BacktestRun
from backtests.run_config import backtest_spec_for
from engine.runner import run_backtest
from jobs.models import JobStatus
from marketdata.read import candles_load
from specs.services import spec_apply
from strategies.registry import get_strategy
from tests.qcluster import Cluster, poll_runs

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)  # async_task goes to Redis, not inline
    started = Cluster(workers=2)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def test_a_run_posted_to_the_api_is_executed_by_a_real_worker(example, cluster):
    _, client = example
    response = client.post("/api/v1/runs/", {"spec": "hyperrsi-btc-15m"}, format="json")
    assert response.status_code == 202, response.json()
    [run] = poll_runs([response.json()["id"]])
    assert run.status == JobStatus.SUCCEEDED, f"{run.error}\n{cluster.tail()}"
    assert run.worker and run.worker != "" and run.attempts == 1

    detail = client.get(response["Location"]).json()
    candles = candles_load("BTC-USD", "15m", "2021-10-01", "2021-12-29")
    config = run.config
    expected = run_backtest(
        candles, get_strategy("hyperrsi"), config["params"], config["execution"], timeframe_minutes=15
    )
    assert detail["metrics"] == expected.metrics
    trades, url = [], detail["links"]["trades"]
    while url:
        page = client.get(url).json()
        trades.extend(page["results"])
        url = page["next"]
    assert [{k: v for k, v in t.items() if k != "seq"} for t in trades] == expected.trades_as_dicts()
    assert detail["candle_count"] == len(candles.ts)


def test_ten_runs_queued_at_once_all_finish(example, cluster):
    _, client = example
    ids = [
        client.post(
            "/api/v1/runs/",
            {"spec": "hyperrsi-btc-15m", "overrides": {"params": {"rsi_period": 8 + i}}},
            format="json",
        ).json()["id"]
        for i in range(10)
    ]
    runs = poll_runs(ids, timeout=180)
    assert [run.status for run in runs] == [JobStatus.SUCCEEDED] * 10, cluster.tail()
    assert (
        len({run.metrics["total_trades"] for run in runs} | {None}) > 2
    )  # different params, different results
    assert len({run.worker for run in runs}) >= 1


def test_a_killed_clusters_run_is_requeued_and_finished_by_the_next_one(example, sleepy, monkeypatch):
    owner, _ = example
    monkeypatch.setattr(Conf, "SYNC", False)
    spec_apply(
        text=f"kind: Backtest\nname: sleepy\nstrategy: {sleepy}\nparams: {{sleep_seconds: 3}}\n"
        "market: {symbol: BTC-USD, timeframe: 15m, start: 2021-10-01, end: 2021-10-10}\n",
        owner=owner,
        source="sleepy.yaml",
    )
    doomed = Cluster(workers=1)
    try:
        doomed.wait_ready()
        with transaction.atomic():
            run = services.run_enqueue(spec=backtest_spec_for(owner, "sleepy"), owner=owner)
        deadline = time.monotonic() + 60
        while BacktestRun.objects.get(pk=run.pk).status != JobStatus.RUNNING:
            assert time.monotonic() < deadline, doomed.tail()
            time.sleep(0.1)
    finally:
        doomed.kill()
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING  # the worker is gone; nothing will report back

    healthy = Cluster(workers=1)
    try:
        healthy.wait_ready()
        [finished] = poll_runs([run.pk])
    finally:
        healthy.stop()
    assert finished.status == JobStatus.SUCCEEDED, healthy.tail()
    assert finished.attempts == 2
    assert finished.worker != run.worker
