"""Candle timeframes: the allowed set and their lengths.

A timeframe is a count and a unit, ``1m`` … ``30m``, ``1h`` … ``12h``, ``1d``. Every
allowed timeframe divides one day, so buckets aligned to the Unix epoch are also
aligned to UTC midnight (and to TimescaleDB's default ``time_bucket`` origin).
"""

from __future__ import annotations

MINUTE_MS = 60_000

TIMEFRAME_MINUTES: dict[str, int] = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "12h": 720,
    "1d": 1440,
}


def timeframe_parse(value: str) -> str:
    """The canonical name of ``value`` (``'1H'`` → ``'1h'``, ``'1D'`` → ``'1d'``).

    Minutes stay lower-case only: ``'1M'`` is a month on several exchanges, so it is
    refused rather than read as a minute. Raises ``ValueError`` naming the value and
    the allowed set.
    """
    text = str(value).strip()
    if text[-1:] in {"H", "D"}:
        text = text[:-1] + text[-1].lower()
    if text not in TIMEFRAME_MINUTES:
        allowed = " ".join(TIMEFRAME_MINUTES)
        raise ValueError(f"timeframe {value!r} is not supported; use one of: {allowed}")
    return text


def timeframe_minutes(value: str) -> int:
    """Length of one bar of ``value`` in minutes (``'1h'`` → 60)."""
    return TIMEFRAME_MINUTES[timeframe_parse(value)]


def timeframe_ms(value: str) -> int:
    """Length of one bar of ``value`` in milliseconds (``'15m'`` → 900000)."""
    return timeframe_minutes(value) * MINUTE_MS


def timeframe_divides(finer: str, coarser: str) -> bool:
    """Whether whole bars of ``finer`` tile one bar of ``coarser`` (``15m`` tiles ``1h``)."""
    return timeframe_minutes(coarser) % timeframe_minutes(finer) == 0
