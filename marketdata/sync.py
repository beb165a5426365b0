"""Keeping the database current from the live Redis: ``live_sync`` (the scheduled sync)
and ``live_migrate`` (``manage.py migrate_live``: everything the live Redis holds).

Both store closed bars only: a bar still forming (open time + one bar after now) is
left for a later pass. Both write through ``services.candles_ingest``, so the series'
row lock serialises them with each other and with file loads, and the primary key
(symbol, timeframe, ts) keeps every bar once whatever runs at the same time.

- ``live_sync`` takes, for every live key, the closed valid bars newer than the last
  stored one. Invalid items are left out and reported on the series (``live_error``);
  an unreadable key is reported and the others go on; a live Redis that does not
  answer ends the pass with a warning in the log (the next pass retries).
- ``live_migrate`` validates each key's closed items exactly as a file load does and
  upserts the series in one transaction; a series with an invalid item is refused
  whole, with the reason, and the others are loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.utils import timezone

from engine.timestamps import datetime_to_ms
from marketdata import metrics
from marketdata.live import (
    LiveSource,
    LiveUnavailable,
    key_pattern,
    live_bars,
    live_source,
    raw_subset,
    unclosed_mask,
)
from marketdata.models import CandleSeries
from marketdata.parse import CandleFileError, RawCandles
from marketdata.services import CandlesInvalid, IngestResult, candles_ingest

logger = logging.getLogger(__name__)


class LiveNotConfigured(RuntimeError):
    """``LIVE_REDIS_URL`` is not set."""


@dataclass
class SeriesSync:
    """What one pass did for one live key."""

    key: str
    symbol: str = ""
    timeframe: str = ""
    inserted: int = 0
    rejected: int = 0  # invalid items in the key (left out)
    unclosed: int = 0  # items whose bar is still forming (left for later)
    error: str = ""


@dataclass
class SyncOutcome:
    """One pass of ``live_sync``: ``ok`` is False when the live Redis did not answer."""

    ok: bool
    series: list[SeriesSync] = field(default_factory=list)
    error: str = ""

    @property
    def inserted(self) -> int:
        return sum(s.inserted for s in self.series)

    def summary(self) -> str:
        if not self.ok:
            return f"live sync failed: {self.error}"
        bad = [s for s in self.series if s.error]
        text = f"live sync: {len(self.series)} key(s), {self.inserted} new bar(s)"
        return text + (f", {len(bad)} with problems" if bad else "")


def live_sync(*, symbols: list[tuple[str, str]] | None = None, now: int | None = None) -> SyncOutcome:
    """One pass of the scheduled sync over every live key (or the given (symbol,
    timeframe) series). Never raises for a live-side problem: see the module doc."""
    source = live_source()
    if source is None:
        return SyncOutcome(ok=True, error="no live source (LIVE_REDIS_URL is not set)")
    pattern = key_pattern()
    outcome = SyncOutcome(ok=True)
    try:
        if symbols is None:
            keys = source.keys(pattern.glob())
        else:
            keys = [pattern.key(symbol, timeframe) for symbol, timeframe in symbols]
        for key in keys:
            outcome.series.append(_series_sync(source, key, now=now))
    except LiveUnavailable as exc:
        outcome.ok, outcome.error = False, str(exc)
        logger.warning("live sync: %s; the next pass will retry", exc)
    return outcome


def _series_sync(source: LiveSource, key: str, *, now: int | None) -> SeriesSync:
    result = SeriesSync(key=key)
    try:
        result.symbol, result.timeframe = key_pattern().parse(key)
        bars = live_bars(source, result.symbol, result.timeframe, now=now)
    except CandleFileError as exc:
        result.error = str(exc)
        logger.warning("live sync: %s", exc)
        if result.timeframe:
            _series_note(result, synced=False)
        return result
    result.unclosed, result.rejected = bars.unclosed, bars.report.invalid
    if bars.report.invalid:
        result.error = bars.report.text()
        logger.warning("live sync: %s", result.error.replace("\n", ";"))
    last = (
        CandleSeries.objects.filter(symbol=result.symbol, timeframe=result.timeframe)
        .values_list("last_ts", flat=True)
        .first()
    )
    new = np.ones(len(bars), dtype=bool) if last is None else bars.ts > datetime_to_ms(last)
    if new.any():
        raw = RawCandles.from_arrays(
            ts=bars.ts[new],
            open=bars.open[new],
            high=bars.high[new],
            low=bars.low[new],
            close=bars.close[new],
            volume=bars.volume[new],
            source=f"live:{key}",
        )
        ingest = candles_ingest(
            symbol=result.symbol, timeframe=result.timeframe, raw=raw, source=f"live:{key} at {source.name}"
        )
        result.inserted = ingest.inserted
    _series_note(result, synced=True)
    stored = CandleSeries.objects.filter(symbol=result.symbol, timeframe=result.timeframe).first()
    lag = None if stored is None else stored.lag_seconds()
    if lag is not None:
        metrics.live_sync_lag(result.symbol, result.timeframe, lag)
    return result


def _series_note(result: SeriesSync, *, synced: bool) -> None:
    """Record the pass on the series' coverage record (when the series exists)."""
    values: dict = {"live_key": result.key, "live_error": result.error[:2000]}
    if synced:
        values["live_synced_at"] = timezone.now()
    CandleSeries.objects.filter(symbol=result.symbol, timeframe=result.timeframe).update(**values)


# --- migrate_live ----------------------------------------------------------------------


@dataclass
class SeriesMigration:
    """One key of ``live_migrate``: loaded (``result``) or refused (``error``)."""

    key: str
    symbol: str = ""
    timeframe: str = ""
    result: IngestResult | None = None
    unclosed: int = 0
    error: str = ""


class _DryRun(Exception):
    """Raised inside the transaction of a dry run, so that nothing it wrote is kept."""


def live_migrate(
    *,
    match: str | None = None,
    dry_run: bool = False,
    now: int | None = None,
    on_key: Callable[[SeriesMigration], None] | None = None,
) -> tuple[list[str], list[SeriesMigration]]:
    """Load every live key matching the glob ``match`` (default: every key of
    ``LIVE_KEY_PATTERN``) into the database, one series per transaction.

    Returns ``(keys, results)``. A dry run does each load in a transaction rolled back
    at its end, so its counts (new/changed/unchanged) are exactly those of a real run.
    ``on_key`` is called after each key (progress). Raises ``LiveNotConfigured`` and
    ``LiveUnavailable``.
    """
    source = live_source()
    if source is None:
        raise LiveNotConfigured("no live source: set LIVE_REDIS_URL")
    pattern = key_pattern()
    keys = source.keys(match or pattern.glob())
    results = []
    for key in keys:
        item = _series_migrate(source, key, dry_run=dry_run, now=now)
        results.append(item)
        if on_key is not None:
            on_key(item)
    return keys, results


def _series_migrate(source: LiveSource, key: str, *, dry_run: bool, now: int | None) -> SeriesMigration:
    item = SeriesMigration(key=key)
    try:
        item.symbol, item.timeframe = key_pattern().parse(key)
        raw = source.raw(key)
        unclosed = unclosed_mask(raw, item.timeframe, now=now)
        item.unclosed = int(np.count_nonzero(unclosed))
        ingest = {
            "symbol": item.symbol,
            "timeframe": item.timeframe,
            "raw": raw_subset(raw, ~unclosed),
            "source": f"live:{key} at {source.name}",
        }
        if dry_run:
            try:
                with transaction.atomic():
                    item.result = candles_ingest(**ingest)
                    raise _DryRun
            except _DryRun:
                pass
        else:
            item.result = candles_ingest(**ingest)
            CandleSeries.objects.filter(symbol=item.symbol, timeframe=item.timeframe).update(
                live_key=key, live_error=""
            )
    except CandlesInvalid as exc:
        item.error = str(exc)
    except CandleFileError as exc:
        item.error = str(exc)
    return item
