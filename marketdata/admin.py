"""Admin for stored market data: one read-only row per series (``CandleSeries``).

Django 5.2's admin cannot register a model with a composite primary key, so the
candles themselves are not listed; their coverage records are.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from marketdata.models import CandleSeries


@admin.register(CandleSeries)
class CandleSeriesAdmin(admin.ModelAdmin):
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
    )
    list_filter = ("timeframe",)
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
    )
    # Every field is read-only; readonly_fields wants the names flat, fields groups them in rows.
    readonly_fields = tuple(name for row in fields for name in (row if isinstance(row, tuple) else (row,)))

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

    # Coverage is derived from the candle table by every load: never edited by hand.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
