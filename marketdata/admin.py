"""Admin for stored market data: one read-only row per series (``CandleSeries``).

Django 5.2's admin cannot register a model with a composite primary key, so the
candles themselves are not listed; their coverage records are, with the live source
they sync from, the last sync and the lag, and a "sync now" action.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from marketdata.models import CandleRollup, CandleSeries


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only the market-data services write (loads, syncs, rollup refreshes):
    listed and shown, never added, edited or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CandleSeries)
class CandleSeriesAdmin(ReadOnlyAdmin):
    # Coverage is derived from the candle table by every load: never edited by hand.
    list_display = (
        "symbol",
        "timeframe",
        "first_ts",
        "last_ts",
        "row_count",
        "gap_count",
        "missing_bars",
        "zero_volume_count",
        "loaded_at",
        "load_version",
        "live_key",
        "live_synced_at",
        "lag",
    )
    list_filter = ("timeframe",)
    actions = ("sync_now",)
    search_fields = ("symbol",)
    ordering = ("symbol", "timeframe")
    fields = (
        ("symbol", "timeframe"),
        ("first_ts", "last_ts"),
        ("row_count", "zero_volume_count"),
        ("gap_count", "missing_bars"),
        "gap_table",
        ("loaded_at", "load_version"),
        "source",
        ("last_inserted", "last_updated", "last_rejected"),
        ("live_key", "live_synced_at", "lag"),
        "live_error",
    )
    # Every field is read-only; readonly_fields wants the names flat, fields groups them in rows.
    readonly_fields = tuple(name for row in fields for name in (row if isinstance(row, tuple) else (row,)))

    @admin.display(description="lag")
    def lag(self, obj: CandleSeries) -> str:
        seconds = obj.lag_seconds()
        return "-" if seconds is None else f"{seconds:,.0f} s"

    @admin.action(description="Sync now from the live Redis")
    def sync_now(self, request, queryset):
        from marketdata.sync import live_sync

        outcome = live_sync(symbols=list(queryset.values_list("symbol", "timeframe")))
        if not outcome.ok or outcome.error:
            self.message_user(request, outcome.summary() if not outcome.ok else outcome.error, messages.ERROR)
            return
        for item in outcome.series:
            level = messages.WARNING if item.error else messages.SUCCESS
            text = f"{item.key}: {item.inserted} new bar(s)"
            self.message_user(request, text + (f"; {item.error}" if item.error else ""), level)

    @admin.display(description="gaps (missing bars)")
    def gap_table(self, obj: CandleSeries):
        if not obj.gaps:
            return "none"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((g["start"], g["end"], g["missing_bars"]) for g in obj.gaps),
        )
        return format_html(
            "<table><thead><tr><th>first missing bar</th><th>next bar</th><th>missing bars</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(CandleRollup)
class CandleRollupAdmin(ReadOnlyAdmin):
    """The rollups of the Apache build, read-only: what is materialised, up to when."""

    list_display = ("symbol", "source_timeframe", "timeframe", "materialized_to", "refreshed_at")
    list_filter = ("timeframe", "source_timeframe")
    search_fields = ("symbol",)
    readonly_fields = list_display
