"""deploy/: every metric the Grafana dashboard and the alert rules read exists.

promtool and nginx check the files' syntax (`make lint-deploy`); this checks their
meaning against the service: each name in a PromQL query is a sample name the
service's /metrics can serve (the registered metrics with their _total, _bucket,
_count, _sum samples, and the scrape-time gauges), or Prometheus's own ``up``.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.test import override_settings
from django_prometheus.middleware import Metrics
from prometheus_client import REGISTRY

from backtest_project.observability.collectors import StateCollector, SystemCollector
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, regexes)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        follows = text[match.end() :].lstrip()[:1]
        if follows == "(" or match.group() in PROMQL_WORDS:
            continue  # a function or a keyword
        names.add(match.group())
    return names


def test_metric_names_finds_names_not_functions_labels_or_keywords():
    expr = (
        'histogram_quantile(0.95, sum by (le, view) (rate(a_bucket{view=~"api:.*", x="y"}[5m]))) '
        "/ ignoring (kind) max without (pid) (b_total) > 0.05 and on (job) up"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "up"}


@pytest.fixture(scope="module")
def served_names(django_db_setup, django_db_blocker) -> set[str]:
    # Every registered metric's sample names (name_total, name_bucket, name_count, …):
    # the registry's own index of them. django-prometheus registers its request
    # metrics when its middleware is first built, as the web process does.
    Metrics.get_instance()
    names = set(REGISTRY._names_to_collectors)
    with django_db_blocker.unblock(), override_settings(Q_CLUSTER={"sync": False, "django_redis": "default"}):
        for collector in (StateCollector(), SystemCollector()):
            names |= {sample.name for family in collector.collect() for sample in family.samples}
    return names


def _dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "backtest.json").read_text())
    found = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no query"
        found += [(panel["title"], target["expr"]) for target in panel["targets"]]
    return found


def _alert_exprs() -> list[tuple[str, str]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [(rule["alert"], rule["expr"]) for group in rules["groups"] for rule in group["rules"]]


@pytest.mark.django_db
def test_every_dashboard_panel_reads_metrics_the_service_serves(served_names):
    exprs = _dashboard_exprs()
    assert len(exprs) >= 20
    unknown = {
        title: sorted(metric_names(expr) - served_names - PROMETHEUS_OWN)
        for title, expr in exprs
        if metric_names(expr) - served_names - PROMETHEUS_OWN
    }
    assert not unknown
    assert all(metric_names(expr) for _, expr in exprs)


@pytest.mark.django_db
def test_every_alert_reads_metrics_the_service_serves(served_names):
    alerts = dict(_alert_exprs())
    # the roadmap's four, and the queue's two
    assert {
        "ApiErrorRateHigh", "ApiSlowResponses", "DiskAlmostFull", "MemoryAlmostFull",
        "RunQueuedTooLong", "NoWorkerSeen",
    } <= set(alerts)  # fmt: skip
    unknown = {
        name: sorted(metric_names(expr) - served_names - PROMETHEUS_OWN)
        for name, expr in alerts.items()
        if metric_names(expr) - served_names - PROMETHEUS_OWN
    }
    assert not unknown


def test_the_roadmap_panels_are_on_the_dashboard():
    exprs = " ".join(expr for _, expr in _dashboard_exprs())
    for name in (
        "django_http_responses_total_by_status_view_method_total",  # API request count, errors
        "django_http_requests_latency_seconds_by_view_method_bucket",  # API latency
        "backtest_jobs_finished_total",  # backtests executed
        "django_db_query_duration_seconds_bucket",  # database query time
        "backtest_system_memory_used_ratio",  # system resources
        "backtest_system_disk_used_ratio",
        "backtest_queue_depth",
        "backtest_sweep_combinations_total",
        "backtest_candle_read_seconds_count",
        "backtest_live_sync_lag_seconds",
    ):
        assert name in exprs, name


def test_the_compose_file_puts_nginx_in_front_and_scrapes_both_sides():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"nginx", "web", "worker", "prometheus", "grafana"} <= set(services)
    assert "ports" not in services["web"]  # reached through nginx only
    assert services["nginx"]["ports"] == ["8000:80"]
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"web:8000", f"worker:{services['worker']['environment']['METRICS_PORT']}"}
    nginx = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert "location = /metrics" in nginx and "server web:8000;" in nginx
