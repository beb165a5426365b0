"""A test-only strategy that sleeps inside its signal function: a run that stays
``running`` in a worker long enough to be killed there. It trades nothing.

Registered in a test process by the ``sleepy`` fixture, and in a qcluster started by a
test with ``BACKTEST_TEST_PLUGINS=1`` (``backtest_project.settings_test`` then installs
``tests.plugins``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from strategies import registry
from strategies.registry import StrategyDef, engine_params_schema

NAME = "test_sleepy"


def _signals(params: Mapping[str, Any], open_, high, low, close, volume) -> np.ndarray:  # noqa: PLR0917
    time.sleep(float(params["sleep_seconds"]))
    return np.zeros(len(close), dtype=np.int8)


SLEEPY = StrategyDef(
    name=NAME,
    title="Sleepy (tests only)",
    description="Sleeps sleep_seconds in its signal function, then trades nothing.",
    params_schema={
        "type": "object",
        "properties": {
            "sleep_seconds": {"type": "number", "minimum": 0, "default": 5},
            **engine_params_schema(leverage_default=1),
        },
    },
    warmup=lambda params: 0,
    signals=_signals,
)


def register() -> None:
    if NAME not in registry._REGISTRY:
        registry.register(SLEEPY)


def unregister() -> None:
    registry._REGISTRY.pop(NAME, None)
