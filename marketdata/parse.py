"""Candle sources read into columns, before validation: ``RawCandles`` and the column
conversion every reader ends with (files: ``parse_file``; the live Redis key:
``parse_redis``).

Every reader returns a ``RawCandles``: int64 epoch-millisecond timestamps, float64
prices and volume, and for each row its location in the source (CSV: the file line,
the header being line 1; Parquet: the 1-based row; Redis: the 0-based list index), so
that validation errors can name the row. Values that cannot be read are not errors
here: they are flagged (``ts_bad``, ``number_bad``, ``malformed``) and reported by
``validate.candles_validate`` together with every other problem.

Timestamps may be ISO 8601 (with ``Z``, an offset, or none: naive means UTC), epoch
milliseconds or epoch seconds. Epoch units are chosen per source from the median
magnitude: below 1e11 it is seconds (1e11 s is the year 5138), below 1e14
milliseconds; larger values (micro- or nanoseconds) are refused.

Parsing is columnar (pyarrow's CSV reader and compute kernels, pandas for the
fallbacks); no Python code runs per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.bars import BAR_FIELDS, BarColumns

TIMESTAMP_ALIASES = ("timestamp", "open_time", "datetime", "time", "date", "ts")
VALUE_COLUMNS = BAR_FIELDS[1:]  # open … volume
# Cells read as "no value" (NaN), reported as missing rather than as "not a number".
_MISSING_TEXT = ("", "nan", "-nan", "+nan", "na", "n/a", "null", "none")
_EPOCH_SECONDS_BELOW = 1e11
_EPOCH_MS_BELOW = 1e14


class CandleFileError(ValueError):
    """A source that cannot be read at all: unknown format, missing columns, bad key,
    or larger than its limits."""


@dataclass(frozen=True)
class CandleLimits:
    """Bounds on one source, checked before it is parsed (settings ``CANDLE_MAX_*``).

    max_bytes: its size once decompressed; max_rows: its rows (CSV: lines after the
    header); max_expansion: how many bytes one compressed byte may become, checked
    while decompressing once ``parse_file._EXPANSION_CHECKED_FROM`` bytes are out, so that a
    compression bomb is refused after a few megabytes instead of at ``max_bytes``.
    """

    max_bytes: int = 512 * 1024 * 1024
    max_rows: int = 10_000_000
    max_expansion: int = 100

    def size_check(self, source, size: int, *, what: str) -> None:
        """Refuse ``source`` (named in the message) when ``size`` bytes pass ``max_bytes``."""
        if size > self.max_bytes:
            raise CandleFileError(
                f"{source}: {what} more than {self.max_bytes} bytes (CANDLE_MAX_BYTES); refused"
            )

    def rows_check(self, source, rows: int) -> None:
        """Refuse ``source`` (named in the message) when ``rows`` pass ``max_rows``."""
        if rows > self.max_rows:
            raise CandleFileError(
                f"{source}: {rows} rows, more than {self.max_rows} (CANDLE_MAX_ROWS); refused"
            )


# The limits a reader applies when its caller passes none.
DEFAULT_LIMITS = CandleLimits()


@dataclass(frozen=True, eq=False)
class RawCandles(BarColumns):
    """Parsed columns of n rows, before validation.

    ts: int64 epoch ms (0 where ``ts_bad``); open/high/low/close/volume: float64, NaN
    where the cell is empty, ``NaN`` or not a number; ts_bad / number_bad: bool (n,),
    a timestamp or a value that could not be read; locations: int64 (n,), where each
    row is in the source; malformed: int64 locations of rows dropped because they had
    the wrong number of fields (CSV only).
    """

    ts_bad: np.ndarray
    number_bad: np.ndarray
    locations: np.ndarray
    malformed: np.ndarray
    location_label: str = "row"
    source: str = ""
    timestamp_format: str = ""

    @classmethod
    def from_arrays(
        cls,
        *,
        ts: np.ndarray,
        open: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
        source: str = "arrays",
    ) -> RawCandles:
        """Columns built in code (the benchmark, tests): ts int64 ms, the rest float64.
        Locations are 0-based indices."""
        ts = np.ascontiguousarray(ts, dtype=np.int64)
        n = ts.shape[0]
        cols = [np.ascontiguousarray(c, dtype=np.float64) for c in (open, high, low, close, volume)]
        for name, col in zip(VALUE_COLUMNS, cols, strict=True):
            if col.shape != (n,):
                raise ValueError(f"{name} has shape {col.shape}, ts has ({n},)")
        return cls(
            ts,
            *cols,
            ts_bad=np.zeros(n, dtype=bool),
            number_bad=np.zeros(n, dtype=bool),
            locations=np.arange(n, dtype=np.int64),
            malformed=np.empty(0, dtype=np.int64),
            location_label="index",
            source=source,
            timestamp_format="epoch_ms",
        )


# --- Columns: shared by the readers -----------------------------------------------


def columns_pick(names: list[str], *, where: str) -> dict[str, str]:
    """Map ``timestamp`` and the five value columns to the source's own column names."""
    by_lower: dict[str, str] = {}
    for name in names:
        key = name.strip().lstrip("\ufeff").lower()
        if key in by_lower and key in (*TIMESTAMP_ALIASES, *VALUE_COLUMNS):
            raise CandleFileError(f"{where}: column {key!r} appears twice ({by_lower[key]!r} and {name!r})")
        by_lower.setdefault(key, name)
    chosen = {"timestamp": next((by_lower[a] for a in TIMESTAMP_ALIASES if a in by_lower), None)}
    chosen.update({key: by_lower.get(key) for key in VALUE_COLUMNS})
    missing = [key for key, name in chosen.items() if name is None]
    if missing:
        wanted = ", ".join(
            "a timestamp column (" + "/".join(TIMESTAMP_ALIASES) + ")" if m == "timestamp" else m
            for m in missing
        )
        raise CandleFileError(f"{where}: missing {wanted}; found columns: {', '.join(names) or '(none)'}")
    return chosen


# --- Column conversion -------------------------------------------------------------


def raw_from_columns(
    columns: dict, *, locations: np.ndarray, malformed: np.ndarray, location_label: str, source: str
) -> RawCandles:
    ts, ts_bad, fmt = _timestamps_ms(columns["timestamp"], source=source)
    values = []
    number_bad = np.zeros(ts.shape[0], dtype=bool)
    for key in VALUE_COLUMNS:
        col, bad = _numbers(columns[key])
        values.append(col)
        number_bad |= bad
    return RawCandles(
        ts,
        *values,
        ts_bad=ts_bad,
        number_bad=number_bad,
        locations=locations,
        malformed=malformed,
        location_label=location_label,
        source=source,
        timestamp_format=fmt,
    )


def _as_pandas(column) -> pd.Series:
    if isinstance(column, pd.Series):
        return column.reset_index(drop=True)
    return column.to_pandas()


def _numbers(column) -> tuple[np.ndarray, np.ndarray]:
    """float64 values (NaN where missing or unreadable) and a mask of unreadable cells."""
    if isinstance(column, pa.ChunkedArray | pa.Array):
        data = column
        if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
            data = pc.utf8_trim_whitespace(data)
        try:
            values = pc.cast(data, pa.float64()).to_numpy(zero_copy_only=False)
            return np.ascontiguousarray(values, dtype=np.float64), np.zeros(values.shape[0], dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass  # some cell is empty or not a number: find which, below
    series = _as_pandas(column)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = (
        series.isna().to_numpy() | series.astype("str").str.strip().str.lower().isin(_MISSING_TEXT).to_numpy()
    )
    return values, np.isnan(values) & ~missing


def _timestamps_ms(column, *, source: str) -> tuple[np.ndarray, np.ndarray, str]:
    """int64 epoch ms, a mask of unreadable timestamps, and the format found."""
    if isinstance(column, pa.ChunkedArray | pa.Array):
        kind = column.type
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            return _arrow_times_ms(column)
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            values, bad = _numbers(column)
            return _epoch_ms(values, bad, source=source)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = pc.utf8_trim_whitespace(column)
            try:  # fast paths: the whole column in one format
                values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
                return _epoch_ms(values, np.zeros(values.shape[0], dtype=bool), source=source)
            except pa.ArrowInvalid:
                pass
            for unit in (pa.timestamp("ms", tz="UTC"), pa.timestamp("ms")):
                try:
                    ms = pc.cast(pc.cast(text, unit), pa.int64()).to_numpy(zero_copy_only=False)
                    return ms.astype(np.int64), np.zeros(ms.shape[0], dtype=bool), "iso8601"
                except pa.ArrowInvalid:
                    pass
    return _pandas_times_ms(_as_pandas(column), source=source)


def _arrow_times_ms(column) -> tuple[np.ndarray, np.ndarray, str]:
    if pa.types.is_date(column.type):
        column = pc.cast(column, pa.timestamp("ms"))
    unit = column.type.unit
    raw = pc.cast(column, pa.int64())
    bad = raw.is_null().to_numpy(zero_copy_only=False)
    values = raw.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    per_ms = {"s": None, "ms": 1, "us": 1_000, "ns": 1_000_000}[unit]
    if per_ms is None:
        return values * 1000, bad, "timestamp"
    bad = bad | (values % per_ms != 0)  # finer than a millisecond
    return values // per_ms, bad, "timestamp"


def _epoch_ms(values: np.ndarray, bad: np.ndarray, *, source: str) -> tuple[np.ndarray, np.ndarray, str]:
    values = np.asarray(values, dtype=np.float64)
    ok = ~bad & np.isfinite(values)
    if not ok.any():
        return np.zeros(values.shape[0], dtype=np.int64), ~ok, "epoch"
    magnitude = float(np.median(np.abs(values[ok])))
    if magnitude < _EPOCH_SECONDS_BELOW:
        scale, fmt = 1000.0, "epoch_s"
    elif magnitude < _EPOCH_MS_BELOW:
        scale, fmt = 1.0, "epoch_ms"
    else:
        first = values[ok][0]
        raise CandleFileError(
            f"{source}: timestamps such as {first:.0f} look like micro- or nanoseconds since the epoch; "
            "use ISO 8601, epoch seconds or epoch milliseconds"
        )
    ms = np.where(ok, values * scale, 0.0)
    ok &= ms == np.floor(ms)  # a fraction of a millisecond cannot be stored
    return np.where(ok, ms, 0.0).astype(np.int64), ~ok, fmt


def _pandas_times_ms(series: pd.Series, *, source: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Mixed or unusual columns: each cell as a number or as ISO 8601, whichever reads
    more of the column; the cells that read as neither are flagged."""
    numbers = pd.to_numeric(series, errors="coerce")
    text = series.astype("str").str.strip()
    times = pd.to_datetime(text.where(numbers.isna(), None), utc=True, format="ISO8601", errors="coerce")
    if int(numbers.notna().sum()) > int(times.notna().sum()):
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        return _epoch_ms(values, np.isnan(values), source=source)
    bad = times.isna().to_numpy()
    us = np.zeros(series.shape[0], dtype=np.int64)
    us[~bad] = times[~bad].dt.tz_localize(None).to_numpy("datetime64[us]").astype(np.int64)
    bad = bad | (us % 1000 != 0)  # a fraction of a millisecond cannot be stored
    return np.where(bad, 0, us // 1000), bad, "iso8601"
