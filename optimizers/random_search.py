"""Random search: ``samples`` distinct combinations drawn uniformly from the space.

Every axis draws a value uniformly. Draws that break a constraint or repeat an earlier
draw are dropped, so the result is ``samples`` distinct valid combinations, or fewer
when the space runs out (a space no larger than ``samples`` is returned whole).
Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np

from optimizers.constraints import Constraints
from optimizers.grid import grid_columns
from optimizers.space import Space, take

# Give up after this many draws per requested sample (a space mostly ruled out by
# its constraints would otherwise loop for long).
MAX_DRAWS_PER_SAMPLE = 50


def draw_columns(space: Space, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``count`` uniform draws from every axis, as columns."""
    columns = {}
    for axis in space.axes:
        columns[axis.name] = axis.array()[rng.integers(0, axis.size, size=count)]
    return columns


def random_columns(
    space: Space,
    constraints: Constraints | None = None,
    *,
    samples: int,
    seed: int,
    max_combinations: int,
) -> dict[str, np.ndarray]:
    """Up to ``samples`` distinct combinations satisfying ``constraints``, in draw order."""
    if samples < 1:
        raise ValueError(f"random.samples must be >= 1, got {samples}")
    if samples > max_combinations:
        raise ValueError(
            f"random.samples is {samples:,}; at most {max_combinations:,} (SWEEP_MAX_COMBINATIONS)"
        )
    if space.grid_size() <= samples:
        columns, _ = grid_columns(space, constraints, max_combinations=max_combinations)
        return columns
    rng = np.random.default_rng(seed)
    names = space.names
    seen: set[tuple] = set()
    parts: list[dict[str, np.ndarray]] = []
    total = 0
    draws = 0
    batch = max(64, samples)
    while total < samples and draws < samples * MAX_DRAWS_PER_SAMPLE:
        columns = draw_columns(space, batch, rng)
        draws += batch
        if constraints:
            columns = take(columns, constraints.mask(columns))
        picked: list[int] = []
        for i, row in enumerate(zip(*(columns[name].tolist() for name in names), strict=True)):
            if total + len(picked) == samples:
                break
            if row not in seen:
                seen.add(row)
                picked.append(i)
        parts.append(take(columns, np.array(picked, dtype=np.int64)))
        total += len(picked)
    return {name: np.concatenate([part[name] for part in parts]) for name in names}
