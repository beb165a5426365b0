"""The engine's time unit and its conversions, written once.

Every timestamp in the kernels, the candle arrays and the results is an int64 count of
milliseconds since 1970-01-01 UTC (the open time of a bar). Everything that turns one
into a ``datetime`` or ISO 8601 text, or back, calls these.
"""

from __future__ import annotations

from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def ms_to_datetime(ms: int | float) -> datetime:
    """Epoch milliseconds as an aware UTC ``datetime``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(moment: datetime) -> int:
    """An aware ``datetime`` as epoch milliseconds (rounded: a float timestamp of an exact
    millisecond can fall a hair below it)."""
    return round(moment.timestamp() * 1000)


def ms_iso(ms: int | float) -> str:
    """Epoch milliseconds as ISO 8601 UTC text to the second: ``2021-09-27T13:45:00Z``."""
    return ms_to_datetime(ms).strftime(ISO_FORMAT)
