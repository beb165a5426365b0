"""Out-of-sample split and walk-forward windows on hand-checked cases; the stitched curve."""

from __future__ import annotations

import numpy as np
import pytest

from engine.runner import simulate
from optimizers.evaluate import Evaluator
from optimizers.objective import Objective
from optimizers.space import Space, columns_from_dicts
from optimizers.validation import (
    ValidationError,
    Window,
    bars_info,
    oos_split,
    stitch,
    walk_forward,
    walk_forward_windows,
)
from strategies.registry import get_strategy
from tests.optimizers.builders import HOUR_MS, T0_MS, walk_candles


def test_oos_split_holds_out_the_last_fraction_of_the_bars():
    assert oos_split(1000, 0.2) == 800
    assert oos_split(1001, 0.25) == 751  # 250.25 held out -> 250
    assert oos_split(10, 0.25) == 7  # 2.5 -> 3 (half up)
    assert oos_split(100, 0.05) == 95
    with pytest.raises(ValidationError, match="at least 2 bars"):
        oos_split(10, 0.05)  # 0.5 bar rounds up to 1 held out: too few


def test_walk_forward_rolling_windows_tile_the_end_of_the_period():
    windows = walk_forward_windows(1000, 4, 0.5)
    assert windows == [
        Window(0, (0, 200), (200, 400)),
        Window(1, (200, 400), (400, 600)),
        Window(2, (400, 600), (600, 800)),
        Window(3, (600, 800), (800, 1000)),
    ]


def test_walk_forward_with_an_uneven_ratio():
    # t = 0.6 -> r = 1.5; S = floor(1000 / 5.5) = 181; T = 1000 - 4 * 181 = 276
    windows = walk_forward_windows(1000, 4, 0.6)
    assert [w.train for w in windows] == [(0, 276), (181, 457), (362, 638), (543, 819)]
    assert [w.test for w in windows] == [(276, 457), (457, 638), (638, 819), (819, 1000)]
    # t = 0.7 -> r = 7/3 exactly (no float residue): S = floor(1200 / (3 + 7/3)) = 225
    windows = walk_forward_windows(1200, 3, 0.7)
    assert [w.test for w in windows] == [(525, 750), (750, 975), (975, 1200)]
    assert windows[0].train == (0, 525)


def test_anchored_walk_forward_trains_from_the_start():
    windows = walk_forward_windows(1000, 4, 0.5, anchored=True)
    assert [w.train for w in windows] == [(0, 200), (0, 400), (0, 600), (0, 800)]
    assert [w.test for w in windows] == [(200, 400), (400, 600), (600, 800), (800, 1000)]


def test_too_many_windows_are_refused():
    with pytest.raises(ValidationError, match="fewer windows"):
        walk_forward_windows(20, 10, 0.9)


def test_bars_info_names_the_window_in_time():
    ts = T0_MS + np.arange(48, dtype=np.int64) * HOUR_MS
    assert bars_info(ts, 24, 48) == {
        "lo": 24,
        "hi": 48,
        "bars": 24,
        "start": "2024-01-02T00:00:00Z",
        "end": "2024-01-02T23:00:00Z",
    }


def test_stitched_equity_chains_the_test_windows():
    candles = walk_candles(1200, seed=3)
    evaluator = Evaluator(candles, "hyperrsi", None)
    st = get_strategy("hyperrsi")
    windows = walk_forward_windows(1200, 3, 0.5)
    params = [st.with_defaults({"rsi_period": p, "use_trend_filter": False}) for p in (7, 10, 14)]
    ts, equity, metrics = stitch(evaluator, params, windows)
    assert ts.tolist() == candles["ts"][300:].tolist()
    # each window alone, from the initial capital; chained: scaled to the previous end
    level = 10_000.0
    for p, window in zip(params, windows, strict=True):
        lo, hi = window.test
        sig = st.signals(
            p, candles["open"], candles["high"], candles["low"], candles["close"], candles["volume"]
        )
        alone = simulate(
            candles["ts"][lo:hi], candles["open"][lo:hi], candles["high"][lo:hi], candles["low"][lo:hi],
            candles["close"][lo:hi], sig[lo:hi], None, leverage=p["leverage"],
            stop_loss_percent=p["stop_loss_percent"],
        )  # fmt: skip
        part = equity[lo - 300 : hi - 300]
        np.testing.assert_allclose(part, alone.equity * level / 10_000.0, rtol=1e-12)
        level = float(part[-1])
    assert metrics["total_return"] == pytest.approx(equity[-1] / 10_000.0 - 1.0, rel=1e-12)
    assert metrics["total_trades"] > 0


def test_walk_forward_picks_the_best_on_each_train_window():
    candles = walk_candles(1500, seed=5)
    evaluator = Evaluator(candles, "hyperrsi", None)
    st = get_strategy("hyperrsi")
    space = Space.from_mapping({"rsi_period": {"min": 5, "max": 25, "step": 5}}, st.params_schema)
    candidates = [{"rsi_period": v} for v in space.axes[0].values]
    full = [st.with_defaults({**c, "use_trend_filter": False}) for c in candidates]
    columns = columns_from_dicts(full, list(full[0]))
    objective = Objective("total_return")
    windows = walk_forward_windows(1500, 3, 0.5)

    def optimise(lo, hi):
        rows = evaluator.evaluate(columns, lo=lo, hi=hi)
        best = int(np.argmax(rows[:, 0]))
        return candidates[best], full[best], rows[best], len(candidates)

    results, _, _, _ = walk_forward(evaluator, objective, windows, optimise)
    assert [r.window for r in results] == windows
    for r in results:
        train = evaluator.evaluate(columns, lo=r.window.train[0], hi=r.window.train[1])
        assert r.best_params == candidates[int(np.argmax(train[:, 0]))]
        assert r.train_metrics["total_return"] == pytest.approx(float(train[:, 0].max()), rel=1e-12)
        test = evaluator.evaluate(
            columns_from_dicts(
                [st.with_defaults({**r.best_params, "use_trend_filter": False})], list(full[0])
            ),
            lo=r.window.test[0],
            hi=r.window.test[1],
        )
        assert r.test_metrics["total_return"] == pytest.approx(float(test[0, 0]), rel=1e-12)
