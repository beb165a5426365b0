"""CLI commands keep their output clean: `manage.py backtest NAME --inline` prints its own
lines on stdout, and the INFO lines of the run it executes stay out (stderr gets
WARNING and above unless LOG_LEVEL says otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from backtests.models import BacktestRun
from engine.enums import METRIC_NAMES
from tests.conftest import REPO
from tests.factories import make_user, walk_spec
from tests.qcluster import child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SYMBOL = "TEST-CLI-LOGS"


@pytest.fixture
def stored():
    owner = make_user("cli-logs", staff=True)
    walk_spec(owner, "ema-cli", symbol=SYMBOL, bars=600, seed=9, start="2024-01-01", end="2024-01-20")
    return owner


def _backtest(*args: str, log_level: str | None = None) -> subprocess.CompletedProcess:
    environ = child_env()
    environ.pop("LOG_LEVEL", None)  # the command's own default, unless the test gives one
    if log_level:
        environ["LOG_LEVEL"] = log_level
    return subprocess.run(
        [sys.executable, "manage.py", "backtest", "ema-cli", "--user", "cli-logs", "--inline", *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_inline_prints_only_its_own_lines(stored):
    result = _backtest()
    assert result.returncode == 0, result.stderr
    run = BacktestRun.objects.get()
    lines = result.stdout.splitlines()
    assert lines[0] == f"queued run {run.pk} of ema-cli v1"
    assert lines[1].split() == ["0.0s", "succeeded"]
    assert lines[2] == f"run {run.pk} succeeded: {run.candle_count:,} bars, {run.total_trades} trades"
    assert [line.split()[0] for line in lines[3:]] == list(METRIC_NAMES)
    # nothing below WARNING on stderr: no worker, django-q2 or library INFO lines
    assert '"level": "info"' not in result.stderr and "INFO" not in result.stderr, result.stderr


def test_inline_json_is_one_json_line_and_log_level_info_logs_on_stderr(stored):
    result = _backtest("--json", log_level="INFO")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    body = json.loads(line)
    assert body["status"] == "succeeded"
    assert list(body["metrics"]) == list(METRIC_NAMES)
    # LOG_LEVEL=INFO brings the run's lines back, on stderr only
    events = [json.loads(line)["event"] for line in result.stderr.splitlines() if line.startswith("{")]
    assert "backtest_completed" in events
