"""Candle sources read into columns, before validation: CSV, Parquet and the live Redis key.

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

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from marketdata.timeframes import timeframe_parse

TIMESTAMP_ALIASES = ("timestamp", "open_time", "datetime", "time", "date", "ts")
VALUE_COLUMNS = ("open", "high", "low", "close", "volume")
REDIS_KEY_PREFIX = "candles_with_indicators"
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
    while decompressing once ``_EXPANSION_CHECKED_FROM`` bytes are out, so that a
    compression bomb is refused after a few megabytes instead of at ``max_bytes``.
    """

    max_bytes: int = 512 * 1024 * 1024
    max_rows: int = 10_000_000
    max_expansion: int = 100


_EXPANSION_CHECKED_FROM = 8 * 1024 * 1024
_READ_CHUNK = 1 << 20


@dataclass(frozen=True, eq=False)
class RawCandles:
    """Parsed columns of n rows, before validation.

    ts: int64 epoch ms (0 where ``ts_bad``); open/high/low/close/volume: float64, NaN
    where the cell is empty, ``NaN`` or not a number; ts_bad / number_bad: bool (n,),
    a timestamp or a value that could not be read; locations: int64 (n,), where each
    row is in the source; malformed: int64 locations of rows dropped because they had
    the wrong number of fields (CSV only).
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    ts_bad: np.ndarray
    number_bad: np.ndarray
    locations: np.ndarray
    malformed: np.ndarray
    location_label: str = "row"
    source: str = ""
    timestamp_format: str = ""

    def __len__(self) -> int:
        return int(self.ts.shape[0])

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


# --- Files -------------------------------------------------------------------------


def file_read(path: str | Path, *, limits: CandleLimits = CandleLimits()) -> RawCandles:
    """A CSV (optionally compressed: .gz, .bz2, .zst …) or Parquet file, by extension or
    by Parquet's ``PAR1`` magic bytes."""
    path = Path(path)
    if not path.is_file():
        raise CandleFileError(f"{path}: no such file")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if path.suffix.lower() in {".parquet", ".pq"} or magic == b"PAR1":
        return parquet_read(path, limits=limits)
    return csv_read(path, limits=limits)


def csv_read(path: str | Path, *, limits: CandleLimits = CandleLimits()) -> RawCandles:
    """A CSV file with a header line. Header names are matched case-insensitively;
    the timestamp column may be any of ``TIMESTAMP_ALIASES`` (the first one present,
    in that order, is used); other extra columns are ignored.

    ``limits`` are checked before parsing: a compressed file is decompressed into
    memory under them (``_decompress_bounded``), a plain one by its size on disk; then
    its lines are counted."""
    path = Path(path)
    header = _csv_header(path)
    columns = _columns_pick(header, where=f"{path}, line 1")
    data = _csv_bytes_bounded(path, limits)
    source = str(path) if data is None else pa.BufferReader(data)
    malformed: list[int] = []

    def on_invalid_row(row) -> str:
        # With use_threads=False and empty lines kept, row.number is the physical line.
        malformed.append(row.number)
        return "skip"

    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(columns.values()),
                column_types={name: pa.string() for name in columns.values()},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise CandleFileError(f"{path}: cannot read as CSV: {exc}") from None

    # Every physical line after the header is either a table row or a malformed one.
    bad = np.asarray(sorted(malformed), dtype=np.int64)
    last_line = 1 + table.num_rows + bad.shape[0]
    is_row = np.ones(last_line + 1, dtype=bool)
    is_row[:2] = False
    is_row[bad] = False
    lines = np.flatnonzero(is_row).astype(np.int64)

    # Blank lines come through as rows of empty strings: skip them, as pandas does.
    blank = np.ones(table.num_rows, dtype=bool)
    for name in columns.values():
        blank &= pc.equal(pc.utf8_length(table[name]), 0).to_numpy(zero_copy_only=False)
    if blank.any():
        keep = ~blank
        table = table.filter(pa.array(keep))
        lines = lines[keep]
    return _raw_from_columns(
        {key: table[name] for key, name in columns.items()},
        locations=lines,
        malformed=bad,
        location_label="line",
        source=str(path),
    )


def parquet_read(path: str | Path, *, limits: CandleLimits = CandleLimits()) -> RawCandles:
    """A Parquet file. Column names as for CSV; the timestamp column may be a Parquet
    timestamp (naive means UTC), a date, epoch seconds/ms or ISO 8601 text. Its row
    count and uncompressed size are read from its footer and checked against
    ``limits`` before any column is read."""
    path = Path(path)
    try:
        meta = pq.read_metadata(str(path))
        _rows_check(path, meta.num_rows, limits)
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        _size_check(path, size, limits, what="its columns uncompress to")
        table = pq.read_table(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CandleFileError(f"{path}: cannot read as Parquet: {exc}") from None
    columns = _columns_pick(table.column_names, where=f"{path} (Parquet columns)")
    return _raw_from_columns(
        {key: table[name] for key, name in columns.items()},
        locations=np.arange(1, table.num_rows + 1, dtype=np.int64),
        malformed=np.empty(0, dtype=np.int64),
        location_label="row",
        source=str(path),
    )


def _size_check(source, size: int, limits: CandleLimits, *, what: str) -> None:
    if size > limits.max_bytes:
        raise CandleFileError(
            f"{source}: {what} more than {limits.max_bytes} bytes (CANDLE_MAX_BYTES); refused"
        )


def _rows_check(source, rows: int, limits: CandleLimits) -> None:
    if rows > limits.max_rows:
        raise CandleFileError(
            f"{source}: {rows} rows, more than {limits.max_rows} (CANDLE_MAX_ROWS); refused"
        )


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read from it (the compressed side)."""

    def __init__(self, handle):
        self.handle, self.consumed = handle, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.handle.readinto(buffer)
        self.consumed += n
        return n


def _decompress_bounded(path: Path, codec: str, limits: CandleLimits) -> bytearray:
    """The decompressed bytes of ``path``, refused as soon as they pass
    ``limits.max_bytes`` or expand more than ``limits.max_expansion`` times the
    compressed bytes read so far. Memory: the output, at most max_bytes."""
    out = bytearray()
    with path.open("rb") as handle:
        counting = _CountingReader(handle)
        with pa.CompressedInputStream(counting, codec) as stream:
            while chunk := stream.read(_READ_CHUNK):
                out += chunk
                _size_check(path, len(out), limits, what="it decompresses to")
                if len(out) > _EXPANSION_CHECKED_FROM and len(out) > limits.max_expansion * max(
                    counting.consumed, 1
                ):
                    raise CandleFileError(
                        f"{path}: {counting.consumed} compressed bytes expanded to {len(out)} bytes (more "
                        f"than {limits.max_expansion}x, CANDLE_MAX_EXPANSION): a compression bomb? refused"
                    )
    return out


def _csv_bytes_bounded(path: Path, limits: CandleLimits) -> bytearray | None:
    """A compressed CSV's bytes, decompressed under ``limits``; ``None`` for a plain
    file (read by path), whose size and line count are checked here."""
    try:
        codec = pa.Codec.detect(str(path)).name
    except (TypeError, ValueError):
        codec = None
    try:
        if codec is None:
            _size_check(path, path.stat().st_size, limits, what="it is")
            lines = 0
            with path.open("rb") as handle:
                while chunk := handle.read(16 * _READ_CHUNK):
                    lines += chunk.count(b"\n")
            data = None
        else:
            data = _decompress_bounded(path, codec, limits)
            lines = data.count(b"\n")
    except (pa.ArrowInvalid, OSError) as exc:
        raise CandleFileError(f"{path}: cannot read: {exc}") from None
    _rows_check(path, max(lines - 1, 0), limits)  # the header is not a row
    return data


def _csv_header(path: Path) -> list[str]:
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            head = stream.read(1 << 16)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CandleFileError(f"{path}: cannot read: {exc}") from None
    text = head.decode("utf-8-sig", errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        raise CandleFileError(
            f"{path}: the file is empty (line 1 should be a header such as {_HEADER_EXAMPLE})"
        )
    return next(csv.reader([first]))


_HEADER_EXAMPLE = "timestamp,open,high,low,close,volume"


def _columns_pick(names: list[str], *, where: str) -> dict[str, str]:
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


# --- Redis -------------------------------------------------------------------------


def redis_key_parse(key: str) -> tuple[str, str]:
    """``candles_with_indicators:{symbol}:{timeframe}`` → (symbol, timeframe)."""
    parts = key.split(":")
    if len(parts) != 3 or parts[0] != REDIS_KEY_PREFIX or not parts[1] or not parts[2]:
        raise CandleFileError(
            f"Redis key {key!r} is not of the form {REDIS_KEY_PREFIX}:{{symbol}}:{{timeframe}} "
            f"(e.g. {REDIS_KEY_PREFIX}:BTC-USDT-SWAP:1m)"
        )
    try:
        timeframe = timeframe_parse(parts[2])
    except ValueError as exc:
        raise CandleFileError(f"Redis key {key!r}: {exc}") from None
    return parts[1], timeframe


def url_redact(url: str) -> str:
    """``url`` without its password, for messages and the coverage record's source."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def redis_read(key: str, *, url: str, client=None, limits: CandleLimits = CandleLimits()) -> RawCandles:
    """The live system's key: a string holding a JSON list of objects (or a Redis list
    of JSON objects), each with ``timestamp`` (epoch ms), open, high, low, close,
    volume and indicator fields, which are ignored. Its size (and a list's length) is
    checked against ``limits`` before it is fetched.

    ``client``: an open redis client to read with (kept open; ``url`` then only names
    it in messages). Its caller has parsed ``key`` with its own pattern (the live
    source's ``LIVE_KEY_PATTERN``), so the default key form is not enforced then.
    """
    import redis

    where = f"Redis key {key!r} at {url_redact(url)}"
    own_client = client is None
    if own_client:
        redis_key_parse(key)
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
    try:
        kind = client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            _size_check(where, client.strlen(key), limits, what="it holds")
            payload = client.get(key)
        elif kind == "list":
            _rows_check(where, client.llen(key), limits)
            elements = client.lrange(key, 0, -1)
            _size_check(where, sum(len(e) for e in elements), limits, what="its elements hold")
            payload = b"[" + b",".join(elements) + b"]"
        elif kind == "none":
            raise CandleFileError(f"{where}: the key does not exist")
        else:
            raise CandleFileError(f"{where}: the key holds a Redis {kind}, expected a JSON string or a list")
    except redis.RedisError as exc:
        if not own_client and isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            raise  # the live source's caller tells an outage from a bad key
        raise CandleFileError(f"{where}: {exc}") from None
    finally:
        if own_client:
            client.close()
    try:
        items = json.loads(payload)
    except RecursionError:
        raise CandleFileError(f"{where}: not JSON candles: nested too deeply") from None
    except ValueError as exc:
        what = "not JSON" if kind == "string" else "a list element is not JSON"
        raise CandleFileError(f"{where}: {what}: {exc}") from None
    if isinstance(items, list):
        _rows_check(where, len(items), limits)
    return json_items_read(items, source=f"redis:{key}")


def json_items_read(items, *, source: str) -> RawCandles:
    """A decoded JSON list of candle objects (the Redis payload). Locations are the
    0-based list indices; an element that is not an object is a malformed row."""
    if not isinstance(items, list):
        raise CandleFileError(f"{source}: expected a JSON list of candle objects, got {type(items).__name__}")
    try:
        frame = (
            pd.DataFrame.from_records(items) if items else pd.DataFrame(columns=["timestamp", *VALUE_COLUMNS])
        )
        malformed = np.empty(0, dtype=np.int64)
        locations = np.arange(len(items), dtype=np.int64)
    except (TypeError, ValueError):
        # Only on this error path: find the elements that are not objects.
        is_object = np.fromiter((isinstance(item, dict) for item in items), dtype=bool, count=len(items))
        malformed = np.flatnonzero(~is_object).astype(np.int64)
        locations = np.flatnonzero(is_object).astype(np.int64)
        frame = pd.DataFrame.from_records([items[i] for i in locations.tolist()])
    columns = _columns_pick([str(c) for c in frame.columns], where=f"{source} (object keys)")
    frame.columns = [str(c) for c in frame.columns]
    return _raw_from_columns(
        {key: frame[name] for key, name in columns.items()},
        locations=locations,
        malformed=malformed,
        location_label="item",
        source=source,
    )


# --- Column conversion -------------------------------------------------------------


def _raw_from_columns(
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
