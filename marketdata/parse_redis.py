"""The live system's Redis key read into ``RawCandles``: a JSON list of candle objects.

``redis_read`` fetches one key (a JSON string or a Redis list of JSON objects) under
the source limits; ``json_items_read`` turns the decoded list into columns. Key names
and URLs for messages: ``redis_key_parse``, ``url_redact``.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

from marketdata.parse import (
    DEFAULT_LIMITS,
    VALUE_COLUMNS,
    CandleFileError,
    CandleLimits,
    RawCandles,
    columns_pick,
    raw_from_columns,
)
from marketdata.timeframes import timeframe_parse

REDIS_KEY_PREFIX = "candles_with_indicators"


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


def redis_read(key: str, *, url: str, client=None, limits: CandleLimits = DEFAULT_LIMITS) -> RawCandles:
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
            limits.size_check(where, client.strlen(key), what="it holds")
            payload = client.get(key)
        elif kind == "list":
            limits.rows_check(where, client.llen(key))
            elements = client.lrange(key, 0, -1)
            limits.size_check(where, sum(len(e) for e in elements), what="its elements hold")
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
        limits.rows_check(where, len(items))
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
    columns = columns_pick([str(c) for c in frame.columns], where=f"{source} (object keys)")
    frame.columns = [str(c) for c in frame.columns]
    return raw_from_columns(
        {key: frame[name] for key, name in columns.items()},
        locations=locations,
        malformed=malformed,
        location_label="item",
        source=source,
    )
