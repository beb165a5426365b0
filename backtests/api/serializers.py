"""Serializers of the runs API. Writes go through backtests.services."""

from __future__ import annotations

from rest_framework import serializers

from backtests.models import BacktestRun, Trade
from backtests.services import METRIC_COLUMNS
from engine.runner import TRADE_KEYS


class SpecRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()


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
            "metrics",
            "links",
        ]
        read_only_fields = fields

    def get_links(self, run) -> dict:
        request = self.context.get("request")

        def absolute(path: str) -> str:
            return request.build_absolute_uri(path) if request else path

        base = f"/api/v1/runs/{run.pk}/"
        return {
            "trades": absolute(base + "trades/"),
            "trades_csv": absolute(base + "trades/?format=csv"),
            "analytics": absolute(base + "analytics/"),
            "equity": absolute(base + "equity/"),
            "cancel": absolute(base + "cancel/"),
            "report": absolute(f"/runs/{run.pk}/"),
        }


class RunDetailSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "config"]
        read_only_fields = fields


class RunCreateSerializer(serializers.Serializer):
    spec = serializers.CharField(
        help_text="A Backtest spec's name (latest version) or numeric id (that exact version)."
    )
    version = serializers.IntegerField(required=False, min_value=1, help_text="A version of the named spec.")
    overrides = serializers.DictField(
        required=False,
        default=dict,
        help_text="Changes to params, market (symbol, timeframe, start, end) and execution.",
    )


class TradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        # The contract's trade keys, in its order; `return` is stored as trade_return.
        fields = ["seq", *("trade_return" if key == "return" else key for key in TRADE_KEYS)]

    def to_representation(self, instance):
        # `return` is a Python keyword, so the model field is trade_return; the API
        # uses the contract's name, in the same place.
        data = {
            ("return" if k == "trade_return" else k): v
            for k, v in super().to_representation(instance).items()
        }
        # Times as epoch ms, like the engine's JSON output.
        data["entry_time"] = int(instance.entry_time.timestamp() * 1000)
        data["exit_time"] = int(instance.exit_time.timestamp() * 1000)
        return data


ORDERABLE_FIELDS = ("id", "queued_at", "started_at", "finished_at", "status", *METRIC_COLUMNS)
