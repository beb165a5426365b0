"""Fixtures for the spec tests: an admin, API clients, and small spec texts (alice and bob
are tests/conftest.py's)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

BACKTEST = """\
kind: Backtest
name: hyperrsi-btc-1h
strategy: hyperrsi
params:
  rsi_period: 14
  entry_option: reverse
market: {symbol: BTC-USD, timeframe: 1h, start: 2024-01-01, end: 2024-06-30}
"""

LAYOUT = """\
kind: ReportLayout
name: standard
sections:
  - {type: metrics, metrics: [total_return, sharpe_ratio]}
  - {type: chart, chart: equity}
"""

SWEEP = """\
kind: Sweep
name: hyperrsi-grid
backtest: hyperrsi-btc-1h
space:
  rsi_period: {min: 10, max: 20, step: 2}
  rsi_oversold: {values: [20, 30]}
constraints: ["rsi_oversold < rsi_overbought"]
objective: {metric: sharpe_ratio}
"""


def join(*documents: str) -> str:
    return "---\n".join(documents)


def rsi_period_error(file: str, message: str) -> dict:
    """The error of BACKTEST with a bad ``rsi_period``, as ``SpecError.as_dict()`` gives it
    (and the command, the admin and the API report it)."""
    return {
        "file": file,
        "document": 1,
        "kind": "Backtest",
        "name": "hyperrsi-btc-1h",
        "path": "params.rsi_period",
        "line": 5,
        "column": 15,
        "message": message,
    }


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw")


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """Admin pages render {% static %}; without collectstatic there is no manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
