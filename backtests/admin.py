"""Admin pages for backtest runs: sortable metric columns, filters, actions, read-only detail."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from backtests import services
from backtests.models import BacktestRun
from engine.format import integer, metric_label, metric_value, overrides_text
from jobs.admin_columns import JobAdmin, metric_column

TRADES_PER_PAGE = 50
MAX_COMPARE = 6


def _table(row: str, rows: Iterable[Sequence[object]], *, table: str = "<table>{}</table>") -> str:
    """``rows`` in the HTML ``row`` format (every value escaped), in ``table``."""
    return format_html(table, format_html_join("", row, rows))


# The admin's wide tables need the page's width more than a second navigation column.
admin.site.enable_nav_sidebar = False


@admin.register(BacktestRun)
class BacktestRunAdmin(JobAdmin):
    list_display = (
        "id",
        "spec_version",
        "overrides_col",
        "status",
        "market",
        "period",
        "coverage_col",
        "total_return_col",
        "sharpe_col",
        "max_drawdown_col",
        "win_rate_col",
        "trades_col",
    )
    list_display_links = ("id", "spec_version")
    list_filter = ("status", "strategy", "symbol", "timeframe")
    search_fields = ("spec__name",)
    list_select_related = ("spec",)
    date_hierarchy = "queued_at"
    actions = ("rerun_runs", "cancel_runs", "compare_runs")
    readonly_fields = (
        "spec_version",
        "owner",
        "status",
        "strategy",
        "symbol",
        "timeframe",
        "period_start",
        "period_end",
        "queued_at",
        "started_at",
        "finished_at",
        "worker",
        "error",
        "timings",
        "candles_col",
        "overrides_col",
        "data_start",
        "data_end",
        "expected_bars",
        "coverage_warnings",
        "gaps",
        "statistics_table",
        "parameters",
        "metrics_table",
        "links",
    )
    fieldsets = (
        (None, {"fields": ("spec_version", "owner", "status", "error", "links")}),
        (
            "Market",
            {"fields": ("strategy", "symbol", "timeframe", "period_start", "period_end", "candles_col")},
        ),
        (
            "Data used",
            {"fields": ("data_start", "data_end", "expected_bars", "coverage_warnings", "gaps")},
        ),
        ("Execution", {"fields": ("queued_at", "started_at", "finished_at", "worker", "timings")}),
        ("Parameters", {"fields": ("overrides_col", "parameters")}),
        ("Metrics", {"fields": ("metrics_table", "statistics_table")}),
    )
    change_form_template = "admin/backtests/backtestrun/change_form.html"

    total_return_col = metric_column("total_return", "return")
    sharpe_col = metric_column("sharpe_ratio", "Sharpe")
    max_drawdown_col = metric_column("max_drawdown", "max DD")
    win_rate_col = metric_column("win_rate", "win rate")

    @admin.display(description="spec", ordering="spec__name")
    def spec_version(self, run):
        return format_html('<span style="white-space: nowrap">{} v{}</span>', run.spec.name, run.spec.version)

    @admin.display(description="trades", ordering="total_trades")
    def trades_col(self, run):
        return integer(run.total_trades)

    @admin.display(description="overrides")
    def overrides_col(self, run):
        return overrides_text(run.overrides) or "—"

    @admin.display(description="period (UTC)")
    def period(self, run):
        if not run.period_start:
            return "all data"
        end = run.period_end.date() if run.period_end else "…"
        return format_html('<span style="white-space: nowrap">{} → {}</span>', run.period_start.date(), end)

    @admin.display(description="coverage")
    def coverage_col(self, run):
        if run.warnings:
            return format_html(
                '<span title="{}">⚠ {} warning(s)</span>', "; ".join(run.warnings), len(run.warnings)
            )
        if run.expected_bars:
            return f"{run.candle_count or 0:,} / {run.expected_bars:,} bars"
        return "—"

    @admin.display(description="warnings")
    def coverage_warnings(self, run):
        if not run.warnings:
            return "none"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((w,) for w in run.warnings)))

    @admin.display(description="missing bars")
    def gaps(self, run):
        gaps = (run.coverage or {}).get("gaps") or []
        if not gaps:
            return "none"
        return _table(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((g["where"], g["start"], g["end"], g["missing_bars"]) for g in gaps),
            table="<table><tr><th>where</th><th>from</th><th>to (excluded)</th><th>bars</th></tr>{}</table>",
        )

    @admin.display(description="return statistics")
    def statistics_table(self, run):
        if not run.statistics:
            return "—"
        return _table(
            "<tr><th>{}</th><td>{}</td></tr>",
            ((name, "null" if value is None else f"{value:.6g}") for name, value in run.statistics.items()),
        )

    @admin.display(description="candles", ordering="candle_count")
    def candles_col(self, run):
        return integer(run.candle_count)

    @admin.display(description="timings")
    def timings(self, run):
        parts = [
            f"{label} {value * 1000:,.0f} ms"
            for label, value in (
                ("load", run.load_seconds),
                ("engine", run.engine_seconds),
                ("save", run.save_seconds),
            )
            if value is not None
        ]
        return ", ".join(parts) or "—"

    @admin.display(description="parameters")
    def parameters(self, run):
        return format_html("<pre>{}</pre>", json.dumps(run.config, indent=2, sort_keys=True, default=str))

    @admin.display(description="metrics")
    def metrics_table(self, run):
        if not run.metrics:
            return "—"
        return _table(
            '<tr><th title="{}">{}</th><td style="text-align: right">{}</td></tr>',
            (
                (name, metric_label(name), metric_value(name, value))
                for name, value in run.ordered_metrics.items()
            ),
        )

    @admin.display(description="links")
    def links(self, run):
        return format_html(
            '<a href="{}">API</a> · <a href="{}">report</a> · <a href="{}">PDF</a>',
            reverse("api:run-detail", args=[run.pk]),
            f"/runs/{run.pk}/",
            f"/runs/{run.pk}/pdf/",
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if run is not None:
            paginator = Paginator(run.trades.all(), TRADES_PER_PAGE)
            extra_context["trades_page"] = paginator.get_page(request.GET.get("trades_page"))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Re-run selected runs")
    def rerun_runs(self, request, queryset):
        new = [services.run_rerun(run=run, owner=request.user) for run in queryset.select_related("spec")]
        self.message_user(request, f"queued {len(new)} new run(s): {', '.join(str(r.pk) for r in new)}")

    @admin.action(description="Cancel selected runs")
    def cancel_runs(self, request, queryset):
        cancelled = sum(services.run_cancel(run=run) for run in queryset)
        skipped = queryset.count() - cancelled
        self.message_user(request, f"cancelled {cancelled} run(s); {skipped} had already finished")

    @admin.action(description="Compare selected runs (2–6)")
    def compare_runs(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True))
        if not 2 <= len(ids) <= MAX_COMPARE:
            self.message_user(request, f"select 2 to {MAX_COMPARE} runs to compare", level=messages.WARNING)
            return None
        return HttpResponseRedirect(f"/runs/compare/?ids={','.join(map(str, ids))}")
