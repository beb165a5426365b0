"""The hybrid read: history from TimescaleDB, the rest from the live Redis, one block."""

from __future__ import annotations

import numpy as np
import pytest

from backtests import services
from backtests.file_run import candles_from_file
from backtests.models import BacktestRun, Trade
from engine.runner import run_backtest
from engine.timestamps import ms_iso
from jobs.models import JobStatus
from marketdata.models import Candle
from marketdata.read import candles_load
from strategies.registry import get_strategy
from tests.factories import backtest_data, make_spec, make_user, store_candles
from tests.marketdata.conftest import MINUTE, NOW_MS, live_items, minute_bars

pytestmark = pytest.mark.django_db

DAY = 1440 * MINUTE
BAR_NOW = NOW_MS - 30_000  # 12:00, the forming bar
DB_FIRST, DB_END = BAR_NOW - 5 * DAY, BAR_NOW - DAY  # stored: five days ago to yesterday noon
LIVE_FIRST = BAR_NOW - 2 * DAY  # the live window: two days, overlapping the stored bars by one
COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def _setup(live, symbol: str, *, drop: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """Store the history, fill the live key (different prices where they overlap, so the
    database winning shows) and return the union, as it should be read."""
    stored = minute_bars(DB_FIRST, (DB_END - DB_FIRST) // MINUTE, seed=3)
    if drop is not None:
        keep = (stored["ts"] < drop[0]) | (stored["ts"] >= drop[1])
        stored = {k: v[keep] for k, v in stored.items()}
    store_candles(symbol, "1m", stored)
    live_bars = minute_bars(LIVE_FIRST, 2 * 1440 + 1, seed=4)  # + the forming bar
    live.put(symbol, "1m", live_items(live_bars))
    closed = {k: v[:-1] for k, v in live_bars.items()}
    extra = ~np.isin(closed["ts"], stored["ts"])
    union = {k: np.concatenate([stored[k], closed[k][extra]]) for k in COLUMNS}
    order = np.argsort(union["ts"], kind="stable")
    return {k: v[order] for k, v in union.items()}


def _bars(candles) -> dict[str, np.ndarray]:
    return {name: getattr(candles, name) for name in COLUMNS}


def _assert_same(got: dict, expected: dict, *, volume_ulps: bool = False) -> None:
    for name in COLUMNS:
        if name == "volume" and volume_ulps:
            # numpy sums a bucket pairwise, PostgreSQL row by row: the last bits may differ.
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-14, atol=0)
        else:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def _since(bars: dict, start_ms: int) -> dict:
    keep = bars["ts"] >= start_ms
    return {k: v[keep] for k, v in bars.items()}


def test_it_merges_the_database_and_the_live_window_the_database_winning(live):
    union = _setup(live, "HYB-A")
    start = BAR_NOW - 3 * DAY
    candles = candles_load("HYB-A", "1m", start)
    _assert_same(_bars(candles), _since(union, start))
    assert candles.sources == {
        "ranges": [
            {"source": "timescaledb", "first": ms_iso(start), "last": ms_iso(DB_END - MINUTE), "bars": 2880},
            {"source": "live_redis", "first": ms_iso(DB_END), "last": ms_iso(BAR_NOW - MINUTE), "bars": 1440},
        ],
        "live": {
            "source": "live_redis",
            "key": "candles_with_indicators:HYB-A:1m",
            "bars": 1440,
            "rejected": 0,
            "unclosed": 1,
        },
    }
    # The forming 12:00 bar is not read.
    assert candles.ts[-1] == BAR_NOW - MINUTE
    # A period the database covers is read from it alone, as before.
    past = candles_load("HYB-A", "1m", start, DB_END)
    assert "live" not in past.sources and len(past) == 2880


def test_live_bars_fill_a_stored_gap_inside_the_live_window(live):
    hole = (BAR_NOW - DAY - 6 * 60 * MINUTE, BAR_NOW - DAY - 5 * 60 * MINUTE)  # an hour, in the overlap
    union = _setup(live, "HYB-B", drop=hole)
    candles = candles_load("HYB-B", "1m", BAR_NOW - 3 * DAY)
    _assert_same(_bars(candles), _since(union, BAR_NOW - 3 * DAY))
    assert [(r["source"], r["bars"]) for r in candles.sources["ranges"]] == [
        ("timescaledb", 2880 - 360),
        ("live_redis", 60),
        ("timescaledb", 300),
        ("live_redis", 1440),
    ]


@pytest.mark.parametrize(("timeframe", "offset"), [("1h", 0), ("4h", 17 * MINUTE), ("15m", 7 * MINUTE)])
def test_a_resampled_hybrid_read_equals_the_resampled_union(live, timeframe, offset):
    # Stored bars end half an hour before the live window's first bucket: the head's
    # last bucket is incomplete, and interior, so it is kept.
    union = _setup(live, "HYB-C", drop=(LIVE_FIRST - 30 * MINUTE, LIVE_FIRST))
    store_candles("HYB-UNION", "1m", union)
    start = BAR_NOW - 3 * DAY + offset
    got = candles_load("HYB-C", timeframe, start)
    _assert_same(_bars(got), _bars(candles_load("HYB-UNION", timeframe, start)), volume_ulps=True)
    assert "live_redis" in {r["source"] for r in got.sources["ranges"]}


def test_without_a_live_source_reads_are_as_before(live, settings):
    _setup(live, "HYB-D")
    settings.LIVE_REDIS_URL = ""
    candles = candles_load("HYB-D", "1m", BAR_NOW - 3 * DAY)
    assert candles.ts[-1] == DB_END - MINUTE
    assert candles.sources == {
        "ranges": [
            {
                "source": "timescaledb",
                "first": ms_iso(BAR_NOW - 3 * DAY),
                "last": ms_iso(DB_END - MINUTE),
                "bars": 2880,
            }
        ]
    }


def test_a_series_only_the_live_redis_holds_is_read_from_it(live):
    live.put("HYB-E", "1m", live_items(minute_bars(BAR_NOW - 60 * MINUTE, 61)))  # the last one forming
    candles = candles_load("HYB-E", "1m", BAR_NOW - DAY)
    assert len(candles) == 60
    assert [r["source"] for r in candles.sources["ranges"]] == ["live_redis"]
    assert not Candle.objects.filter(symbol="HYB-E").exists()  # reading never stores


def test_a_run_over_the_last_3_days_equals_the_run_over_a_file_of_the_union(live, tmp_path):
    union = _setup(live, "HYB-RUN")
    start_iso = ms_iso(BAR_NOW - 3 * DAY)
    path = tmp_path / "union.csv"
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [
        ",".join([str(int(row[0]))] + [repr(float(x)) for x in row[1:]])
        for row in zip(*(union[k] for k in COLUMNS), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")

    owner = make_user("live-runner")
    end_iso = ms_iso(BAR_NOW + MINUTE)  # now: the 12:00 bar is inside the period, still forming
    data = backtest_data("live-3d", symbol="HYB-RUN", timeframe="1m", start=start_iso, end=end_iso)
    run = services.run_enqueue(spec=make_spec(owner, data=data), owner=owner)
    assert services.run_execute(run_id=run.pk).status == JobStatus.SUCCEEDED
    run = BacktestRun.objects.get(pk=run.pk)

    file_candles = candles_from_file(path, timeframe="1m", start=start_iso, end=end_iso)
    strategy = get_strategy("ema_cross")
    expected = run_backtest(
        file_candles, strategy, run.config["params"], run.config["execution"], timeframe_minutes=1
    )
    assert run.metrics == expected.metrics
    assert run.total_trades == expected.metrics["total_trades"] > 0
    trades = list(Trade.objects.filter(run=run).order_by("seq").values_list("pnl", "exit_reason"))
    assert trades == [(t["pnl"], t["exit_reason"]) for t in expected.trades_as_dicts()]
    np.testing.assert_array_equal(run.equity.values(), expected.equity)
    np.testing.assert_array_equal(run.equity.ts(), file_candles.ts)
    assert [(r["source"], r["bars"]) for r in run.data_sources["ranges"]] == [
        ("timescaledb", 2880),
        ("live_redis", 1440),
    ]
    assert run.data_sources["live"]["key"] == "candles_with_indicators:HYB-RUN:1m"
