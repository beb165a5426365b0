"""Grid search: the cartesian product of every axis, filtered by the constraints.

Enumeration is columnar: combination ``i`` of a product of axis sizes s0 x s1 x ... takes
value ``(i // stride_k) % s_k`` of axis k (the last axis varies fastest), so a
100,000-combination grid is a handful of numpy operations, not a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optimizers.constraints import Constraints
from optimizers.space import Space, SpaceError, take


class GridTooLarge(SpaceError):
    """The cartesian product exceeds the configured maximum."""


def grid_columns(
    space: Space,
    constraints: Constraints | None = None,
    *,
    max_combinations: int,
    first: Sequence[str] = (),
) -> tuple[dict[str, np.ndarray], int]:
    """``(columns, size)``: the combinations that satisfy ``constraints``, in grid order,
    and the size of the product before filtering.

    ``first`` names axes to enumerate slowest (the adapters' indicator parameters, so
    that consecutive combinations, and so chunks, share indicators). Raises
    ``GridTooLarge`` when the product exceeds ``max_combinations``: the cap is on the
    product, since that is what has to be enumerated.
    """
    ordered = space.ordered(first)
    size = ordered.grid_size()
    if size > max_combinations:
        shape = " x ".join(f"{axis.size} {axis.name}" for axis in ordered.axes)
        raise GridTooLarge(
            "space",
            f"the grid has {size:,} combinations ({shape}); at most {max_combinations:,} are allowed "
            "(SWEEP_MAX_COMBINATIONS). Narrow the ranges, use larger steps, "
            "or use method: genetic or random.",
        )
    index = np.arange(size, dtype=np.int64)
    stride = size
    columns: dict[str, np.ndarray] = {}
    for axis in ordered.axes:
        count = axis.size
        stride //= count
        columns[axis.name] = axis.array()[(index // stride) % count]
    if constraints:
        columns = take(columns, constraints.mask(columns))
    return columns, size
