"""Renderers of the runs API's trade export: ``text/csv`` and Parquet.

The trades view hands them a ``backtests.exports.TradeTable`` (every trade of the run,
unpaginated); an error response (a dict such as ``{"detail": …}``) is written as one
``detail`` line, so a 404 asked for as CSV is still readable.
"""

from __future__ import annotations

from rest_framework.renderers import BaseRenderer

from backtests import exports


class _TradeTableRenderer(BaseRenderer):
    fmt = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, exports.TradeTable):
            return exports.WRITERS[self.fmt](data)
        detail = data.get("detail", data) if isinstance(data, dict) else data
        return f"detail\n{detail}\n".encode()


class TradesCSVRenderer(_TradeTableRenderer):
    media_type = exports.MEDIA_TYPES["csv"]
    format = "csv"
    charset = "utf-8"
    fmt = "csv"


class TradesParquetRenderer(_TradeTableRenderer):
    media_type = exports.MEDIA_TYPES["parquet"]
    format = "parquet"
    charset = None
    fmt = "parquet"
