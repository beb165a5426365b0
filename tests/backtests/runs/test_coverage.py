"""Coverage truth on runs: the bars used, the period's bars, the gaps and the warnings,
in the run row, the API and the report; ``coverage: strict`` fails the run."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from backtests import services
from backtests.models import BacktestRun
from jobs.models import JobStatus
from specs.services import spec_apply
from tests.factories import (
    PASSWORD,
    backtest_data,
    make_spec,
    make_user,
    random_walk_candles,
    store_candles,
    token_client,
)

SYMBOL = "TEST-COVER"
HOUR = 3_600_000


def _store_with_a_hole(bars: int = 500) -> None:
    candles = random_walk_candles(bars, timeframe="1h", seed=9)
    keep = np.ones(bars, dtype=bool)
    keep[200:230] = False  # a 30-bar hole
    store_candles(SYMBOL, "1h", {k: v[keep] for k, v in candles.items()})


def _run(owner, **market) -> BacktestRun:
    data = backtest_data("cover", symbol=SYMBOL, start="2024-01-01", end="2024-02-12")
    data["market"].update(market)
    spec = make_spec(owner, data=data)
    run = services.run_enqueue(spec=spec, owner=owner)
    services.run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_it_warns_when_the_period_is_twice_as_long_as_the_data():
    owner = make_user("cov")
    store_candles(SYMBOL, "1h", random_walk_candles(500, timeframe="1h", seed=9))  # 2024-01-01 + 500 h
    # 1000 hourly slots from 2024-01-01: twice the data
    run = _run(owner, end="2024-02-11T16:00:00Z")
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert (run.candle_count, run.expected_bars) == (500, 1000)
    assert run.data_start.isoformat() == "2024-01-01T00:00:00+00:00"
    assert run.data_end.isoformat() == "2024-01-21T19:00:00+00:00"  # bar 499
    assert run.warnings == [
        "the data ends at 2024-01-21T19:00:00Z (last bar), 500 bars before the period's end "
        "2024-02-11T16:00:00Z"
    ]
    assert run.coverage["gaps"] == [
        {
            "start": "2024-01-21T20:00:00Z",
            "end": "2024-02-11T16:00:00Z",
            "missing_bars": 500,
            "seconds": 500 * 3600,
            "where": "end",
        }
    ]
    assert run.coverage["ratio"] == 0.5


@pytest.mark.django_db
def test_strict_coverage_fails_the_run_with_the_reason():
    owner = make_user("cov")
    store_candles(SYMBOL, "1h", random_walk_candles(500, timeframe="1h", seed=9))
    run = _run(owner, end="2024-02-11T16:00:00Z", coverage="strict")
    assert run.status == JobStatus.FAILED
    assert run.error.startswith("market.coverage is strict and the TEST-COVER 1h candles do not cover")
    assert "500 bars before the period's end" in run.error
    # what it would have used is recorded all the same
    assert run.expected_bars == 1000 and run.warnings
    assert not run.trades.exists()


@pytest.mark.django_db
def test_a_gap_above_the_threshold_warns_and_one_below_does_not():
    owner = make_user("cov")
    _store_with_a_hole()
    warned = _run(owner, end="2024-01-21T20:00:00Z")  # exactly the 500 slots
    assert warned.status == JobStatus.SUCCEEDED
    assert warned.expected_bars == 500 and warned.candle_count == 470
    assert warned.warnings == [
        "1 gap inside the period (30 bars missing; the largest, 30 bars, from 2024-01-09T08:00:00Z to "
        "2024-01-10T14:00:00Z)"
    ]
    quiet = _run(owner, end="2024-01-21T20:00:00Z", max_gap_bars=30, coverage="strict")
    assert quiet.status == JobStatus.SUCCEEDED and quiet.warnings == []
    assert quiet.coverage["gap_count"] == 1  # still listed


@pytest.mark.django_db
def test_the_api_and_the_report_show_the_period_used_and_the_gaps():
    owner = make_user("cov")
    _store_with_a_hole()
    run = _run(owner, end="2024-02-11T16:00:00Z")
    body = token_client(owner).get(f"/api/v1/runs/{run.pk}/").json()
    assert body["data_start"] == "2024-01-01T00:00:00Z"
    assert body["data_end"] == "2024-01-21T19:00:00Z"
    assert body["expected_bars"] == 1000
    assert len(body["warnings"]) == 2
    assert [g["where"] for g in body["coverage"]["gaps"]] == ["inside", "end"]
    assert body["statistics"]["probabilistic_sharpe_ratio"] is not None
    listed = token_client(owner).get("/api/v1/runs/").json()["results"][0]
    assert listed["warnings"] == body["warnings"] and listed["data_end"] == body["data_end"]

    web = Client()
    web.login(username="cov", password=PASSWORD)
    page = web.get(f"/runs/{run.pk}/").content.decode()
    assert "data used: 2024-01-01 00:00 → 2024-01-21 19:00 UTC" in page
    assert "470 of 1,000 bars in the period" in page
    assert "2024-01-09T08:00:00Z" in page  # the hole, in the gap table
    assert "The data does not cover the period" in page
    assert "compound (geometric) mean bar return less the risk-free rate" in page
    listing = web.get("/runs/").content.decode()
    assert "⚠ coverage" in listing and "used 2024-01-01 → 2024-01-21" in listing


@pytest.mark.django_db(transaction=True)
def test_set_takes_an_unquoted_date():
    owner = make_user("cli")
    store_candles(SYMBOL, "1h", random_walk_candles(600, timeframe="1h", seed=5))
    spec_apply(
        text=(
            "kind: Backtest\nname: cli-ema\nstrategy: ema_cross\n"
            f"market: {{symbol: {SYMBOL}, timeframe: 1h, start: 2024-01-01, end: 2024-01-20}}\n"
        ),
        owner=owner,
    )
    out = StringIO()
    call_command(
        "backtest", "cli-ema", "--user", "cli", "--set", "market.start=2024-01-05", "--wait", "--json",
        "--timeout", "60", stdout=out,
    )  # fmt: skip
    body = json.loads(out.getvalue().strip().splitlines()[-1])
    run = BacktestRun.objects.get(pk=body["id"])
    assert body["status"] == JobStatus.SUCCEEDED, run.error
    assert run.config["market"]["start"] == "2024-01-05T00:00:00Z"
    assert run.data_start.isoformat() == "2024-01-05T00:00:00+00:00"
