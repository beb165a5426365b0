"""`manage.py backtest` and `manage.py lookahead`: file mode (no database) and queued mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from backtests.management.commands.backtest import parse_set
from backtests.models import BacktestRun
from engine.runner import run_backtest
from jobs.models import JobStatus
from specs.services import spec_apply
from strategies.registry import get_strategy
from tests.conftest import REPO
from tests.factories import make_user, random_walk_candles, store_candles

EXAMPLE = REPO / "specs" / "examples" / "hyperrsi.yaml"


def _offline(*args: str) -> subprocess.CompletedProcess:
    """manage.py with no database, cache or secret in the environment."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG"}
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DATABASE_URL"] = "sqlite:////nonexistent-dir/never-created.sqlite3"  # touching it would fail
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_file_mode_writes_the_engines_result_with_no_database(sample_csv_path, tmp_path):
    out = tmp_path / "out.json"
    result = _offline(
        "backtest", "--spec", str(EXAMPLE), "--candles", str(sample_csv_path), "--json", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "hyperrsi-btc-15m" in result.stdout
    written = json.loads(out.read_text())
    assert set(written) == {"metrics", "trades", "equity"}

    frame = pd.read_csv(sample_csv_path)
    ts = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("ms").astype("int64").to_numpy()
    keep = (ts >= 1633046400000) & (ts < 1640736000000)  # 2021-10-01 <= t < 2021-12-29
    candles = {"ts": ts[keep]} | {
        c: frame[c].to_numpy(float)[keep] for c in ("open", "high", "low", "close", "volume")
    }
    spec_params = {
        "rsi_period": 14, "rsi_oversold": 30, "rsi_overbought": 70, "rsi_method": "wilder",
        "entry_option": "reverse", "use_trend_filter": True, "trend_ema_period": 200,
        "leverage": 3, "stop_loss_percent": 2.0,
    }  # fmt: skip
    expected = run_backtest(
        candles,
        get_strategy("hyperrsi"),
        spec_params,
        {"slippage_bps": 1, "fill": "next_open"},
        timeframe_minutes=15,
    ).to_json_dict()
    assert written["metrics"] == expected["metrics"]
    assert written["trades"] == expected["trades"]
    np.testing.assert_array_equal(written["equity"], expected["equity"])
    assert len(written["equity"]) == int(keep.sum())
    trade = written["trades"][0]
    assert list(trade) == [
        "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity",
        "fees", "pnl", "return", "bars_held", "exit_reason",
    ]  # fmt: skip


def test_file_mode_names_the_bad_candle_line(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2021-10-01T00:00:00Z,100,101,99,100,5\n"
        "2021-10-01T00:15:00Z,100,99,98,100.5,5\n"  # high below close: line 3
    )
    result = _offline("backtest", "--spec", str(EXAMPLE), "--candles", str(csv))
    assert result.returncode != 0
    assert "line 3" in result.stderr or "line 3" in result.stdout.lower() or "lines 3" in result.stderr
    assert "high" in result.stderr


def test_file_mode_names_the_bad_spec_line(tmp_path, sample_csv_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "kind: Backtest\nname: x\nstrategy: hyperrsi\nparams:\n  rsi_period: 0\n"
        "market: {symbol: BTC-USD, timeframe: 15m, start: 2021-10-01, end: 2021-12-29}\n"
    )
    result = _offline("backtest", "--spec", str(spec), "--candles", str(sample_csv_path))
    assert result.returncode != 0
    assert "params.rsi_period (line 5, column 15)" in result.stderr


def test_lookahead_command_passes_for_the_example(sample_csv_path):
    result = _offline("lookahead", "--spec", str(EXAMPLE), "--candles", str(sample_csv_path), "--cuts", "10")
    assert result.returncode == 0, result.stderr
    assert "no lookahead over 10 cuts" in result.stdout


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["params.rsi_period=10"], {"params": {"rsi_period": 10}}),
        (
            ["params.use_trend_filter=false", "params.leverage=2.5"],
            {"params": {"use_trend_filter": False, "leverage": 2.5}},
        ),
        # dates stay text, as in a spec file, for the market checks to parse
        (["market.start=2021-11-01"], {"market": {"start": "2021-11-01"}}),
        (["market.end=2021-12-01T12:00:00Z"], {"market": {"end": "2021-12-01T12:00:00Z"}}),
        (["market.end='2021-12-01'"], {"market": {"end": "2021-12-01"}}),
        (["params.stop_loss_percent=0.1"], {"params": {"stop_loss_percent": 0.1}}),
        (["params.take_profit_percent=null"], {"params": {"take_profit_percent": None}}),
        (["execution.fill=close"], {"execution": {"fill": "close"}}),
    ],
)
def test_set_builds_nested_overrides_from_yaml_scalars(items, expected):
    assert parse_set(items) == expected


@pytest.mark.parametrize(
    "item", ["params.rsi_period", "=3", "params.x=[unclosed", "params.x=" + "[" * 5000 + "]" * 5000]
)
def test_set_rejects_malformed_items(item):
    with pytest.raises(CommandError, match="--set"):
        parse_set([item])


# transaction=True: the command commits, so its on_commit hook sends the task, which
# runs inline (Q_SYNC) before --wait starts polling.
@pytest.mark.django_db(transaction=True)
def test_queued_mode_waits_and_prints_metrics_as_json():
    owner = make_user("cli")
    store_candles("TEST-CLI", "1h", random_walk_candles(600, timeframe="1h", seed=5))
    spec_apply(
        text=(
            "kind: Backtest\nname: cli-ema\nstrategy: ema_cross\n"
            "market: {symbol: TEST-CLI, timeframe: 1h, start: 2024-01-01, end: 2024-01-20}\n"
        ),
        owner=owner,
    )
    out = StringIO()
    call_command(
        "backtest",
        "cli-ema",
        "--user",
        "cli",
        "--set",
        "params.fast_period=5",
        "--wait",
        "--json",
        "--timeout",
        "60",
        stdout=out,
    )
    body = json.loads(out.getvalue().strip().splitlines()[-1])
    run = BacktestRun.objects.get(pk=body["id"])
    assert body["status"] == run.status == JobStatus.SUCCEEDED
    assert body["metrics"] == run.metrics
    assert run.config["params"]["fast_period"] == 5


@pytest.mark.django_db(transaction=True)
def test_queued_mode_reports_a_failed_run_and_exits_non_zero():
    owner = make_user("cli")
    spec_apply(
        text=(
            "kind: Backtest\nname: nodata\nstrategy: ema_cross\n"
            "market: {symbol: NO-SUCH, timeframe: 1h, start: 2024-01-01, end: 2024-01-20}\n"
        ),
        owner=owner,
    )
    with pytest.raises(CommandError, match=r"failed: no NO-SUCH"):
        call_command("backtest", "nodata", "--user", "cli", "--wait", "--timeout", "5", stdout=StringIO())


@pytest.mark.django_db
def test_queued_mode_names_an_unknown_spec():
    make_user("cli")
    with pytest.raises(CommandError, match="no Backtest spec named 'ghost'"):
        call_command("backtest", "ghost", "--user", "cli", stdout=StringIO())
