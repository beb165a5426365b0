"""The live trading system's Redis, only ever read: key names, SCAN and one series' bars.

The live HYPERRSI system keeps its recent candles (about the last 48 hours) in Redis,
one key per series named by ``settings.LIVE_KEY_PATTERN``
(``candles_with_indicators:{symbol}:{timeframe}`` by default), each holding a JSON list
of objects with ``timestamp`` (epoch ms, the bar's open time), open, high, low, close,
volume and indicator fields (see ``parse_redis.redis_read``). Its newest bar is usually still
forming: a bar is *closed* once its end (open time + one bar) is not after now, and
only closed bars are ever stored (``sync``, ``migrate_live``) or read by a backtest.

Read only by construction: ``LiveSource`` sends PING, SCAN, TYPE, GET and LRANGE and has
no method that writes. A connection failure or a timeout raises ``LiveUnavailable``; a
key that cannot be read or parsed raises ``CandleFileError`` naming the key.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.conf import settings

from engine.bars import BAR_FIELDS, BarColumns
from marketdata.parse import CandleFileError, RawCandles
from marketdata.parse_redis import redis_read, url_redact
from marketdata.timeframes import timeframe_ms, timeframe_parse
from marketdata.validate import ValidationReport, candles_validate

SOURCE_NAME = "live_redis"
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


class LiveUnavailable(ConnectionError):
    """The live Redis did not answer (down, unreachable or too slow)."""


def now_ms() -> int:
    """The wall clock in epoch ms: what decides whether a live bar is closed."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class KeyPattern:
    """A key template holding ``{symbol}`` and ``{timeframe}`` once each."""

    template: str

    def __post_init__(self):
        for field in ("{symbol}", "{timeframe}"):
            if self.template.count(field) != 1:
                raise ValueError(
                    f"LIVE_KEY_PATTERN {self.template!r} must hold {field} exactly once "
                    "(e.g. candles_with_indicators:{symbol}:{timeframe})"
                )

    def key(self, symbol: str, timeframe: str) -> str:
        return self.template.format(symbol=symbol, timeframe=timeframe)

    def glob(self) -> str:
        """The SCAN MATCH pattern of every key of this form."""
        literal = _GLOB_SPECIAL.sub(r"\\\1", self.template)
        return literal.replace("{symbol}", "*").replace("{timeframe}", "*")

    def parse(self, key: str) -> tuple[str, str]:
        """(symbol, timeframe) of ``key``; ``CandleFileError`` naming the key otherwise."""
        from marketdata.services import symbol_check  # services imports read, which imports this

        match = self._regex().fullmatch(key)
        if match is None:
            raise CandleFileError(f"Redis key {key!r} is not of the form {self.template}")
        try:
            return symbol_check(match["symbol"]), timeframe_parse(match["timeframe"])
        except ValueError as exc:
            raise CandleFileError(f"Redis key {key!r}: {exc}") from None

    def _regex(self) -> re.Pattern:
        parts = re.split(r"(\{symbol\}|\{timeframe\})", self.template)
        groups = {"{symbol}": "(?P<symbol>.+?)", "{timeframe}": "(?P<timeframe>[^:]+?)"}
        return re.compile("".join(groups.get(part, re.escape(part)) for part in parts))


def key_pattern() -> KeyPattern:
    return KeyPattern(settings.LIVE_KEY_PATTERN)


class LiveSource:
    """A read-only client of the live Redis at ``url`` (timeouts in seconds)."""

    def __init__(self, url: str, *, timeout: float = 5.0):
        self.url = url
        self.name = url_redact(url)
        import redis  # here, not at the top: most processes never read the live source

        self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)

    def ping(self) -> None:
        with self._unavailable():
            self._client.ping()

    def keys(self, match: str) -> list[str]:
        """Every key matching the glob ``match``, sorted (SCAN: never blocks the server)."""
        with self._unavailable():
            found = {k.decode() if isinstance(k, bytes) else k for k in self._client.scan_iter(match, 1000)}
        return sorted(found)

    def raw(self, key: str) -> RawCandles:
        """The parsed items of ``key`` (not yet validated)."""
        with self._unavailable():
            return redis_read(key, url=self.url, client=self._client)

    def _unavailable(self):
        return _translate_outage(self.name)


class _translate_outage:
    """Turn redis-py's connection errors and timeouts into ``LiveUnavailable``."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        import redis

        if exc is not None and isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            raise LiveUnavailable(f"live Redis {self.name} is unavailable: {exc}") from None
        return False


@lru_cache(maxsize=4)
def _source_for(url: str, timeout: float) -> LiveSource:
    # One client (and so one connection pool) per URL in a process.
    return LiveSource(url, timeout=timeout)


def live_source() -> LiveSource | None:
    """The configured live source, or None when ``LIVE_REDIS_URL`` is unset."""
    url = settings.LIVE_REDIS_URL
    return _source_for(url, float(settings.LIVE_TIMEOUT_SECONDS)) if url else None


# --- Bars ----------------------------------------------------------------------------


def raw_subset(raw: RawCandles, rows: np.ndarray) -> RawCandles:
    """``raw`` restricted to ``rows`` (indices or a mask), locations kept."""
    names = (*BAR_FIELDS, "ts_bad", "number_bad", "locations")
    return dataclasses.replace(raw, **{name: getattr(raw, name)[rows] for name in names})


def unclosed_mask(raw: RawCandles, timeframe: str, *, now: int | None = None) -> np.ndarray:
    """Rows whose bar has not closed yet at ``now`` (epoch ms; default: the clock)."""
    now = now_ms() if now is None else now
    return ~raw.ts_bad & (raw.ts + timeframe_ms(timeframe) > now)


@dataclass(frozen=True, eq=False)
class LiveBars(BarColumns):
    """The closed, valid bars of one live key, sorted by ts (int64 ms / float64 arrays).

    ``report`` is the validation of the key's closed rows; ``unclosed`` counts the
    rows left out because their bar is still forming.
    """

    key: str
    report: ValidationReport
    unclosed: int


def live_bars(source: LiveSource, symbol: str, timeframe: str, *, now: int | None = None) -> LiveBars:
    """The closed valid bars of the (symbol, timeframe) key; an empty set when the key
    does not exist. Invalid rows are left out and counted in ``report``."""
    key = key_pattern().key(symbol, timeframe)
    try:
        raw = source.raw(key)
    except CandleFileError as exc:
        if "does not exist" not in str(exc):
            raise
        raw = RawCandles.from_arrays(ts=[], open=[], high=[], low=[], close=[], volume=[], source=key)
    unclosed = unclosed_mask(raw, timeframe, now=now)
    closed = raw_subset(raw, ~unclosed)
    report = candles_validate(raw=closed, timeframe=timeframe)
    rows = np.flatnonzero(report.valid)
    rows = rows[np.argsort(closed.ts[rows], kind="stable")]
    cols = {name: np.ascontiguousarray(getattr(closed, name)[rows]) for name in BAR_FIELDS}
    return LiveBars(key=key, report=report, unclosed=int(np.count_nonzero(unclosed)), **cols)


def live_keys(source: LiveSource, match: str | None = None) -> Iterator[str]:
    """The keys of the live source matching ``match`` (default: every key of the pattern)."""
    yield from source.keys(match or key_pattern().glob())
