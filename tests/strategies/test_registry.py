"""The strategy registry and the built-in strategies' parameter schemas."""

from __future__ import annotations

import jsonschema
import numpy as np
import pytest
from jsonschema import Draft202012Validator

from strategies.registry import StrategyDef, all_strategies, get_strategy, price_array, register

BUILTINS = ["ema_cross", "hyperrsi"]


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(get_strategy(name).params_schema)


def error_paths(name: str, params: dict) -> list[str]:
    return sorted(
        ".".join(map(str, e.absolute_path)) or e.validator for e in validator(name).iter_errors(params)
    )


def test_unknown_strategy_error_lists_the_known_names():
    with pytest.raises(KeyError, match=r"unknown strategy 'hyper_rsi' \(known: ema_cross, hyperrsi\)"):
        get_strategy("hyper_rsi")


def test_all_strategies_lists_the_builtins_sorted_by_name():
    assert [s.name for s in all_strategies()] == BUILTINS


def test_registering_a_taken_name_is_refused_and_keeps_the_original():
    original = get_strategy("hyperrsi")
    impostor = StrategyDef(
        name="hyperrsi",
        title="x",
        description="x",
        params_schema={},
        warmup=lambda p: 0,
        signals=original.signals,
    )
    with pytest.raises(ValueError, match="'hyperrsi' is already registered"):
        register(impostor)
    assert get_strategy("hyperrsi") is original


@pytest.mark.parametrize("name", BUILTINS)
def test_params_schema_is_valid_draft_2020_12_and_closed(name):
    schema = get_strategy(name).params_schema
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    for key, prop in schema["properties"].items():
        assert "type" in prop, key
        assert prop.get("description"), key


@pytest.mark.parametrize("name", BUILTINS)
def test_defaults_validate_against_their_own_schema(name):
    strategy = get_strategy(name)
    validator(name).validate(strategy.defaults())
    validator(name).validate({})


def test_hyperrsi_defaults_are_the_live_systems():
    assert get_strategy("hyperrsi").defaults() == {
        "rsi_period": 14,
        "rsi_oversold": 30,
        "rsi_overbought": 70,
        "rsi_method": "wilder",
        "entry_option": "reverse",
        "use_trend_filter": True,
        "trend_ema_period": 200,
        "leverage": 3,
        "stop_loss_percent": 2.0,
    }


def test_take_profit_is_optional_with_no_default():
    for name in BUILTINS:
        strategy = get_strategy(name)
        assert "take_profit_percent" in strategy.params_schema["properties"]
        assert "take_profit_percent" not in strategy.defaults()
        assert strategy.with_defaults({"take_profit_percent": 5})["take_profit_percent"] == 5


def test_ema_cross_defaults():
    assert get_strategy("ema_cross").defaults() == {
        "fast_period": 12,
        "slow_period": 26,
        "leverage": 1,
        "stop_loss_percent": 2.0,
    }


def test_with_defaults_fills_only_missing_params():
    params = get_strategy("hyperrsi").with_defaults({"rsi_period": 7, "take_profit_percent": 4.0})
    assert params["rsi_period"] == 7
    assert params["take_profit_percent"] == 4.0
    assert params["trend_ema_period"] == 200


@pytest.mark.parametrize(
    ("name", "params", "paths"),
    [
        ("hyperrsi", {"rsi_period": 1}, ["rsi_period"]),
        ("hyperrsi", {"rsi_period": 51}, ["rsi_period"]),
        ("hyperrsi", {"rsi_period": 14.5}, ["rsi_period"]),
        ("hyperrsi", {"rsi_oversold": 50.5}, ["rsi_oversold"]),
        ("hyperrsi", {"rsi_overbought": 49}, ["rsi_overbought"]),
        ("hyperrsi", {"rsi_method": "ema"}, ["rsi_method"]),
        ("hyperrsi", {"entry_option": "fade"}, ["entry_option"]),
        ("hyperrsi", {"use_trend_filter": "yes"}, ["use_trend_filter"]),
        ("hyperrsi", {"trend_ema_period": 49}, ["trend_ema_period"]),
        ("hyperrsi", {"leverage": 21}, ["leverage"]),
        ("hyperrsi", {"leverage": 0.5}, ["leverage"]),
        ("hyperrsi", {"stop_loss_percent": 0.4}, ["stop_loss_percent"]),
        ("hyperrsi", {"stop_loss_percent": 10.5}, ["stop_loss_percent"]),
        ("hyperrsi", {"take_profit_percent": 0}, ["take_profit_percent"]),
        ("hyperrsi", {"take_profit_percent": 101}, ["take_profit_percent"]),
        ("hyperrsi", {"rsi_periods": 14}, ["additionalProperties"]),
        ("ema_cross", {"fast_period": 1}, ["fast_period"]),
        ("ema_cross", {"slow_period": 501}, ["slow_period"]),
        ("ema_cross", {"atr_stop": 2}, ["additionalProperties"]),
    ],
)
def test_out_of_range_params_are_rejected_at_their_path(name, params, paths):
    assert error_paths(name, params) == paths


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("hyperrsi", {"rsi_period": 2, "rsi_oversold": 0, "rsi_overbought": 100, "take_profit_percent": 100}),
        ("hyperrsi", {"rsi_period": 50, "rsi_oversold": 50, "rsi_overbought": 50, "leverage": 20}),
        ("hyperrsi", {"trend_ema_period": 500, "stop_loss_percent": 0.5, "take_profit_percent": 0.1}),
        ("ema_cross", {"fast_period": 200, "slow_period": 500, "leverage": 20, "stop_loss_percent": 10}),
    ],
)
def test_params_at_the_bounds_are_accepted(name, params):
    validator(name).validate(params)


def test_builtins_declare_their_cross_field_constraints():
    assert get_strategy("hyperrsi").constraints == ("rsi_oversold < rsi_overbought",)
    assert get_strategy("ema_cross").constraints == ("fast_period < slow_period",)


def test_price_array_returns_contiguous_float64_without_copying_when_it_can():
    already = np.arange(5, dtype=np.float64)
    assert price_array("close", already) is already
    converted = price_array("close", np.arange(10, dtype=np.float32)[::2])
    assert converted.dtype == np.float64 and converted.flags.c_contiguous
    with pytest.raises(ValueError, match=r"high must be 1-D, got shape \(\)"):
        price_array("high", 3.0)


def test_jsonschema_error_messages_carry_the_schema_bounds():
    # Spec validation shows these messages verbatim; the bound must be in them.
    with pytest.raises(jsonschema.ValidationError, match="51 is greater than the maximum of 50"):
        validator("hyperrsi").validate({"rsi_period": 51})


def _plain(name: str, **fields) -> StrategyDef:
    return StrategyDef(
        name=name,
        title=name,
        description=name,
        params_schema={"type": "object", "properties": {}},
        warmup=lambda params: 0,
        signals=lambda params, *columns: np.zeros(columns[3].shape[0], dtype=np.int8),
        **fields,
    )


def test_a_sweep_code_taken_by_another_strategy_is_refused():
    from strategies.sweep import SweepAdapter

    taken = get_strategy("hyperrsi").sweep.code
    adapter = SweepAdapter(code=taken, indicator_params=(), layout=lambda columns: None)
    with pytest.raises(ValueError, match=rf"sweep code {taken} is 'hyperrsi'"):
        register(_plain("copycat", sweep=adapter))
    with pytest.raises(KeyError):
        get_strategy("copycat")


def test_a_strategy_without_a_sweep_adapter_cannot_be_swept(monkeypatch):
    from optimizers.adapters import get_adapter, sweepable
    from strategies import registry

    monkeypatch.setitem(registry._REGISTRY, "plain", _plain("plain"))
    assert sweepable() == ["ema_cross", "hyperrsi"]
    with pytest.raises(ValueError, match=r"'plain' cannot be swept \(sweepable: ema_cross, hyperrsi\)"):
        get_adapter("plain")


def test_the_builtins_declare_their_report_indicators():
    close = 100.0 + np.sin(np.arange(400) / 7.0)
    hyperrsi = get_strategy("hyperrsi").indicators
    assert [line.label for line in hyperrsi({}, close)] == ["trend EMA 200", "RSI 14"]
    assert [line.label for line in hyperrsi({"use_trend_filter": False}, close)] == ["RSI 14"]
    rsi = hyperrsi({}, close)[1]
    assert (rsi.panel, rsi.levels, rsi.bounds) == ("lower", (30.0, 70.0), (0.0, 100.0))
    lines = get_strategy("ema_cross").indicators({"fast_period": 5}, close)
    assert [(line.label, line.panel) for line in lines] == [("EMA 5", "price"), ("EMA 26", "price")]
