"""The Python wrapper of the sweep kernel: validate, build the indicator table, allocate, call.

``Evaluator(candles, strategy, execution)`` holds one candle set and an indicator table
that survives across calls (a genetic run asks for a new population fifty times; each
RSI or EMA it has seen is computed once). ``evaluate(columns, lo, hi)`` returns the
metrics rows of a batch of full parameter sets, simulated over bars ``lo..hi-1``,
exactly as ``engine.runner.run_backtest`` would compute them one by one
(same kernels, same order of operations).

No loop here runs over candles or combinations in Python: the adapters are numpy
column operations, the indicators and the combinations are ``prange`` kernels.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numba
import numpy as np

from engine.config import ExecutionConfig
from engine.enums import M_TOTAL_TRADES, METRIC_NAMES, N_METRICS, trade_dt
from engine.runner import Candles
from optimizers import sweep_nb
from optimizers.adapters import execution_records, get_adapter
from optimizers.space import column_length
from strategies import indicators_nb

# Indicator rows kept per candle set; at 100,000 bars a row is 800 kB, so this holds
# about 600 rows (every RSI period of both methods and every EMA span of HYPERRSI's
# bounds fits). Beyond it the table is emptied and refilled for the next batch.
DEFAULT_TABLE_BYTES = 512 * 1024 * 1024
KNOWN_INDICATORS = (indicators_nb.RSI_WILDER, indicators_nb.RSI_SMA, indicators_nb.EMA)


class IndicatorTable:
    """Indicator rows over one ``close`` array, computed once per (code, period) key.

    ``rows_for(keys)`` returns the row of each key in ``array``, computing the missing
    ones in one parallel kernel call. When the rows would exceed ``max_bytes`` the table
    is emptied first (a batch never needs more than ``max_rows``: the evaluator splits).
    """

    def __init__(self, close: np.ndarray, max_bytes: int = DEFAULT_TABLE_BYTES):
        self.close = close
        n = close.shape[0]
        self.max_rows = max(4, int(max_bytes // max(n * 8, 1)))
        self.array = np.empty((min(16, self.max_rows), n), dtype=np.float64)
        self.slots: dict[tuple[int, int], int] = {}
        self.computed = 0  # rows computed over the table's life (for tests and benches)

    def rows_for(self, keys: np.ndarray) -> np.ndarray:
        wanted = [(int(code), int(period)) for code, period in keys.tolist()]
        missing = [key for key in dict.fromkeys(wanted) if key not in self.slots]
        if len(self.slots) + len(missing) > self.max_rows:
            self.slots.clear()
            missing = list(dict.fromkeys(wanted))
        need = len(self.slots) + len(missing)
        if need > self.array.shape[0]:
            capacity = min(max(need, 2 * self.array.shape[0]), self.max_rows)
            grown = np.empty((capacity, self.close.shape[0]), dtype=np.float64)
            used = len(self.slots)
            if used:
                grown[:used] = self.array[:used]
            self.array = grown
        if missing:
            first = len(self.slots)
            rows = np.arange(first, first + len(missing), dtype=np.int64)
            codes = np.array([key[0] for key in missing], dtype=np.int64)
            if not np.isin(codes, KNOWN_INDICATORS).all():
                raise ValueError(f"unknown indicator code in {missing}")
            periods = np.array([key[1] for key in missing], dtype=np.int64)
            sweep_nb.indicator_rows_nb(codes, periods, self.close, self.array, rows)
            for key, row in zip(missing, rows.tolist(), strict=True):
                self.slots[key] = row
            self.computed += len(missing)
        return np.array([self.slots[key] for key in wanted], dtype=np.int64)


def minutes_per_bar(ts: np.ndarray, majority_step: int) -> float:
    """The bar length ``run_backtest`` infers: the majority ts step, else the median one."""
    step = majority_step if majority_step > 0 else float(np.median(np.diff(ts)))
    return step / 60_000.0


def full_columns(
    defaults: Mapping[str, Any], base_params: Mapping[str, Any], swept: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Columns of full parameter sets: swept values, else the base params, else defaults.

    Fixed values become constant columns (length of the swept columns).
    """
    n = column_length(swept)
    fixed = {**defaults, **base_params}
    columns: dict[str, np.ndarray] = {}
    for name, value in fixed.items():
        if name in swept:
            continue
        if isinstance(value, bool):
            columns[name] = np.full(n, value, dtype=np.bool_)
        elif isinstance(value, int | float):
            columns[name] = np.full(n, value, dtype=np.int64 if isinstance(value, int) else np.float64)
        else:
            column = np.empty(n, dtype=object)
            column[:] = [value] * n
            columns[name] = column
    columns.update(swept)
    return columns


class Evaluator:
    """Evaluate batches of parameter sets of ``strategy`` over ``candles``.

    candles: anything ``Candles.coerce`` accepts (validated once here). execution:
    ``ExecutionConfig`` or its mapping. timeframe_minutes: bar length for the
    annualised metrics; None infers it like ``run_backtest`` does.
    """

    def __init__(
        self,
        candles: Any,
        strategy: str,
        execution: ExecutionConfig | Mapping[str, Any] | None = None,
        *,
        timeframe_minutes: float | None = None,
        max_table_bytes: int = DEFAULT_TABLE_BYTES,
    ):
        self.candles, step = Candles.coerce(candles)
        self.strategy = strategy
        self.adapter = get_adapter(strategy)
        self.execution = (
            execution if isinstance(execution, ExecutionConfig) else ExecutionConfig.from_mapping(execution)
        )
        self.minutes_per_bar = (
            float(timeframe_minutes) if timeframe_minutes else minutes_per_bar(self.candles.ts, step)
        )
        self.table = IndicatorTable(self.candles.close, max_table_bytes)
        self._scratch: tuple[int, int, tuple[np.ndarray, np.ndarray]] | None = None
        self.timings: dict[str, float] = {"indicators": 0.0, "kernel": 0.0, "layout": 0.0}

    def __len__(self) -> int:
        return len(self.candles)

    def _scratch_for(self, threads: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        if self._scratch is None or self._scratch[0] != threads or self._scratch[1] != width:
            buffers = (
                np.empty((threads, sweep_nb.BLOCK), dtype=np.int8),
                np.empty((threads, width), dtype=trade_dt),
            )
            self._scratch = (threads, width, buffers)
        return self._scratch[2]

    def evaluate(self, columns: Mapping[str, np.ndarray], lo: int = 0, hi: int | None = None) -> np.ndarray:
        """float64[C, N_METRICS] metrics (NaN = null) of each full parameter set.

        columns: one array per strategy parameter, all of length C (see
        ``full_columns``). lo, hi: the simulated bars (default: all); at least 2.
        Raises ``ValueError`` naming a bad parameter value or window.
        """
        n = len(self.candles)
        hi = n if hi is None else int(hi)
        lo = int(lo)
        if not 0 <= lo < hi <= n or hi - lo < 2:
            raise ValueError(f"the window {lo}..{hi} must hold at least 2 of the {n} bars")
        count = column_length(columns)
        out = np.empty((count, N_METRICS), dtype=np.float64)
        if count == 0:
            return out
        t0 = time.perf_counter()
        layout = self.adapter.layout(columns)
        xrec = execution_records(columns, count, self.execution)
        self.timings["layout"] += time.perf_counter() - t0
        if layout.keys.shape[0] <= self.table.max_rows:
            self._run(layout.keys, layout.iidx, layout.fpar, xrec, lo, hi, out, np.arange(count))
            return out
        # Too many distinct indicators for the table: sort the combinations by their
        # indicators and go in slices that each fit.
        order = np.lexsort(layout.iidx.T[::-1])
        per_slice = max(1, self.table.max_rows // layout.iidx.shape[1])
        for start in range(0, count, per_slice):
            index = order[start : start + per_slice]
            used, local = np.unique(layout.iidx[index], return_inverse=True)
            iidx = local.reshape(index.shape[0], -1).astype(np.int64)
            self._run(layout.keys[used], iidx, layout.fpar[index], xrec[index], lo, hi, out, index)
        return out

    def _run(self, keys, iidx, fpar, xrec, lo, hi, out, index) -> None:  # noqa: PLR0917 (one batch's arrays)
        t0 = time.perf_counter()
        rows = np.ascontiguousarray(self.table.rows_for(keys)[iidx])
        t1 = time.perf_counter()
        count = rows.shape[0]
        threads = numba.get_num_threads()
        sig, trades = self._scratch_for(threads, hi - lo)
        result = np.empty((count, N_METRICS), dtype=np.float64)
        c = self.candles
        # Small dynamic chunks: combinations differ in cost (trade counts), and a
        # static half-and-half split would leave one thread idle at the end.
        chunk = max(1, min(16, count // (8 * threads)))
        with numba.parallel_chunksize(chunk):
            sweep_nb.sweep_nb(
                self.adapter.code,
                c.ts,
                c.open,
                c.high,
                c.low,
                c.close,
                self.table.array,
                rows,
                np.ascontiguousarray(fpar, dtype=np.float64),
                np.ascontiguousarray(xrec, dtype=np.float64),
                lo,
                hi,
                self.minutes_per_bar,
                self.execution.rf_per_bar(self.minutes_per_bar),
                sig,
                trades,
                result,
            )
        out[index] = result
        t2 = time.perf_counter()
        self.timings["indicators"] += t1 - t0
        self.timings["kernel"] += t2 - t1


def metrics_dicts(rows: np.ndarray) -> list[dict[str, float | int | None]]:
    """Metrics rows as the contract's dicts: None for NaN/inf, total_trades an int."""
    finite = np.isfinite(rows)
    out = []
    for values, ok in zip(rows.tolist(), finite.tolist(), strict=True):
        item: dict[str, float | int | None] = {
            name: (value if good else None)
            for name, value, good in zip(METRIC_NAMES, values, ok, strict=True)
        }
        item["total_trades"] = int(values[M_TOTAL_TRADES])
        out.append(item)
    return out
