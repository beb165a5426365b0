"""/metrics on the web side: access rule, the counts a run leaves, the scrape-time gauges."""

from __future__ import annotations

import ipaddress

import pytest

from backtest_project.observability.scrape import registry, worker_metrics_app
from backtests import services
from backtests.models import BacktestRun
from jobs.models import JobStatus
from tests.factories import make_user, walk_spec
from tests.observability.scrapes import samples, value

SYMBOL = "TEST-METRICS"
LOOPBACK = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")]


@pytest.fixture
def loopback_only(settings):
    """No token configured: the default rule, loopback addresses only."""
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = LOOPBACK
    return settings


@pytest.fixture
def restricted(settings):
    """A token configured and no address allowed without it."""
    settings.METRICS_TOKEN = "s3cret-token"
    settings.METRICS_ALLOWED_NETWORKS = []
    return settings


def _get(client, **headers):
    return client.get("/metrics", **headers)


@pytest.mark.django_db
def test_it_serves_metrics_to_loopback_by_default(client, loopback_only):
    response = _get(client, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    page = samples(response.content.decode())
    assert value(page, "backtest_system_load_per_cpu") >= 0


@pytest.mark.django_db
def test_it_refuses_an_address_not_allowed_when_no_token_is_configured(client, loopback_only):
    response = _get(client, REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 403
    assert b"METRICS_ALLOWED_IPS" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        ("Basic s3cret-token", 401),
        ("Bearer s3cret-token", 200),
        ("bearer s3cret-token", 200),
    ],
)
def test_it_refuses_an_anonymous_request_when_restricted(client, restricted, authorization, status):
    headers = {"REMOTE_ADDR": "127.0.0.1"}
    if authorization:
        headers["HTTP_AUTHORIZATION"] = authorization
    response = _get(client, **headers)
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert b"backtest_" not in response.content


@pytest.mark.django_db
def test_an_allow_listed_network_needs_no_token(client, restricted):
    restricted.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.20.0.0/16")]
    assert _get(client, REMOTE_ADDR="10.20.3.4").status_code == 200
    assert _get(client, REMOTE_ADDR="10.21.3.4").status_code == 401


@pytest.mark.django_db
def test_the_worker_endpoint_has_the_same_rule(restricted):
    app = worker_metrics_app(registry(state=False))
    answers = []

    def start_response(status, headers):
        answers.append((status, dict(headers)))

    body = app({"PATH_INFO": "/metrics", "REMOTE_ADDR": "127.0.0.1"}, start_response)
    assert answers[-1][0] == "401 Unauthorized" and b"backtest_" not in b"".join(body)
    environ = {
        "PATH_INFO": "/metrics",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": "Bearer s3cret-token",
    }
    body = app(environ, start_response)
    assert answers[-1][0] == "200 OK"
    assert b"backtest_system_memory_used_ratio" in b"".join(body)
    app({"PATH_INFO": "/other", "REMOTE_ADDR": "127.0.0.1"}, start_response)
    assert answers[-1][0] == "404 Not Found"


@pytest.fixture
def spec():
    owner = make_user("metrics-owner")
    return owner, walk_spec(
        owner, "ema-metrics", symbol=SYMBOL, bars=600, seed=3, start="2024-01-01", end="2024-01-20"
    )


@pytest.mark.django_db
def test_a_run_is_counted_with_its_phases_and_candle_read(client, spec, django_capture_on_commit_callbacks):
    owner, backtest = spec
    before = samples(_get(client).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_enqueue(spec=backtest, owner=owner)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    after = samples(_get(client).content.decode())

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("backtest_jobs_finished_total", kind="run", status="succeeded") == 1
    assert delta("backtest_job_duration_seconds_count", kind="run", status="succeeded") == 1
    for phase in ("queue_wait", "load", "engine", "save"):
        assert delta("backtest_run_phase_seconds_count", phase=phase) == 1, phase
    assert delta("backtest_run_phase_seconds_sum", phase="engine") == pytest.approx(run.engine_seconds)
    assert delta("backtest_candle_read_seconds_count", source="database") == 1
    assert delta("backtest_candle_read_rows_total", source="database") == run.candle_count
    # the API request and the database queries are counted by django-prometheus
    assert delta("django_db_execute_total") > 0
    assert value(after, "django_http_responses_total_by_status_view_method_total", view="metrics") >= 1


@pytest.mark.django_db
def test_a_cancel_is_counted_and_a_repeated_cancel_is_not(client, spec, django_capture_on_commit_callbacks):
    owner, backtest = spec
    run = services.run_enqueue(spec=backtest, owner=owner)  # on_commit never fires: stays queued
    before = samples(_get(client).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.run_cancel(run=run)
        assert not services.run_cancel(run=run)
    after = samples(_get(client).content.decode())
    key = {"kind": "run", "status": "cancelled"}
    assert (
        value(after, "backtest_jobs_finished_total", **key)
        - value(before, "backtest_jobs_finished_total", **key)
        == 1
    )
    # never started: no duration
    assert value(after, "backtest_job_duration_seconds_count", **key) == value(
        before, "backtest_job_duration_seconds_count", **key
    )


@pytest.mark.django_db
def test_queue_gauges_show_the_queued_run_and_its_age(client, spec, settings):
    owner, backtest = spec
    run = services.run_enqueue(spec=backtest, owner=owner)
    BacktestRun.objects.filter(pk=run.pk).update(queued_at=run.queued_at.replace(year=2020))
    # a real broker, not the tests' in-process mode: the workers gauge is reported
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    page = samples(_get(client).content.decode())
    assert value(page, "backtest_queue_depth", kind="run") == 1
    assert value(page, "backtest_queue_oldest_age_seconds", kind="run") > 300
    assert value(page, "backtest_queue_depth", kind="sweep") == 0
    assert value(page, "backtest_queue_oldest_age_seconds", kind="sweep") == 0
    assert value(page, "backtest_jobs_running", kind="run") == 0
    assert ("backtest_workers", frozenset()) in page  # no cluster in this test: 0
    assert value(page, "backtest_workers") == 0
    assert value(page, "backtest_database_size_bytes") > 0
    assert 0 < value(page, "backtest_system_memory_used_ratio") < 1
    assert 0 < value(page, "backtest_system_disk_used_ratio") < 1


@pytest.mark.django_db
def test_a_database_that_cannot_be_read_leaves_the_rest_of_the_page(client, monkeypatch):
    from backtest_project.observability import collectors

    def broken():
        raise RuntimeError("database restarting")

    monkeypatch.setattr(collectors, "_queue_models", broken)
    response = _get(client)
    assert response.status_code == 200
    page = samples(response.content.decode())
    assert ("backtest_queue_depth", frozenset({("kind", "run")})) not in page
    assert value(page, "backtest_system_load_per_cpu") >= 0


def test_memory_ratio_reads_meminfo(tmp_path):
    from backtest_project.observability.collectors import _memory_used_ratio

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n")
    assert _memory_used_ratio(str(meminfo)) == pytest.approx(0.75)
    assert _memory_used_ratio(str(tmp_path / "missing")) is None
