"""Serializers of the runs API. Writes go through backtests.services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backtests.models import BacktestRun, Trade
from backtests.services import METRIC_COLUMNS
from engine.runner import TRADE_KEYS
from engine.timestamps import datetime_to_ms
from jobs.api import SpecRefSerializer, absolute_links
from specs.api.serializers import SpecRefField


class RunSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:run-detail")
    spec = SpecRefSerializer(read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    links = serializers.SerializerMethodField()
    metrics = serializers.JSONField(source="ordered_metrics", read_only=True)

    class Meta:
        model = BacktestRun
        fields = [
            "id",
            "url",
            "spec",
            "owner",
            "status",
            "strategy",
            "symbol",
            "timeframe",
            "period_start",
            "period_end",
            "overrides",
            "queued_at",
            "started_at",
            "finished_at",
            "worker",
            "error",
            "load_seconds",
            "engine_seconds",
            "save_seconds",
            "candle_count",
            "data_start",
            "data_end",
            "expected_bars",
            "warnings",
            "metrics",
            "statistics",
            "links",
        ]
        read_only_fields = fields

    def get_links(self, run) -> dict:
        base = f"/api/v1/runs/{run.pk}/"
        return absolute_links(
            self.context.get("request"),
            {
                "trades": base + "trades/",
                "trades_csv": base + "trades/?format=csv",
                "analytics": base + "analytics/",
                "equity": base + "equity/",
                "cancel": base + "cancel/",
                "report": f"/runs/{run.pk}/",
            },
        )


class RunDetailSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "coverage", "config"]
        read_only_fields = fields


class RunCreateSerializer(serializers.Serializer):
    spec = SpecRefField(
        help_text="A Backtest spec's name (latest version) or numeric id (that exact version)."
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text="A version of the named spec.")
    overrides = serializers.DictField(
        required=False,
        default=dict,
        help_text="Changes to params, market (symbol, timeframe, start, end) and execution.",
    )


@extend_schema_field(OpenApiTypes.INT64)
class EpochMsField(serializers.ReadOnlyField):
    """A datetime as epoch milliseconds, like the engine's JSON output."""

    def to_representation(self, value):
        return datetime_to_ms(value)


class TradeSerializer(serializers.ModelSerializer):
    entry_time = EpochMsField()
    exit_time = EpochMsField()

    class Meta:
        model = Trade
        # The contract's trade keys, in its order; `return` is stored as trade_return.
        fields = ["seq", *("trade_return" if key == "return" else key for key in TRADE_KEYS)]

    def get_fields(self):
        # `return` is a Python keyword, so the model field is trade_return; the API
        # (and its schema) use the contract's name, in the same place.
        fields = super().get_fields()
        fields["trade_return"].source = "trade_return"
        return {("return" if name == "trade_return" else name): field for name, field in fields.items()}


class EquitySerializer(serializers.Serializer):
    run = serializers.IntegerField()
    points = serializers.IntegerField(help_text="Points in `series`.")
    total_points = serializers.IntegerField(help_text="Points stored (one per bar).")
    series = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="[epoch ms, equity] pairs, oldest first.",
    )


ORDERABLE_FIELDS = ("id", "queued_at", "started_at", "finished_at", "status", *METRIC_COLUMNS)
