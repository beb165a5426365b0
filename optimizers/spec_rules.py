"""The Sweep kind's rules as the spec layer asks for them (``specs.kinds.SweepRules``).

They are the optimiser's own (``space.axis_from_entry``, ``constraints.Constraints``,
``grid.grid_columns``), so a Sweep spec stores the values a sweep runs and counts the
combinations it will evaluate. Registered by ``OptimizersConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from optimizers.constraints import Constraints
from optimizers.grid import grid_columns
from optimizers.space import Axis, Space, SpaceError, axis_from_entry, column_length


class SweepRules:
    error = SpaceError

    def axis(self, name: str, entry: Any, props: Mapping[str, Any], *, max_values: int) -> Axis:
        return axis_from_entry(name, entry, props, max_values=max_values)

    def feasible(
        self,
        axes: Sequence[Axis],
        *,
        constraints: Sequence[str],
        builtin: Sequence[str],
        base: Mapping[str, Any],
        names: Sequence[str],
    ) -> int:
        space = Space(tuple(axes))
        fixed = {key: value for key, value in base.items() if key not in space.names}
        rules = Constraints(constraints, fixed=fixed, names=names, builtin=builtin)
        columns, _ = grid_columns(space, rules, max_combinations=space.grid_size())
        return column_length(columns)
