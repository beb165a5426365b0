"""Through a real qcluster: a run POSTed to the API is counted, with its duration, on the
web's /metrics and on the worker's own /metrics (which refuses an anonymous scrape),
and the worker's JSON log lines of the run carry its id, context and the API
request's id."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client
from django_q.conf import Conf

from backtests.models import BacktestRun
from jobs.models import JobStatus
from tests.factories import make_user, token_client, walk_spec
from tests.observability.scrapes import samples, value
from tests.qcluster import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SYMBOL = "TEST-OBS-E2E"
TOKEN = "e2e-metrics-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scrape(port: int, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_run_through_the_real_worker_is_counted_on_both_sides_and_logged(monkeypatch, settings):
    owner = make_user("obs-e2e")
    walk_spec(owner, "ema-obs", symbol=SYMBOL, bars=600, seed=11, start="2024-01-01", end="2024-01-20")
    client = token_client(owner)
    monkeypatch.setattr(Conf, "SYNC", False)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}  # /health's and the gauge's view too
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []  # the token only, on this side too
    port = _free_port()
    cluster = Cluster(
        workers=1,
        extra_env={
            "METRICS_PORT": str(port),
            "METRICS_ADDR": "127.0.0.1",
            "METRICS_TOKEN": TOKEN,
            "METRICS_ALLOWED_IPS": "none",
            "LOG_FORMAT": "json",
        },
    )
    try:
        cluster.wait_ready()
        scraper = Client()  # Prometheus: no API token, the metrics token
        web_before = samples(scraper.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())
        response = client.post(
            "/api/v1/runs/", {"spec": "ema-obs"}, format="json", HTTP_X_REQUEST_ID="req-e2e-7"
        )
        assert response.status_code == 202, response.json()
        run_id = response.json()["id"]
        deadline = time.monotonic() + 120
        while not (run := BacktestRun.objects.get(pk=run_id)).is_final:
            assert time.monotonic() < deadline, cluster.tail()
            time.sleep(0.2)
        assert run.status == JobStatus.SUCCEEDED, f"{run.error}\n{cluster.tail()}"

        # the worker side: its own endpoint, token required
        assert _scrape(port, None)[0] == 401
        assert _scrape(port, "wrong")[0] == 401
        status, text = _scrape(port, TOKEN)
        assert status == 200
        worker = samples(text)

        def grown(name, **labels):  # since before the run (the directory is this test process's)
            return value(worker, name, **labels) - value(web_before, name, **labels)

        assert grown("backtest_jobs_finished_total", kind="run", status="succeeded") == 1
        assert grown("backtest_job_duration_seconds_count", kind="run", status="succeeded") == 1
        assert grown("backtest_job_duration_seconds_sum", kind="run") == pytest.approx(
            (run.finished_at - run.started_at).total_seconds(), abs=1e-3
        )
        assert grown("backtest_run_phase_seconds_count", phase="engine") == 1
        assert grown("backtest_run_phase_seconds_sum", phase="engine") == pytest.approx(run.engine_seconds)
        assert grown("backtest_candle_read_seconds_count") >= 1
        assert ("backtest_queue_depth", frozenset({("kind", "run")})) not in worker  # the web's part

        # the web side: the same counts (one metrics directory), and the queue gauges
        assert scraper.get("/metrics").status_code == 401
        web = samples(scraper.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())
        for name, labels in (
            ("backtest_jobs_finished_total", {"kind": "run", "status": "succeeded"}),
            ("backtest_job_duration_seconds_count", {"kind": "run"}),
            ("backtest_run_phase_seconds_count", {"phase": "queue_wait"}),
            ("backtest_run_phase_seconds_count", {"phase": "save"}),
        ):
            assert value(web, name, **labels) - value(web_before, name, **labels) == 1, name
        # the API's views are named api:… (what the alert rules select)
        labels = {"view": "api:run-list", "method": "POST", "status": "202"}
        name = "django_http_responses_total_by_status_view_method_total"
        assert value(web, name, **labels) - value(web_before, name, **labels) == 1
        assert value(web, "backtest_queue_depth", kind="run") == 0
        assert value(web, "backtest_workers") >= 1
    finally:
        cluster.stop()

    lines = [json.loads(line) for line in cluster.log if line.startswith("{")]
    run_lines = [line for line in lines if line.get("backtest_id") == run_id]
    assert run_lines, cluster.tail()
    for line in run_lines:
        assert (line["spec"], line["spec_version"], line["user_id"]) == ("ema-obs", 1, owner.pk), line
        assert line["request_id"] == "req-e2e-7", line
    [done] = [line for line in run_lines if line["event"] == "backtest_completed"]
    assert done["strategy"] == "ema_cross" and done["symbol"] == SYMBOL
    assert done["total_return"] == run.total_return
    assert done["execution_time_seconds"] > 0
