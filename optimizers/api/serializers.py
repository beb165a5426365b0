"""Serializers of the sweeps API. Writes go through optimizers.services."""

from __future__ import annotations

from rest_framework import serializers

from jobs.api import SpecRefSerializer, absolute_links, absolute_url
from optimizers.models import TRIAL_METRIC_COLUMNS, OptimizationRun, Trial
from specs.api.serializers import SpecRefField


class SweepSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:sweep-detail")
    spec = SpecRefSerializer(read_only=True)
    backtest = SpecRefSerializer(source="backtest_spec", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    objective = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    best = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = OptimizationRun
        fields = [
            "id",
            "url",
            "spec",
            "backtest",
            "owner",
            "method",
            "status",
            "strategy",
            "symbol",
            "timeframe",
            "objective",
            "progress",
            "best",
            "queued_at",
            "started_at",
            "finished_at",
            "error",
            "links",
        ]
        read_only_fields = fields

    def get_objective(self, run) -> dict:
        return {
            "metric": run.objective_metric,
            "direction": run.objective_direction,
            "min_trades": run.min_trades,
        }

    def get_progress(self, run) -> dict:
        return {
            "evaluated": run.evaluated,
            "total": run.total_combinations,
            "fraction": round(run.progress, 6),
            "chunks_done": run.chunks_done,
            "chunks_total": run.chunks_total,
            "generation": run.generation if run.method == "genetic" else None,
            "eval_seconds": run.eval_seconds,
        }

    def get_best(self, run) -> dict | None:
        if run.best_trial_id is None:
            return None
        return {
            "trial": run.best_trial_id,
            "params": run.best_params,
            "objective": run.best_objective,
            "metrics": run.best_metrics,
        }

    def get_links(self, run) -> dict:
        base = f"/api/v1/sweeps/{run.pk}/"
        return absolute_links(
            self.context.get("request"),
            {
                "trials": base + "trials/",
                "cancel": base + "cancel/",
                "promote": base + "promote/",
                "resume": base + "resume/",
                "report": f"/sweeps/{run.pk}/",
            },
        )


class SweepDetailSerializer(SweepSerializer):
    class Meta(SweepSerializer.Meta):
        fields = [
            *SweepSerializer.Meta.fields,
            "candle_count",
            "generation_stats",
            "validation",
            "overfitting",
            "coverage",
            "warnings",
            "config",
        ]
        read_only_fields = fields


class SweepCreateSerializer(serializers.Serializer):
    spec = SpecRefField(
        help_text="A Sweep spec's name (its latest version) or numeric id (that exact version)."
    )


class PromoteSerializer(serializers.Serializer):
    trial = serializers.IntegerField(
        required=False, min_value=1, help_text="A trial of this sweep (default: the best)."
    )


class TrialSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trial
        fields = [
            "id",
            "generation",
            "params",
            "objective",
            "score",
            "qualified",
            *TRIAL_METRIC_COLUMNS,
            "metrics",
            "oos_metrics",
        ]
        read_only_fields = fields


class PromotionSerializer(serializers.Serializer):
    trial = serializers.IntegerField(source="trial.pk")
    params = serializers.JSONField(source="trial.params")
    spec = SpecRefSerializer()
    action = serializers.CharField()
    run = serializers.SerializerMethodField()
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why the promoted trial may disappoint: out of sample worse than the threshold, no "
        "hold-out, a likely-overfit verdict, a parameter on the edge of the space. Empty when none.",
    )

    def get_run(self, promotion) -> dict:
        return {
            "id": promotion.run.pk,
            "status": promotion.run.status,
            "url": absolute_url(self.context.get("request"), f"/api/v1/runs/{promotion.run.pk}/"),
        }
