"""A sweep's parameter space: one axis per swept parameter, typed by the strategy's schema.

The Sweep spec's ``space`` maps a strategy parameter to ``{values: [...]}`` or
``{min, max, step}``. Each axis takes the JSON Schema type of its parameter (integer,
number, string, boolean) from the strategy's ``params_schema`` and is checked against
its bounds and enum, so a sweep can never propose a combination a Backtest spec could
not hold. Ranges are enumerated in exact decimal arithmetic: ``{min: 0.5, max: 5,
step: 0.5}`` is ten values, each the float nearest to its decimal, with no drift.

Every axis is discrete (the Sweep schema requires a step with min/max), so every method
draws from the same finite grid. Normalised spec data also lists a range's ``values``;
they are enumerated again here, exactly, from min/max/step.

Combinations are handled as *columns* (name -> numpy array, one element per
combination) so that enumeration, constraint filtering and the adapters never loop
over combinations in Python.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

INTEGER = "integer"
NUMBER = "number"
STRING = "string"
BOOLEAN = "boolean"

# Enumerating a range is refused beyond this many values on one axis; the product
# cap (SWEEP_MAX_COMBINATIONS) is checked separately by the callers.
MAX_AXIS_VALUES = 1_000_000


class SpaceError(ValueError):
    """A bad space, constraint or combination; ``path`` names the spec field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Axis:
    """One swept parameter: its values in spec order (a range ascending), each already
    of the parameter's Python type (int, float, str, bool)."""

    name: str
    type: str
    values: tuple[Any, ...]

    @property
    def ordinal(self) -> bool:
        """Numeric: neighbouring values are close, so mutation can step."""
        return self.type in (INTEGER, NUMBER)

    @property
    def size(self) -> int:
        return len(self.values)

    def array(self) -> np.ndarray:
        """The discrete values as a numpy array of the column dtype of this type."""
        return np.array(self.values, dtype=column_dtype(self.type))


def column_dtype(kind: str) -> Any:
    return {INTEGER: np.int64, NUMBER: np.float64, BOOLEAN: np.bool_}.get(kind, object)


def _schema_type(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):  # e.g. ["number", "null"]: the non-null one
        kind = next((k for k in kind if k != "null"), None)
    if kind in (INTEGER, NUMBER, STRING, BOOLEAN):
        return kind
    if "enum" in prop:
        return STRING
    return NUMBER


def _decimal(path: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpaceError(path, f"must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise SpaceError(path, f"must be finite, got {value!r}")
    try:
        # str() of a float is its shortest round-tripping decimal: 0.1 -> "0.1", not 0.1000000000000000055...
        return Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - finite numbers always convert
        raise SpaceError(path, f"is not a number: {value!r}") from None


def coerce_value(path: str, kind: str, prop: Mapping[str, Any], value: Any) -> Any:
    """``value`` as the Python type of a parameter of ``kind``, checked against ``prop``'s
    enum and bounds. Integral floats are accepted for integers (YAML ``14.0``)."""
    if kind == BOOLEAN:
        if not isinstance(value, bool):
            raise SpaceError(path, f"must be true or false, got {value!r}")
        return value
    if kind == STRING:
        if not isinstance(value, str):
            raise SpaceError(path, f"must be a string, got {value!r}")
        enum = prop.get("enum")
        if enum is not None and value not in enum:
            raise SpaceError(path, f"{value!r} is not one of {', '.join(map(str, enum))}")
        return value
    number = _decimal(path, value)
    if kind == INTEGER:
        if number != number.to_integral_value():
            raise SpaceError(path, f"must be an integer, got {value!r}")
        result: Any = int(number)
    else:
        result = float(number)
    _check_bounds(path, prop, result)
    return result


def _check_bounds(path: str, prop: Mapping[str, Any], value: float) -> None:
    if "minimum" in prop and value < prop["minimum"]:
        raise SpaceError(path, f"{value!r} is below the minimum {prop['minimum']}")
    if "maximum" in prop and value > prop["maximum"]:
        raise SpaceError(path, f"{value!r} is above the maximum {prop['maximum']}")
    if "exclusiveMinimum" in prop and value <= prop["exclusiveMinimum"]:
        raise SpaceError(path, f"{value!r} must be above {prop['exclusiveMinimum']}")
    if "exclusiveMaximum" in prop and value >= prop["exclusiveMaximum"]:
        raise SpaceError(path, f"{value!r} must be below {prop['exclusiveMaximum']}")


def range_values(
    path: str, kind: str, low: Any, high: Any, step: Any, *, max_values: int = MAX_AXIS_VALUES
) -> tuple[Any, ...]:
    """``low, low+step, ...`` up to and including ``high`` (when on the grid), exactly.

    The i-th value is ``float(Decimal(low) + i * Decimal(step))``: each value is the
    float nearest its decimal, so 0.1..0.3 step 0.1 gives 0.1, 0.2, 0.3 (not
    0.30000000000000004) and the count never loses the last value to rounding, nor
    gains one (0.5..0.9999999999 step 0.1 is five values). This is the one enumeration
    of a range: the spec layer stores these values, and the optimiser runs them.
    """
    name = path.rsplit(".", 1)[-1]
    lo = _decimal(f"{path}.min", low)
    hi = _decimal(f"{path}.max", high)
    st = _decimal(f"{path}.step", step)
    if st <= 0:
        raise SpaceError(f"{path}.step", f"step must be > 0, got {step!r}")
    if kind == INTEGER and st != st.to_integral_value():
        raise SpaceError(
            f"{path}.step", f"step {step} is not a whole number, but {name} is an integer parameter"
        )
    if hi < lo:
        raise SpaceError(f"{path}.max", f"max {high} is less than min {low}")
    if (hi - lo) / st >= max_values:
        raise SpaceError(path, f"{name} would take more than {max_values:,} values (SWEEP_MAX_COMBINATIONS)")
    count = int((hi - lo) / st) + 1
    if kind == INTEGER:
        return tuple(int(lo + i * st) for i in range(count))
    return tuple(float(lo + i * st) for i in range(count))


def _dedupe(values: Iterable[Any]) -> tuple[Any, ...]:
    seen: list[Any] = []
    for value in values:
        # bool == int in Python; axes are single-typed, so plain equality is enough
        if value not in seen:
            seen.append(value)
    return tuple(seen)


@dataclass(frozen=True)
class Space:
    axes: tuple[Axis, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(axis.name for axis in self.axes)

    def grid_size(self) -> int:
        """The size of the cartesian product (before constraints)."""
        return math.prod(axis.size for axis in self.axes)

    def axis(self, name: str) -> Axis:
        for axis in self.axes:
            if axis.name == name:
                return axis
        raise KeyError(name)

    def ordered(self, first: Sequence[str]) -> Space:
        """The same space with the axes named in ``first`` moved to the front (slowest)."""
        rank = {name: i for i, name in enumerate(first)}
        axes = sorted(self.axes, key=lambda a: (rank.get(a.name, len(rank)), self.names.index(a.name)))
        return Space(tuple(axes))

    @classmethod
    def from_mapping(cls, space: Mapping[str, Any], params_schema: Mapping[str, Any]) -> Space:
        """Build from a Sweep spec's ``space`` and the strategy's ``params_schema``.

        Raises ``SpaceError`` naming ``space.<param>[.field]`` for an unknown parameter,
        a wrong type, a value out of the schema's bounds or enum, or a bad range.
        """
        if not isinstance(space, Mapping) or not space:
            raise SpaceError(
                "space", "must map at least one parameter to {values: [...]} or {min, max, step}"
            )
        props = params_schema.get("properties", {})
        return cls(tuple(axis_from_entry(name, entry, props) for name, entry in space.items()))


def axis_from_entry(
    name: str, entry: Any, props: Mapping[str, Any], *, max_values: int = MAX_AXIS_VALUES
) -> Axis:
    """The axis of one ``space`` entry of a Sweep (``{values: [...]}`` or ``{min, max,
    step}``) for the strategy parameter ``props[name]``. The one definition of what a
    space entry means, used by the spec layer (which positions the ``SpaceError``) and
    by the optimiser. Duplicate listed values count once."""
    path = f"space.{name}"
    if name not in props:
        raise SpaceError(path, f"is not a parameter of this strategy (known: {', '.join(sorted(props))})")
    prop = props[name]
    kind = _schema_type(prop)
    if not isinstance(entry, Mapping):
        raise SpaceError(path, "must be {values: [...]} or {min, max, step}")
    if "values" in entry and not {"min", "max", "step"} & set(entry):
        raw = entry["values"]
        if not isinstance(raw, list) or not raw:
            raise SpaceError(f"{path}.values", "must be a non-empty list")
        values = _dedupe(coerce_value(f"{path}.values[{i}]", kind, prop, v) for i, v in enumerate(raw))
        return Axis(name, kind, values=values)
    if kind not in (INTEGER, NUMBER):
        raise SpaceError(path, f"{name} is not numeric; list the values to try instead ({{values: [...]}})")
    missing = [key for key in ("min", "max", "step") if key not in entry]
    if missing:
        raise SpaceError(path, f"a range needs {', '.join(missing)}")
    extra = sorted(set(entry) - {"min", "max", "step", "values"})
    if extra:
        raise SpaceError(path, f"unknown field {extra[0]!r} (a range has min, max, step)")
    low = coerce_value(f"{path}.min", kind, prop, entry["min"])
    high = coerce_value(f"{path}.max", kind, prop, entry["max"])
    return Axis(name, kind, values=range_values(path, kind, low, high, entry["step"], max_values=max_values))


# --- columns of combinations ------------------------------------------------------


def columns_from_dicts(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns (one numpy array per name) of a list of parameter dicts."""
    columns = {}
    for name in names:
        values = [row[name] for row in rows]
        columns[name] = _column(values)
    return columns


def _column(values: list[Any]) -> np.ndarray:
    if values and all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.bool_)
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def dicts_from_columns(
    columns: Mapping[str, np.ndarray], names: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The inverse of ``columns_from_dicts``, with plain Python scalars (JSON-ready)."""
    names = list(names if names is not None else columns)
    if not names:
        return []
    lists = [columns[name].tolist() for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*lists, strict=True)]


def take(columns: Mapping[str, np.ndarray], index: Any) -> dict[str, np.ndarray]:
    return {name: column[index] for name, column in columns.items()}


def column_length(columns: Mapping[str, np.ndarray]) -> int:
    for column in columns.values():
        return int(column.shape[0])
    return 0


def canonical(params: Mapping[str, Any]) -> str:
    """The JSON text that identifies a combination: sorted keys, no spaces.

    Values are already typed per axis (an integer parameter is always an int, a number
    always a float), so equal combinations always give equal text.
    """
    return json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)


def params_hash(params: Mapping[str, Any]) -> str:
    """sha256 hex of ``canonical(params)``: the per-run identity of a trial."""
    return hashlib.sha256(canonical(params).encode()).hexdigest()
