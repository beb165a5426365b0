"""Admin pieces the pages of runs and sweeps share (and their trials and chunks).

Job rows are written by the services only: nothing on these pages is added or edited
by hand; actions go through each package's services.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from engine.format import metric_value


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the services write: no add or change form."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class JobAdmin(ReadOnlyAdmin):
    """A job over one market (a run, a sweep)."""

    @admin.display(description="market", ordering="symbol")
    def market(self, job):
        return format_html('<span style="white-space: nowrap">{} {}</span>', job.symbol, job.timeframe)


def metric_column(name: str, description: str):
    """A list column of the metric column ``name`` (a run's or a trial's), shown in the
    contract's unit and sortable by it."""

    @admin.display(description=description, ordering=name)
    def column(self, row):
        return metric_value(name, getattr(row, name))

    return column
