"""Rules of spec kinds that belong to other apps, registered by those apps.

The spec layer parses, schema-checks and positions errors for every kind; what a field
means beyond its schema is the business of the app that owns the concept. A Sweep's
``space`` (how a range is enumerated, which combinations meet the constraints) is the
optimiser's: ``optimizers`` registers its rules here when Django starts
(``OptimizersConfig.ready``), and the spec layer calls them and turns their errors into
positioned spec errors. So the values a Sweep spec stores are, by construction, the
ones the optimiser runs, and ``specs`` imports nothing from the apps above it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class AxisLike(Protocol):
    name: str
    values: tuple[Any, ...]

    @property
    def size(self) -> int: ...


class SweepRules(Protocol):
    """What the spec layer asks of the Sweep kind's owner. Both raise ``error`` (an
    exception with ``path``, e.g. ``space.rsi_period.step``, and ``message``)."""

    error: type[Exception]

    def axis(self, name: str, entry: Any, props: Mapping[str, Any], *, max_values: int) -> AxisLike:
        """The values one ``space`` entry stands for."""
        ...

    def feasible(
        self,
        axes: Sequence[AxisLike],
        *,
        constraints: Sequence[str],
        builtin: Sequence[str],
        base: Mapping[str, Any],
        names: Sequence[str],
    ) -> int:
        """How many combinations of the grid of ``axes`` meet every constraint; ``base``
        gives the values of the parameters not swept."""
        ...


_SWEEP_RULES: list[SweepRules] = []


def register_sweep_rules(rules: SweepRules) -> None:
    _SWEEP_RULES[:] = [rules]


def sweep_rules() -> SweepRules:
    if not _SWEEP_RULES:
        raise RuntimeError("no Sweep rules registered: is 'optimizers' in INSTALLED_APPS?")
    return _SWEEP_RULES[0]
