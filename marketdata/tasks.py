"""django-q2 entry points of market data: the live sync and candle maintenance.

Each corrects its own schedule's interval to the current setting first, so a changed
``LIVE_SYNC_MINUTES`` / ``CANDLE_MAINTENANCE_MINUTES`` applies from the next run on
(migration 0002 created the schedules with the values of its day).
"""

from __future__ import annotations

from django.conf import settings
from django_q.models import Schedule

SYNC_SCHEDULE = "marketdata: sync live"
MAINTENANCE_SCHEDULE = "marketdata: candle maintenance"


def sync_live() -> str:
    from marketdata.sync import live_sync

    _interval_keep(SYNC_SCHEDULE, settings.LIVE_SYNC_MINUTES)
    return live_sync().summary()


def candles_maintain() -> str:
    from marketdata.maintenance import candles_maintain as maintain

    _interval_keep(MAINTENANCE_SCHEDULE, settings.CANDLE_MAINTENANCE_MINUTES)
    return maintain().summary()


def _interval_keep(name: str, minutes: int) -> None:
    Schedule.objects.filter(name=name).exclude(minutes=minutes).update(minutes=max(1, minutes))
