"""Admin pages for sweeps: progress, best and top-N, trials sortable by metric, chunks.

Rows are written by the services only: nothing here can be added or edited by hand;
actions (cancel, resume, promote the best) go through ``optimizers.services``.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from engine.format import duration_seconds, metric_label, metric_value, timestamp
from jobs.admin_columns import JobAdmin, ReadOnlyAdmin, metric_column
from optimizers import services
from optimizers.models import OptimizationRun, SweepChunk, Trial
from optimizers.selectors import top_trials, trial_numbers


def _params(params) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items()) or "—"


@admin.register(OptimizationRun)
class OptimizationRunAdmin(JobAdmin):
    list_display = (
        "id",
        "spec_version",
        "method",
        "status",
        "progress_col",
        "objective_col",
        "best_col",
        "market",
        "owner",
        "queued_col",
    )
    list_display_links = ("id", "spec_version")
    list_filter = ("status", "method", "strategy", "symbol")
    search_fields = ("spec__name",)
    list_select_related = ("spec", "owner")
    date_hierarchy = "queued_at"
    actions = ("cancel_sweeps", "resume_sweeps", "promote_best")
    readonly_fields = (
        "spec_version",
        "backtest_version",
        "owner",
        "method",
        "status",
        "error",
        "links",
        "progress_col",
        "generation_col",
        "queued_at",
        "started_at",
        "finished_at",
        "eval_col",
        "candle_count",
        "objective_col",
        "best_col",
        "best_params_text",
        "top_table",
        "generation_stats_text",
        "validation_text",
        "overfitting_text",
        "warnings",
    )
    fieldsets = (
        (
            None,
            {"fields": ("spec_version", "backtest_version", "owner", "method", "status", "error", "links")},
        ),
        (
            "Progress",
            {
                "fields": (
                    "progress_col",
                    "generation_col",
                    "queued_at",
                    "started_at",
                    "finished_at",
                    "eval_col",
                    "candle_count",
                )
            },
        ),
        ("Best", {"fields": ("objective_col", "best_col", "best_params_text", "top_table")}),
        ("Genetic", {"fields": ("generation_stats_text",), "classes": ("collapse",)}),
        ("Overfitting", {"fields": ("overfitting_text", "warnings")}),
        ("Validation", {"fields": ("validation_text",), "classes": ("collapse",)}),
    )

    @admin.display(description="spec", ordering="spec__name")
    def spec_version(self, run):
        return f"{run.spec.name} v{run.spec.version}"

    @admin.display(description="queued (UTC)", ordering="queued_at")
    def queued_col(self, run):
        return format_html('<span style="white-space: nowrap">{}</span>', timestamp(run.queued_at))

    @admin.display(description="base backtest")
    def backtest_version(self, run):
        return f"{run.backtest_spec.name} v{run.backtest_spec.version}"

    @admin.display(description="progress", ordering="evaluated")
    def progress_col(self, run):
        done = f"{run.evaluated:,} / {run.total_combinations:,} ({run.progress * 100:.0f}%)"
        return f"{done}, chunks {run.chunks_done}/{run.chunks_total}"

    @admin.display(description="generation")
    def generation_col(self, run):
        # only a genetic search has generations (-1 before the first one starts)
        if run.method != "genetic" or run.generation < 0:
            return "—"
        return f"{run.generation + 1:,}"

    @admin.display(description="evaluation time", ordering="eval_seconds")
    def eval_col(self, run):
        return duration_seconds(run.eval_seconds)

    @admin.display(description="objective")
    def objective_col(self, run):
        suffix = f", at least {run.min_trades} trades" if run.min_trades else ""
        return f"{run.objective_direction} {metric_label(run.objective_metric)}{suffix}"

    @admin.display(description="best", ordering="best_objective")
    def best_col(self, run):
        return metric_value(run.objective_metric, run.best_objective)

    @admin.display(description="best params")
    def best_params_text(self, run):
        return _params(run.best_params)

    @admin.display(description="links")
    def links(self, run):
        return format_html(
            '<a href="{}">sweep page</a> · <a href="{}">API</a> · '
            '<a href="{}?run__exact={}">all trials</a> · <a href="{}?run__exact={}">chunks</a>',
            reverse("sweeps:sweep-report", args=[run.pk]),
            reverse("api:sweep-detail", args=[run.pk]),
            reverse("admin:optimizers_trial_changelist"),
            run.pk,
            reverse("admin:optimizers_sweepchunk_changelist"),
            run.pk,
        )

    @admin.display(description="top trials")
    def top_table(self, run):
        top_n = int(run.config.get("sweep", {}).get("top_n") or 10)
        rows = top_trials(run, top_n)
        if not rows:
            return "—"
        numbers = trial_numbers(run, [t.pk for t in rows])
        metric = run.objective_metric
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    i + 1,
                    numbers.get(t.pk),
                    _params(t.params),
                    metric_value(metric, t.objective),
                    metric_value("total_return", t.total_return),
                    metric_value("sharpe_ratio", t.sharpe_ratio),
                    metric_value("max_drawdown", t.max_drawdown),
                    metric_value("total_trades", t.total_trades),
                    metric_value(metric, (t.oos_metrics or {}).get(metric)),
                )
                for i, t in enumerate(rows)
            ),
        )
        return format_html(
            "<table><thead><tr><th>rank</th><th>trial</th><th>params</th><th>{}</th><th>return</th>"
            "<th>Sharpe</th><th>max DD</th><th>trades</th><th>out of sample</th></tr></thead>"
            "<tbody>{}</tbody></table><p>Trial numbers count this sweep's trials in evaluation order.</p>",
            metric_label(metric),
            body,
        )

    @admin.display(description="generations (best, mean)")
    def generation_stats_text(self, run):
        return (
            format_html("<pre>{}</pre>", json.dumps(run.generation_stats, indent=1))
            if run.generation_stats
            else "—"
        )

    @admin.display(description="validation report")
    def validation_text(self, run):
        return format_html("<pre>{}</pre>", json.dumps(run.validation, indent=1)) if run.validation else "—"

    @admin.display(description="overfitting")
    def overfitting_text(self, run):
        report = run.overfitting
        if not report:
            return "—"
        pbo = (report.get("pbo") or {}).get("pbo")
        dsr = (report.get("deflated_sharpe") or {}).get("dsr")
        summary = format_html(
            "<p><strong>{}</strong> PBO {} · DSR {}</p>",
            report.get("verdict_text", ""),
            "—" if pbo is None else f"{pbo:.2f}",
            "—" if dsr is None else f"{dsr:.3f}",
        )
        return format_html("{}<pre>{}</pre>", summary, json.dumps(report, indent=1))

    @admin.action(description="Cancel the selected sweeps")
    def cancel_sweeps(self, request, queryset):
        done = sum(services.sweep_cancel(run=run) for run in queryset)
        self.message_user(request, f"cancelled {done} sweep(s)", messages.SUCCESS)

    @admin.action(description="Resume the selected sweeps (re-queue chunks not done)")
    def resume_sweeps(self, request, queryset):
        resumed = 0
        for run in queryset:
            try:
                with transaction.atomic():
                    services.sweep_resume(run=run)
                resumed += 1
            except services.SweepError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"resumed {resumed} sweep(s)", messages.SUCCESS)

    @admin.action(description="Promote the best trial to a new Backtest version and run it")
    def promote_best(self, request, queryset):
        for run in queryset:
            try:
                promotion = services.sweep_promote(run=run)
            except services.SweepError as exc:
                self.message_user(request, f"sweep {run.pk}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"sweep {run.pk}: trial {promotion.trial.pk} is "
                f"{promotion.spec.name} v{promotion.spec.version} "
                f"({promotion.action}); queued run {promotion.run.pk}",
                messages.SUCCESS,
            )
            for warning in promotion.warnings:
                self.message_user(request, f"sweep {run.pk}, warning: {warning}", messages.WARNING)


@admin.register(Trial)
class TrialAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "run",
        "generation",
        "params_text",
        "objective_col",
        "qualified",
        "return_col",
        "sharpe_col",
        "max_drawdown_col",
        "win_rate_col",
        "total_trades",
        "profit_factor_col",
    )
    list_filter = ("qualified", "generation")
    list_select_related = ("run",)
    search_fields = ("=run__id", "params_hash")
    ordering = ("-score",)
    readonly_fields = (
        "run",
        "chunk",
        "generation",
        "params_text",
        "params_hash",
        "objective_col",
        "score",
        "metrics_text",
    )
    exclude = ("params", "metrics", "oos_metrics")

    return_col = metric_column("total_return", "return")
    sharpe_col = metric_column("sharpe_ratio", "Sharpe")
    max_drawdown_col = metric_column("max_drawdown", "max DD")
    win_rate_col = metric_column("win_rate", "win rate")
    profit_factor_col = metric_column("profit_factor", "PF")

    @admin.display(description="params")
    def params_text(self, trial):
        return _params(trial.params)

    @admin.display(description="objective", ordering="score")
    def objective_col(self, trial):
        return metric_value(trial.run.objective_metric, trial.objective)

    @admin.display(description="metrics")
    def metrics_text(self, trial):
        data = {"in_sample": trial.metrics, "out_of_sample": trial.oos_metrics}
        return format_html("<pre>{}</pre>", json.dumps(data, indent=1))


@admin.register(SweepChunk)
class SweepChunkAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "run",
        "seq",
        "generation",
        "size",
        "status",
        "attempts",
        "worker",
        "started_at",
        "finished_at",
    )
    list_filter = ("status",)
    list_select_related = ("run",)
    search_fields = ("=run__id",)
    exclude = ("params",)
