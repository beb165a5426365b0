"""Read paths for runs that span relations or apply ownership."""

from __future__ import annotations

from django.db.models import QuerySet

from backtests.models import BacktestRun


def runs_visible_to(user) -> QuerySet[BacktestRun]:
    """Runs a user may see: their own, or all of them for staff."""
    return BacktestRun.objects.visible_to(user).select_related("spec", "owner")
