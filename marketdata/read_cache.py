"""The cache of candle reads: (6, n) blocks in Redis as raw bytes, never pickled.

Through django-redis (its client and key function, so KEY_PREFIX, VERSION and TIMEOUT
apply): the six columns back to back (ts as int64, then open … volume as float64,
little-endian), cut into 1 MiB values ``{key}:0``, ``{key}:1`` … and a header value
``{key}`` (magic, rows, chunks) written last. A read fetches the header, then every
chunk with one MGET, straight into the arrays' buffer; a missing chunk is a miss.
Chunks, rather than one 48 MB value, because redis-py copies a value several times
while parsing it and small copies stay in the CPU cache: a million rows come back in
about half the time. With another cache backend (local memory on SQLite) the same bytes
are stored as one value.

The key holds the coverage row's id and ``load_version`` (bumped by every load), the
source and requested timeframes and the range, so a reload makes new keys and stale
entries simply expire. A cache outage never stops a read: it is logged and the
database is read instead.
"""

from __future__ import annotations

import logging
import struct

import numpy as np
from django.core.cache import cache

from marketdata.models import CandleSeries

logger = logging.getLogger(__name__)

_CACHE_MAGIC = b"CANDLES1"
CACHE_KEY_PREFIX = "candles:v1"
CACHE_CHUNK_BYTES = 1 << 20


def cache_key(series: CandleSeries, timeframe: str, start_ms: int | None, end_ms: int | None) -> str:
    """The cache key of one read: changes with every load of the source series."""
    lo = "-" if start_ms is None else str(start_ms)
    hi = "-" if end_ms is None else str(end_ms)
    return (
        f"{CACHE_KEY_PREFIX}:{series.symbol}:{timeframe}:from-{series.timeframe}:"
        f"{series.pk}.{series.load_version}:{lo}:{hi}"
    )


def block_bytes(block: np.ndarray) -> bytes:
    """The one-value encoding of a (6, n) block (see ``Candles.to_bytes``)."""
    data = np.ascontiguousarray(block, dtype="<f8").tobytes()
    return _CACHE_MAGIC + struct.pack("<q", block.shape[1]) + data


def block_from_bytes(blob: bytes) -> np.ndarray:
    """The (6, n) block of a one-value encoding (a copy: the caller may write to it)."""
    if blob[:8] != _CACHE_MAGIC:
        raise ValueError("not a cached candles blob")
    (n,) = struct.unpack_from("<q", blob, 8)
    return np.frombuffer(blob, dtype="<f8", count=6 * n, offset=16).reshape(6, n).copy()


def _redis_client():
    """django-redis's raw redis client, or None with another cache backend."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


def cache_get(key: str) -> np.ndarray | None:
    """The cached (6, n) block of ``key``, or None on a miss (or a cache outage)."""
    try:
        client = _redis_client()
        if client is None:
            blob = cache.get(key)
            return None if blob is None else block_from_bytes(blob)
        name = cache.make_key(key)
        header = client.get(name)
        if header is None or header[:8] != _CACHE_MAGIC:
            return None
        n, chunks = struct.unpack_from("<qq", header, 8)
        parts = client.mget([f"{name}:{i}" for i in range(chunks)]) if chunks else []
        if any(part is None for part in parts):
            return None  # a chunk expired or was evicted: read the database again
        block = np.empty((6, n), dtype="<f8")
        flat = block.reshape(-1).view(np.uint8)
        at = 0
        for part in parts:
            flat[at : at + len(part)] = np.frombuffer(part, dtype=np.uint8)
            at += len(part)
        return block if at == flat.shape[0] else None
    except Exception:  # a cache outage must not stop a backtest: read the database
        logger.warning("candle cache read failed for %s", key, exc_info=True)
        return None


def cache_set(key: str, block: np.ndarray) -> None:
    try:
        client = _redis_client()
        if client is None:
            cache.set(key, block_bytes(block))
            return
        name = cache.make_key(key)
        data = memoryview(np.ascontiguousarray(block, dtype="<f8").reshape(-1).view(np.uint8))
        chunks = -(-len(data) // CACHE_CHUNK_BYTES)
        timeout = cache.default_timeout
        pipe = client.pipeline(transaction=False)
        for i in range(chunks):
            pipe.set(f"{name}:{i}", data[i * CACHE_CHUNK_BYTES : (i + 1) * CACHE_CHUNK_BYTES], ex=timeout)
        # The header last: a reader that finds it finds the chunks too.
        pipe.set(name, _CACHE_MAGIC + struct.pack("<qq", block.shape[1], chunks), ex=timeout)
        pipe.execute()
    except Exception:
        logger.warning("candle cache write failed for %s", key, exc_info=True)
