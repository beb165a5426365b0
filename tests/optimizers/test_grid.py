"""Grid enumeration: sizes, order, float steps, constraints and the size cap."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers.constraints import Constraints
from optimizers.grid import GridTooLarge, grid_columns
from optimizers.space import Space, SpaceError, dicts_from_columns, params_hash, range_values
from strategies.registry import get_strategy

HYPERRSI = get_strategy("hyperrsi")
SCHEMA = HYPERRSI.params_schema
NAMES = list(SCHEMA["properties"])


def space(mapping) -> Space:
    return Space.from_mapping(mapping, SCHEMA)


def constraints(sources, fixed=None) -> Constraints:
    return Constraints(sources, fixed=fixed or HYPERRSI.defaults(), names=NAMES)


def test_it_enumerates_the_cartesian_product_of_values_and_ranges():
    s = space(
        {
            "rsi_period": {"min": 7, "max": 28, "step": 1},
            "rsi_oversold": {"values": [20, 25, 30, 35]},
            "stop_loss_percent": {"min": 0.5, "max": 5.0, "step": 0.5},
        }
    )
    assert [axis.size for axis in s.axes] == [22, 4, 10]
    columns, size = grid_columns(s, max_combinations=100_000)
    assert size == 22 * 4 * 10 == 880
    assert len(columns["rsi_period"]) == 880
    rows = dicts_from_columns(columns)
    # every combination once, last axis fastest
    assert len({params_hash(r) for r in rows}) == 880
    assert rows[0] == {"rsi_period": 7, "rsi_oversold": 20.0, "stop_loss_percent": 0.5}
    assert rows[1] == {"rsi_period": 7, "rsi_oversold": 20.0, "stop_loss_percent": 1.0}
    assert rows[10] == {"rsi_period": 7, "rsi_oversold": 25.0, "stop_loss_percent": 0.5}
    assert rows[-1] == {"rsi_period": 28, "rsi_oversold": 35.0, "stop_loss_percent": 5.0}
    # typed by the strategy schema: integer stays int, number becomes float
    assert all(type(r["rsi_period"]) is int and type(r["rsi_oversold"]) is float for r in rows)


def test_it_steps_floats_without_drift():
    assert range_values("x", "number", 0.1, 0.3, 0.1) == (0.1, 0.2, 0.3)
    # naive accumulation gives 0.30000000000000004 and loses or adds the last value
    assert 0.1 + 0.1 + 0.1 != 0.3
    values = range_values("x", "number", 0.5, 5.0, 0.5)
    assert values == tuple(i / 2 for i in range(1, 11))
    many = range_values("x", "number", 0.0, 1.0, 0.01)
    assert len(many) == 101
    assert many[-1] == 1.0 and many[29] == 0.29 and many[57] == 0.57
    # a max that is not on the grid is not reached
    assert range_values("x", "number", 1.0, 2.05, 0.25) == (1.0, 1.25, 1.5, 1.75, 2.0)
    assert range_values("x", "integer", 10, 50, 10) == (10, 20, 30, 40, 50)


def test_it_filters_by_constraints_over_swept_and_base_params():
    s = space(
        {"rsi_oversold": {"min": 20, "max": 50, "step": 10}, "rsi_overbought": {"values": [50, 60, 70]}}
    )
    columns, size = grid_columns(s, constraints(["rsi_oversold < rsi_overbought"]), max_combinations=1000)
    assert size == 12
    rows = dicts_from_columns(columns)
    # (50, 50) is the only pair ruled out
    assert len(rows) == 11
    assert {"rsi_oversold": 50.0, "rsi_overbought": 50.0} not in rows
    # a constraint on a swept and a fixed parameter: base rsi_overbought is 55 here
    s2 = space({"rsi_oversold": {"min": 20, "max": 50, "step": 10}})
    c2 = Constraints(["rsi_oversold + 10 < rsi_overbought"], fixed={"rsi_overbought": 55}, names=NAMES)
    columns2, _ = grid_columns(s2, c2, max_combinations=1000)
    assert columns2["rsi_oversold"].tolist() == [20.0, 30.0, 40.0]


def test_it_combines_several_constraints_and_strategy_ones():
    ema = get_strategy("ema_cross")
    s = Space.from_mapping(
        {"fast_period": {"min": 5, "max": 30, "step": 5}, "slow_period": {"min": 10, "max": 30, "step": 10}},
        ema.params_schema,
    )
    c = Constraints(
        ["slow_period - fast_period >= 10"],
        fixed=ema.defaults(),
        names=list(ema.params_schema["properties"]),
        builtin=ema.constraints,
    )
    columns, size = grid_columns(s, c, max_combinations=1000)
    assert size == 18
    pairs = list(zip(columns["fast_period"].tolist(), columns["slow_period"].tolist(), strict=True))
    assert pairs == [(f, sl) for f in range(5, 31, 5) for sl in (10, 20, 30) if sl - f >= 10]


def test_it_puts_the_indicator_axes_first():
    s = space({"stop_loss_percent": {"values": [1.0, 2.0]}, "rsi_period": {"values": [10, 20, 30]}})
    columns, _ = grid_columns(s, max_combinations=100, first=("rsi_period",))
    assert columns["rsi_period"].tolist() == [10, 10, 20, 20, 30, 30]
    assert columns["stop_loss_percent"].tolist() == [1.0, 2.0] * 3


def test_it_refuses_a_grid_above_the_cap():
    s = space(
        {
            "rsi_period": {"min": 2, "max": 50, "step": 1},
            "rsi_oversold": {"min": 0, "max": 50, "step": 1},
            "trend_ema_period": {"min": 50, "max": 500, "step": 1},
        }
    )
    assert s.grid_size() == 49 * 51 * 451
    with pytest.raises(GridTooLarge) as info:
        grid_columns(s, max_combinations=100_000)
    assert "1,127,049 combinations" in str(info.value)
    assert "100,000" in str(info.value)
    # exactly at the cap is fine
    columns, size = grid_columns(space({"rsi_period": {"min": 2, "max": 50, "step": 1}}), max_combinations=49)
    assert size == 49 and len(columns["rsi_period"]) == 49


@pytest.mark.parametrize(
    ("mapping", "path", "message"),
    [
        ({"nope": {"values": [1]}}, "space.nope", "is not a parameter"),
        ({"rsi_period": {"values": [1, 14]}}, "space.rsi_period.values[0]", "below the minimum 2"),
        ({"rsi_period": {"values": [14.5]}}, "space.rsi_period.values[0]", "must be an integer"),
        ({"rsi_period": {"min": 5, "max": 20, "step": 2.5}}, "space.rsi_period.step", "not a whole number"),
        ({"rsi_period": {"min": 20, "max": 5, "step": 1}}, "space.rsi_period.max", "less than min"),
        ({"rsi_period": {"min": 5, "max": 20}}, "space.rsi_period", "needs step"),
        ({"entry_option": {"values": ["reverse", "sideways"]}}, "space.entry_option.values[1]", "not one of"),
        ({"entry_option": {"min": 1, "max": 2, "step": 1}}, "space.entry_option", "is not numeric"),
        ({"use_trend_filter": {"values": [1]}}, "space.use_trend_filter.values[0]", "true or false"),
        ({"stop_loss_percent": {"min": 0.5, "max": 12, "step": 0.5}}, "space.stop_loss_percent.max", "above"),
    ],
)
def test_it_names_the_bad_space_field(mapping, path, message):
    with pytest.raises(SpaceError) as info:
        space(mapping)
    assert info.value.path == path
    assert message in info.value.message


def test_it_accepts_the_normalised_form_with_listed_values():
    # specs store a range with its values listed; the range is what is enumerated
    s = space({"stop_loss_percent": {"min": 0.5, "max": 1.5, "step": 0.5, "values": [0.5, 1.0, 1.5]}})
    assert s.axes[0].values == (0.5, 1.0, 1.5)


def test_it_names_a_bad_constraint():
    with pytest.raises(SpaceError) as info:
        constraints(["rsi_period < banana"])
    assert info.value.path == "constraints[0]"
    assert "banana" in info.value.message


def test_params_hash_is_stable_and_typed():
    a = params_hash({"rsi_period": 14, "stop_loss_percent": 2.0})
    assert a == params_hash({"stop_loss_percent": 2.0, "rsi_period": 14})
    assert a != params_hash({"rsi_period": 14, "stop_loss_percent": 2.5})
    assert len(a) == 64 and int(a, 16) >= 0
    assert np.unique([a, a]).size == 1
