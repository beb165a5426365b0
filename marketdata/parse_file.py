"""Candle files read into ``RawCandles``: CSV (optionally compressed) and Parquet.

A file's limits (``CandleLimits``) are checked before it is parsed: a compressed CSV is
decompressed into memory under them, refused as soon as it passes its byte bound or
expands suspiciously (a compression bomb); a Parquet file by its footer. Column names
and the column conversion are ``parse``'s.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from marketdata.parse import (
    DEFAULT_LIMITS,
    CandleFileError,
    CandleLimits,
    RawCandles,
    columns_pick,
    raw_from_columns,
)

_EXPANSION_CHECKED_FROM = 8 * 1024 * 1024
_READ_CHUNK = 1 << 20


def file_read(path: str | Path, *, limits: CandleLimits = DEFAULT_LIMITS) -> RawCandles:
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


def csv_read(path: str | Path, *, limits: CandleLimits = DEFAULT_LIMITS) -> RawCandles:
    """A CSV file with a header line. Header names are matched case-insensitively;
    the timestamp column may be any of ``TIMESTAMP_ALIASES`` (the first one present,
    in that order, is used); other extra columns are ignored.

    ``limits`` are checked before parsing: a compressed file is decompressed into
    memory under them (``_decompress_bounded``), a plain one by its size on disk; then
    its lines are counted."""
    path = Path(path)
    header = _csv_header(path)
    columns = columns_pick(header, where=f"{path}, line 1")
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
    return raw_from_columns(
        {key: table[name] for key, name in columns.items()},
        locations=lines,
        malformed=bad,
        location_label="line",
        source=str(path),
    )


def parquet_read(path: str | Path, *, limits: CandleLimits = DEFAULT_LIMITS) -> RawCandles:
    """A Parquet file. Column names as for CSV; the timestamp column may be a Parquet
    timestamp (naive means UTC), a date, epoch seconds/ms or ISO 8601 text. Its row
    count and uncompressed size are read from its footer and checked against
    ``limits`` before any column is read."""
    path = Path(path)
    try:
        meta = pq.read_metadata(str(path))
        limits.rows_check(path, meta.num_rows)
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        limits.size_check(path, size, what="its columns uncompress to")
        table = pq.read_table(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CandleFileError(f"{path}: cannot read as Parquet: {exc}") from None
    columns = columns_pick(table.column_names, where=f"{path} (Parquet columns)")
    return raw_from_columns(
        {key: table[name] for key, name in columns.items()},
        locations=np.arange(1, table.num_rows + 1, dtype=np.int64),
        malformed=np.empty(0, dtype=np.int64),
        location_label="row",
        source=str(path),
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
                limits.size_check(path, len(out), what="it decompresses to")
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
            limits.size_check(path, path.stat().st_size, what="it is")
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
    limits.rows_check(path, max(lines - 1, 0))  # the header is not a row
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
