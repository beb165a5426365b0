"""A run's trades as CSV or Parquet: one row per trade, the contract's trade keys.

Columns: ``seq`` (1-based, as the report numbers trades), then the contract's keys in
its order (``side, entry_time, exit_time, entry_price, exit_price, quantity, fees, pnl,
return, bars_held, exit_reason``). Times are epoch milliseconds (UTC) like the engine's
JSON, plus ISO 8601 UTC copies (``entry_time_utc``, ``exit_time_utc``) for
spreadsheets. Shared by the report page's download links and the API's renderers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.runner import TRADE_KEYS
from engine.timestamps import ISO_FORMAT, datetime_to_ms

COLUMNS = ("seq", *TRADE_KEYS, "entry_time_utc", "exit_time_utc")
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}

_FIELDS = ("seq", *("trade_return" if key == "return" else key for key in TRADE_KEYS))


@dataclass(frozen=True)
class TradeTable:
    """Rows of ``COLUMNS`` values (Python scalars)."""

    rows: list[tuple[Any, ...]]
    columns: Sequence[str] = COLUMNS


def trade_table(trades) -> TradeTable:
    """The rows of a Trade queryset (ordered by ``seq``), in one query."""
    rows = []
    for values in trades.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=5000):
        record = dict(zip(_FIELDS, values, strict=True))
        entry, exit_ = record["entry_time"], record["exit_time"]
        rows.append(
            (
                record["seq"] + 1,
                record["side"],
                datetime_to_ms(entry),
                datetime_to_ms(exit_),
                record["entry_price"],
                record["exit_price"],
                record["quantity"],
                record["fees"],
                record["pnl"],
                record["trade_return"],
                record["bars_held"],
                record["exit_reason"],
                entry.strftime(ISO_FORMAT),
                exit_.strftime(ISO_FORMAT),
            )
        )
    return TradeTable(rows)


def to_csv(table: TradeTable) -> bytes:
    """UTF-8 CSV with a header row; floats written exactly (``repr``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return out.getvalue().encode("utf-8")


def to_parquet(table: TradeTable) -> bytes:
    """A Parquet file (pyarrow, zstd): int64 seq, times and bars; float64 prices and
    amounts; strings for side, exit reason and the UTC copies."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "seq": pa.int64(),
        "entry_time": pa.int64(),
        "exit_time": pa.int64(),
        "bars_held": pa.int64(),
        "side": pa.string(),
        "exit_reason": pa.string(),
        "entry_time_utc": pa.string(),
        "exit_time_utc": pa.string(),
    }
    columns = list(zip(*table.rows, strict=True)) if table.rows else [() for _ in table.columns]
    arrays = [
        pa.array(list(values), type=types.get(name, pa.float64()))
        for name, values in zip(table.columns, columns, strict=True)
    ]
    buffer = io.BytesIO()
    pq.write_table(pa.table(arrays, names=list(table.columns)), buffer, compression="zstd")
    return buffer.getvalue()


WRITERS = {"csv": to_csv, "parquet": to_parquet}
