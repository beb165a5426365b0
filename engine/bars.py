"""Bars as columns: the six arrays every holder of candles is made of, declared once.

n bars are six equally long arrays, never a list of rows: ``ts`` (int64 epoch ms, the
bar's open time, UTC; see ``engine.timestamps``) and ``open``, ``high``, ``low``,
``close``, ``volume`` (float64). The engine's ``Candles``, the candles a read returns
(``marketdata.read``), the live source's closed bars and the columns parsed from a file
extend ``BarColumns`` with what each adds (validation, the series' name, the rows'
locations …); ``len()`` of any of them is its number of bars (``ColumnArrays``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np


class ColumnArrays:
    """Base of a dataclass whose fields are equally long arrays, one element per row
    (bars, trades, drawdown periods …): ``len()`` is that length, the first field's."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def __len__(self) -> int:
        return int(getattr(self, next(iter(self.__dataclass_fields__))).shape[0])


@dataclass(frozen=True, eq=False)
class BarColumns(ColumnArrays):
    """n bars: ``ts`` int64 epoch ms and float64 ``open`` … ``volume``, each of shape (n,).

    What the arrays must satisfy (sorted, finite, contiguous …) is the subclass's to say.
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


# The column names in their order, as the arrays, mappings and SQL rows of bars use them.
BAR_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(BarColumns))
