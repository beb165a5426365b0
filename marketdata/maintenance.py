"""Candle maintenance on TimescaleDB: rollups into coarser timeframes, retention of raw candles.

Two paths, chosen by the server's ``timescaledb.license``:

- **Apache** (the project's own build, ``-DAPACHE_ONLY=ON``): no compression, retention
  policy nor continuous aggregate exist. Rollups are plain rows (``RollupCandle``), one
  ``CandleRollup`` per (series, target timeframe in ``CANDLE_ROLLUPS``), materialised
  incrementally by ``rollups_refresh`` from the ``materialized_to`` watermark up to the
  newest complete bucket (loads move the watermark back; see ``services``). Retention is
  ``drop_chunks`` on the candle hypertable, run by ``retention_apply`` after the rollups
  are refreshed, so the coarse history outlives the raw bars.
- **Timescale licence** (e.g. TimescaleDB's Docker image): each rollup timeframe is a
  continuous aggregate ``marketdata_rollup_{tf}`` with real-time aggregation and a
  refresh policy, retention is a retention policy, and compression (migration
  ``backtests 0002``) stays as it is. ``candles_maintain`` creates or corrects them.

Both run from the django-q2 schedule ``marketdata: candle maintenance``
(``marketdata.tasks.candles_maintain``). On SQLite nothing is done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from engine.timestamps import datetime_to_ms, ms_to_datetime
from marketdata.models import CandleRollup, CandleSeries
from marketdata.services import coverage_refresh
from marketdata.timeframes import TIMEFRAME_MINUTES, timeframe_divides, timeframe_ms, timeframe_parse

logger = logging.getLogger(__name__)

HYPERTABLE = "backtests_candle"


def timescaledb_license() -> str:
    """``timescale``, ``apache`` (or ``unknown``); ``""`` when not on PostgreSQL."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('timescaledb.license', true)")
        row = cursor.fetchone()
    return (row[0] if row else None) or "unknown"


def cagg_name(timeframe: str) -> str:
    """The continuous aggregate of rollup ``timeframe`` on the licensed build."""
    return f"marketdata_rollup_{timeframe_parse(timeframe)}"


def rollup_targets() -> list[str]:
    """``CANDLE_ROLLUPS`` as canonical timeframes, finest first."""
    return sorted({timeframe_parse(tf) for tf in settings.CANDLE_ROLLUPS}, key=TIMEFRAME_MINUTES.__getitem__)


# --- Apache path: rollups as rows ----------------------------------------------------------


def rollups_ensure() -> list[CandleRollup]:
    """A ``CandleRollup`` for every stored series and every finer-to-coarser target."""
    targets = rollup_targets()
    rollups = []
    for symbol, tf in CandleSeries.objects.filter(row_count__gt=0).values_list("symbol", "timeframe"):
        for target in targets:
            if target != tf and timeframe_divides(tf, target):
                rollup, _ = CandleRollup.objects.get_or_create(
                    symbol=symbol, source_timeframe=tf, timeframe=target
                )
                rollups.append(rollup)
    return rollups


def rollup_refresh(rollup_id: int) -> int:
    """Materialise one rollup from its watermark up to the newest complete bucket.

    Holds the source series' row lock (as a load does), so no load writes into the
    range while it is aggregated. Returns the number of buckets written or changed.
    """
    with transaction.atomic():
        rollup = CandleRollup.objects.select_for_update().get(pk=rollup_id)
        series = (
            CandleSeries.objects.select_for_update()
            .filter(symbol=rollup.symbol, timeframe=rollup.source_timeframe)
            .first()
        )
        if series is None or series.last_ts is None:
            return 0
        width, step = timeframe_ms(rollup.timeframe), timeframe_ms(rollup.source_timeframe)
        # The bucket holding the newest bar is materialised once that bar is its last.
        newest_end = datetime_to_ms(series.last_ts) + step
        upto = newest_end - newest_end % width
        first = datetime_to_ms(series.first_ts)
        lo = (
            first - first % width
            if rollup.materialized_to is None
            else datetime_to_ms(rollup.materialized_to)
        )
        changed = 0
        if upto > lo:
            changed = _rollup_upsert(rollup, width, lo, upto)
            rollup.materialized_to = ms_to_datetime(upto)
        rollup.refreshed_at = timezone.now()
        rollup.save(update_fields=["materialized_to", "refreshed_at"])
    return changed


def _rollup_upsert(rollup: CandleRollup, width: int, lo: int, hi: int) -> int:
    values = ("open", "high", "low", "close", "volume", "bars")
    changed = " OR ".join(f"r.{v} IS DISTINCT FROM EXCLUDED.{v}" for v in values)
    sql = (
        "INSERT INTO marketdata_rollupcandle AS r "
        "(symbol, timeframe, source_timeframe, ts, open, high, low, close, volume, bars) "
        "SELECT %s, %s, %s, time_bucket(%s::interval, ts) AS bucket, first(open, ts), max(high), "
        "min(low), last(close, ts), sum(volume), count(*) FROM backtests_candle "
        "WHERE symbol = %s AND timeframe = %s AND ts >= %s AND ts < %s GROUP BY bucket "
        "ON CONFLICT (symbol, timeframe, source_timeframe, ts) DO UPDATE SET "
        + ", ".join(f"{v} = EXCLUDED.{v}" for v in values)
        + f" WHERE {changed}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                rollup.symbol,
                rollup.timeframe,
                rollup.source_timeframe,
                f"{width // 60_000} minutes",
                rollup.symbol,
                rollup.source_timeframe,
                ms_to_datetime(lo),
                ms_to_datetime(hi),
            ],
        )
        return cursor.rowcount


def rollups_refresh() -> int:
    """Ensure and refresh every rollup (Apache path). Returns the buckets written."""
    return sum(rollup_refresh(rollup.pk) for rollup in rollups_ensure())


# --- Retention -----------------------------------------------------------------------------


@dataclass
class MaintenanceOutcome:
    license: str
    buckets: int = 0
    chunks_dropped: list[str] = field(default_factory=list)
    series_refreshed: int = 0
    policies: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.license:
            return "candle maintenance: nothing to do on this database"
        text = f"candle maintenance ({self.license}): {self.buckets} rollup bucket(s) written"
        text += f", {len(self.chunks_dropped)} chunk(s) dropped, {self.series_refreshed} series recounted"
        return text + (f"; policies: {', '.join(self.policies)}" if self.policies else "")


def retention_apply(*, days: int, now: datetime | None = None) -> tuple[list[str], int]:
    """Drop the raw candle chunks wholly older than ``days`` (Apache path: ``drop_chunks``)
    and recount the series that held bars there. Returns (chunks dropped, series recounted)."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT drop_chunks('{HYPERTABLE}', older_than => %s::timestamptz)", [cutoff])
        dropped = [row[0] for row in cursor.fetchall()]
    return dropped, _recount_before(cutoff) if dropped else 0


def _recount_before(cutoff: datetime) -> int:
    """Recompute the coverage of every series whose first bar is before ``cutoff``."""
    count = 0
    for pk in CandleSeries.objects.filter(first_ts__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            series = CandleSeries.objects.select_for_update().get(pk=pk)
            coverage_refresh(series)
        count += 1
    return count


# --- Licensed path -------------------------------------------------------------------------


def _licensed_policies(days: int, now: datetime | None) -> tuple[list[str], int]:
    """Continuous aggregates per rollup timeframe and the retention policy (Timescale
    licence only). The aggregates' refresh window stops short of the retention age, so
    refreshing never reaches bars that retention dropped (which would empty buckets)."""
    done = []
    start_offset = f"{max(days - 1, 1)} days" if days else None
    with connection.cursor() as cursor:
        for tf in rollup_targets():
            view, width = cagg_name(tf), f"{timeframe_ms(tf) // 60_000} minutes"
            cursor.execute(
                f"CREATE MATERIALIZED VIEW IF NOT EXISTS {view} WITH (timescaledb.continuous, "
                "timescaledb.materialized_only = false) AS "
                "SELECT symbol, timeframe AS source_timeframe, "
                f"time_bucket(INTERVAL '{width}', ts) AS bucket, "
                "first(open, ts) AS open, max(high) AS high, min(low) AS low, last(close, ts) AS close, "
                f"sum(volume) AS volume, count(*) AS bars FROM {HYPERTABLE} "
                "GROUP BY symbol, timeframe, bucket WITH NO DATA"
            )
            _policy_replace(
                cursor,
                proc="policy_refresh_continuous_aggregate",
                relation=view,
                key="start_offset",
                wanted=start_offset,
                remove=f"SELECT remove_continuous_aggregate_policy('{view}', if_exists => true)",
                add=(
                    f"SELECT add_continuous_aggregate_policy('{view}', start_offset => %s::interval, "
                    f"end_offset => INTERVAL '{width}', schedule_interval => INTERVAL '{width}')"
                ),
            )
            done.append(view)
        _policy_replace(
            cursor,
            proc="policy_retention",
            relation=HYPERTABLE,
            key="drop_after",
            wanted=f"{days} days" if days else None,
            remove=f"SELECT remove_retention_policy('{HYPERTABLE}', if_exists => true)",
            add=f"SELECT add_retention_policy('{HYPERTABLE}', drop_after => %s::interval)",
            add_needs_value=True,
        )
        if days:
            done.append(f"retention {days} days")
    return done, _recount_before((now or timezone.now()) - timedelta(days=days)) if days else 0


def _policy_replace(cursor, *, proc, relation, key, wanted, remove, add, add_needs_value=False) -> None:
    """Make the policy job ``proc`` on ``relation`` have ``config[key] = wanted`` (None:
    no such policy for retention, an open start for a refresh policy)."""
    cursor.execute(
        "SELECT config->>%s FROM timescaledb_information.jobs WHERE proc_name = %s "
        "AND (hypertable_name = %s OR hypertable_name IN (SELECT materialization_hypertable_name "
        "FROM timescaledb_information.continuous_aggregates WHERE view_name = %s))",
        [key, proc, relation, relation],
    )
    rows = cursor.fetchall()
    if rows:
        current = rows[0][0]
        cursor.execute("SELECT %s::interval IS NOT DISTINCT FROM %s::interval", [current, wanted])
        if cursor.fetchone()[0]:
            return
        cursor.execute(remove)
    if wanted is None and add_needs_value:
        return
    cursor.execute(add, [wanted])


# --- The scheduled task ---------------------------------------------------------------------


def candles_maintain(*, now: datetime | None = None) -> MaintenanceOutcome:
    """Refresh the rollups, then apply retention (``CANDLE_RETENTION_DAYS``, 0 = keep all)."""
    license_name = timescaledb_license()
    outcome = MaintenanceOutcome(license=license_name)
    days = settings.CANDLE_RETENTION_DAYS
    if license_name == "timescale":
        outcome.policies, outcome.series_refreshed = _licensed_policies(days, now)
    elif license_name:
        outcome.buckets = rollups_refresh()
        if days > 0:
            outcome.chunks_dropped, outcome.series_refreshed = retention_apply(days=days, now=now)
    return outcome
