"""The effective configuration of a run: a Backtest spec version plus overrides.

Overrides may replace ``params``, ``market`` and ``execution`` fields. The merged
document is validated exactly like a spec (same JSON Schemas, same strategy
parameter schema), so an override can never smuggle in what a spec could not.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from jobs.errors import JobError
from specs.models import Spec, SpecNotFound

if TYPE_CHECKING:
    from engine.runner import BacktestResult, Candles

OVERRIDABLE = ("params", "market", "execution")


class RunConfigError(JobError):
    """Bad overrides or an unknown spec; ``errors`` maps a field path to messages."""


def backtest_spec_for(user, ref: str | int, version: int | None = None) -> Spec:
    """The Backtest spec ``ref`` (a name, or a numeric id of an exact version) visible to ``user``."""
    try:
        return Spec.objects.for_ref(user, "Backtest", ref, version)
    except SpecNotFound as exc:
        raise RunConfigError(str(exc), {"spec": [str(exc)]}) from None


def effective_config(spec: Spec, overrides: dict[str, Any]) -> dict[str, Any]:
    """Spec data with ``overrides`` merged in and re-validated; the dict a run executes."""
    from specs.normalise import normalise_backtest
    from specs.validation import validate_backtest_data

    if not isinstance(overrides, dict):
        raise RunConfigError("overrides must be a mapping", {"overrides": ["must be a mapping"]})
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        message = f"cannot override {', '.join(unknown)}; only {', '.join(OVERRIDABLE)}"
        raise RunConfigError(message, {f"overrides.{key}": [message] for key in unknown})
    data = copy.deepcopy(spec.data)
    for section, changes in overrides.items():
        if not isinstance(changes, dict):
            raise RunConfigError(
                f"overrides.{section} must be a mapping", {f"overrides.{section}": ["must be a mapping"]}
            )
        data.setdefault(section, {}).update(changes)
    errors = validate_backtest_data(data)
    if errors:
        raise RunConfigError(
            "the overrides make an invalid Backtest: " + "; ".join(f"{path}: {msg}" for path, msg in errors),
            {
                f"overrides.{path}" if path.split(".")[0] in OVERRIDABLE else path: [msg]
                for path, msg in errors
            },
        )
    return normalise_for_run(normalise_backtest(data))


def normalise_for_run(data: dict[str, Any]) -> dict[str, Any]:
    """Keep what the engine needs: strategy, params, market, execution, report."""
    return {
        key: data.get(key) for key in ("strategy", "params", "market", "execution", "report") if key in data
    }


def config_backtest(candles: Candles, config: dict[str, Any]) -> BacktestResult:
    """The engine run of an effective configuration (or a spec file's normalised
    Backtest) over ``candles``: its strategy plug-in, params and execution, the
    annualised metrics on its market's timeframe."""
    from engine.runner import run_backtest
    from marketdata.timeframes import timeframe_minutes
    from strategies.registry import get_strategy

    return run_backtest(
        candles,
        get_strategy(config["strategy"]),
        config["params"],
        config["execution"],
        timeframe_minutes=timeframe_minutes(config["market"]["timeframe"]),
    )
