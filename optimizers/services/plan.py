"""The plan: what a sweep's stored config means (strategy, space, constraints, objective).

Every phase parses the config through ``sweep_plan``; anything that does not fit is a
``SweepError`` naming the field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from jobs.errors import JobError
from optimizers.adapters import get_adapter
from optimizers.chunking import chunk_size_auto, market_bars
from optimizers.constraints import Constraints
from optimizers.evaluate import full_columns
from optimizers.genetic import GeneticSettings
from optimizers.models import SweepMethod
from optimizers.objective import Objective
from optimizers.space import Space, SpaceError, columns_from_dicts
from specs.models import Spec
from strategies.registry import StrategyDef, get_strategy


class SweepError(JobError):
    """A sweep cannot be created, changed or run; the message is meant for the user."""


def max_combinations() -> int:
    return int(settings.SWEEP_MAX_COMBINATIONS)


@dataclass(frozen=True)
class Plan:
    """A sweep's config, parsed: the strategy, space, constraints, objective and settings."""

    strategy: StrategyDef
    space: Space
    constraints: Constraints
    objective: Objective
    params: dict[str, Any]  # the base Backtest's params (normalised: defaults filled in)
    market: dict[str, Any]
    execution: dict[str, Any]
    method: str
    chunk_size: int
    top_n: int
    validation: dict[str, Any] | None
    genetic: GeneticSettings
    random: dict[str, Any] = field(default_factory=dict)
    overfitting: dict[str, Any] = field(default_factory=dict)

    @property
    def fixed(self) -> dict[str, Any]:
        """Every non-swept parameter's value: the base params over the strategy defaults."""
        return {**self.strategy.defaults(), **self.params}

    def full_params(self, swept: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.fixed, **swept}

    def full_columns(self, swept_rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        return full_columns(
            self.strategy.defaults(), self.params, columns_from_dicts(list(swept_rows), self.space.names)
        )


def sweep_config(sweep: Spec, backtest: Spec) -> dict[str, Any]:
    """The config a run keeps: the Sweep's data and what the base Backtest runs."""
    data = backtest.data
    return {
        "sweep": copy.deepcopy(sweep.data),
        "backtest": {
            key: copy.deepcopy(data.get(key)) for key in ("strategy", "params", "market", "execution")
        },
    }


def sweep_plan(config: Mapping[str, Any]) -> Plan:
    """Parse a run config; ``SweepError`` naming the field for anything that does not fit."""
    sweep = config["sweep"]
    base = config["backtest"]
    try:
        strategy = get_strategy(base["strategy"])
        space = Space.from_mapping(sweep.get("space") or {}, strategy.params_schema)
        props = strategy.params_schema.get("properties", {})
        fixed = {**strategy.defaults(), **(base.get("params") or {})}
        constraints = Constraints(
            sweep.get("constraints") or [],
            fixed={k: v for k, v in fixed.items() if k not in space.names},
            names=props,
            builtin=strategy.constraints,
        )
        objective = Objective.from_mapping(sweep.get("objective"))
        genetic = GeneticSettings.from_mapping(sweep.get("genetic"))
    except (SpaceError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        path = getattr(exc, "path", "sweep")
        raise SweepError(str(message), {path: [str(message)]}) from None
    return Plan(
        strategy=strategy,
        space=space,
        constraints=constraints,
        objective=objective,
        params=dict(base.get("params") or {}),
        market=dict(base.get("market") or {}),
        execution=dict(base.get("execution") or {}),
        method=sweep.get("method") or SweepMethod.GRID,
        chunk_size=int(sweep.get("chunk_size") or 0),  # 0: chunk_size_for decides
        top_n=int(sweep.get("top_n") or 10),
        validation=sweep.get("validation") or None,
        genetic=genetic,
        random=dict(sweep.get("random") or {}),
        overfitting=dict(sweep.get("overfitting") or {}),
    )


def chunk_size_for(plan: Plan, count: int) -> int:
    """Combinations per chunk for ``count`` of them: the spec's chunk_size, else the rule
    of ``optimizers.chunking`` over the bars stored for the market and the workers."""
    if plan.chunk_size:
        return plan.chunk_size
    from marketdata.models import CandleSeries

    market = plan.market
    stored = (
        CandleSeries.objects.filter(symbol=market.get("symbol"), timeframe=market.get("timeframe"))
        .values_list("first_ts", "last_ts")
        .first()
    )
    workers = int(settings.Q_CLUSTER.get("workers") or 1)
    return chunk_size_auto(count, market_bars(market, stored), workers)


def adapter_first(strategy: str) -> tuple[str, ...]:
    return get_adapter(strategy).indicator_params
