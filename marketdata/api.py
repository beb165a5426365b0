"""Read-only API for candle coverage: ``GET /api/v1/candles/coverage/`` and ``…/{id}/``.

Any authenticated user. The list leaves the gap list out (a series can have up to a
thousand gaps); the detail includes it. Filter the list with ``?symbol=``/``?timeframe=``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import SimpleRouter

from inputs.query import QueryParamsMixin, text_filter
from marketdata.models import CandleSeries

_FIELDS = [
    "id",
    "symbol",
    "timeframe",
    "first_ts",
    "last_ts",
    "row_count",
    "gap_count",
    "missing_bars",
    "zero_volume_count",
    "loaded_at",
    "source",
    "load_version",
    "last_inserted",
    "last_updated",
    "last_rejected",
    "live_key",
    "live_synced_at",
    "live_error",
    "lag_seconds",
]


class CandleSeriesSerializer(serializers.ModelSerializer):
    lag_seconds = serializers.SerializerMethodField(
        help_text="seconds from the last stored bar's close to now (null when empty)"
    )

    class Meta:
        model = CandleSeries
        fields = _FIELDS
        read_only_fields = _FIELDS

    def get_lag_seconds(self, obj: CandleSeries) -> float | None:
        return obj.lag_seconds()


class GapSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="first missing bar's open time, ISO 8601 UTC")
    end = serializers.CharField(help_text="next stored bar's open time, ISO 8601 UTC")
    missing_bars = serializers.IntegerField()
    seconds = serializers.IntegerField()


class CandleSeriesDetailSerializer(CandleSeriesSerializer):
    gaps = GapSerializer(many=True, read_only=True)

    class Meta(CandleSeriesSerializer.Meta):
        fields = [*_FIELDS, "gaps"]
        read_only_fields = fields


class CoverageQuery(serializers.Serializer):
    symbol = text_filter("A market symbol, e.g. BTC-USD.")
    timeframe = text_filter("A timeframe, e.g. 15m.", max_length=8)


class CandleCoverageViewSet(QueryParamsMixin, viewsets.ReadOnlyModelViewSet):
    """Stored candle series and their coverage (any authenticated user)."""

    permission_classes = [IsAuthenticated]
    queryset = CandleSeries.objects.order_by("symbol", "timeframe")
    query_serializers = {"list": CoverageQuery}

    def get_serializer_class(self):
        return CandleSeriesDetailSerializer if self.action == "retrieve" else CandleSeriesSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "list":
            qs = qs.defer("gaps")
            for name, value in self.query().items():
                if value:
                    qs = qs.filter(**{name: value})
        return qs

    @extend_schema(parameters=[CoverageQuery])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


router = SimpleRouter()
router.register("coverage", CandleCoverageViewSet, basename="candle-coverage")
urlpatterns = router.urls
