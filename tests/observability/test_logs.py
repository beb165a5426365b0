"""Structured logs: a run's lines carry its id, spec, version, user and the request id of
the API call that queued it; ``backtest_completed`` has the roadmap's fields."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest

from backtest_project.observability.logs import logging_config, request_id_clean
from backtests.models import BacktestRun
from jobs.models import JobStatus
from tests.factories import make_user, token_client, walk_spec

SYMBOL = "TEST-LOGS"


@pytest.fixture
def json_lines():
    """Every log line written during the test, through the service's JSON formatter."""
    config = dict(logging_config(level="INFO", fmt="json")["formatters"]["structured"])
    formatter = config.pop("()")(**config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def api():
    owner = make_user("logs-owner")
    walk_spec(owner, "ema-logs", symbol=SYMBOL, bars=600, seed=5, start="2024-01-01", end="2024-01-20")
    return owner, token_client(owner)


def _post_run(client, capture, body: dict, **headers):
    """POST /api/v1/runs/ ``body``; the run's task runs (its on_commit) after the request."""
    with capture(execute=True):
        return client.post("/api/v1/runs/", body, format="json", **headers)


@pytest.mark.django_db
def test_a_runs_lines_carry_its_context_and_backtest_completed_its_fields(
    api, json_lines, django_capture_on_commit_callbacks
):
    owner, client = api
    # The task runs after the request is over (its on_commit), so the request id it
    # logs comes from the run's row, as in a worker.
    response = _post_run(
        client, django_capture_on_commit_callbacks, {"spec": "ema-logs"}, HTTP_X_REQUEST_ID="req-obs-42"
    )
    assert response.status_code == 202, response.json()
    assert response["X-Request-ID"] == "req-obs-42"
    run = BacktestRun.objects.get(pk=response.json()["id"])
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.request_id == "req-obs-42"

    lines = json_lines()
    request_lines = [line for line in lines if line.get("event") == "request_finished"]
    assert request_lines and request_lines[-1]["request_id"] == "req-obs-42"
    assert request_lines[-1]["user_id"] == owner.pk

    run_lines = [line for line in lines if line.get("backtest_id") == run.pk]
    events = [line["event"] for line in run_lines]
    assert f"run {run.pk} claimed by" in " ".join(events)  # a standard-library logger's line
    assert "backtest_completed" in events
    for line in run_lines:
        assert line["spec"] == "ema-logs"
        assert line["spec_version"] == 1
        assert line["user_id"] == owner.pk
        assert line["request_id"] == "req-obs-42"
        assert {"timestamp", "level", "logger", "pid"} <= set(line)

    [done] = [line for line in run_lines if line["event"] == "backtest_completed"]
    assert done["level"] == "info"
    assert done["strategy"] == "ema_cross"
    assert done["symbol"] == SYMBOL
    assert done["timeframe"] == "1h"
    assert done["total_return"] == run.total_return
    assert done["total_trades"] == run.total_trades
    assert done["candles"] == run.candle_count
    assert done["execution_time_seconds"] == pytest.approx(
        (run.finished_at - run.started_at).total_seconds(), abs=1e-6
    )
    for key in ("load_seconds", "engine_seconds", "save_seconds"):
        assert done[key] == pytest.approx(getattr(run, key), abs=1e-6)


@pytest.mark.django_db
def test_a_failed_run_logs_backtest_failed_with_its_reason(
    api, json_lines, django_capture_on_commit_callbacks
):
    _, client = api
    overrides = {"market": {"start": "2030-01-01", "end": "2030-02-01"}}
    response = _post_run(
        client, django_capture_on_commit_callbacks, {"spec": "ema-logs", "overrides": overrides}
    )
    run = BacktestRun.objects.get(pk=response.json()["id"])
    assert run.status == JobStatus.FAILED
    [failed] = [line for line in json_lines() if line.get("event") == "backtest_failed"]
    assert failed["level"] == "warning"
    assert failed["backtest_id"] == run.pk
    assert failed["request_id"] == response["X-Request-ID"]
    assert "no TEST-LOGS 1h candles" in failed["error"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-obs-42", True),
        ("8b6f0c1e-49d7-4a0b-9d52-0c7a4f0d5c11", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("two words", False),
        ('x", "level": "critical', False),
        ("", False),
        (None, False),
    ],
)
def test_an_upstream_request_id_is_kept_only_when_it_looks_like_one(given, kept):
    cleaned = request_id_clean(given)
    if kept:
        assert cleaned == given
    else:
        assert str(uuid.UUID(cleaned)) == cleaned


@pytest.mark.django_db
def test_a_malformed_request_id_is_replaced_and_answered(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="bad id\nwith a newline")
    assert str(uuid.UUID(response["X-Request-ID"])) == response["X-Request-ID"]
