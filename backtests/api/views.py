"""The runs API: create (202), list, detail, cancel, re-run, trades, equity."""

from __future__ import annotations

from django.db.models import F
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from backtests import exports, services
from backtests.api.renderers import TradesCSVRenderer, TradesParquetRenderer
from backtests.api.serializers import (
    ORDERABLE_FIELDS,
    EquitySerializer,
    RunCreateSerializer,
    RunDetailSerializer,
    RunSerializer,
    TradeSerializer,
)
from backtests.models import BacktestRun, RunEquity
from backtests.run_config import RunConfigError, backtest_spec_for
from backtests.selectors import runs_visible_to
from backtests.series import preview_points
from inputs.query import choice_filter, ordering_filter, text_filter
from jobs.api import JobViewSet
from jobs.models import JobStatus

FILTERS = ("status", "strategy", "symbol", "timeframe")
MAX_EQUITY_POINTS = 10_000


class RunListQuery(serializers.Serializer):
    status = choice_filter(JobStatus.values)
    strategy = text_filter("A strategy name, e.g. hyperrsi.")
    symbol = text_filter("A market symbol, e.g. BTC-USDT-SWAP.")
    timeframe = text_filter("A timeframe, e.g. 15m.", max_length=8)
    spec = text_filter("A Backtest spec's name.", max_length=100)
    ordering = ordering_filter(ORDERABLE_FIELDS)


class EquityQuery(serializers.Serializer):
    points = serializers.IntegerField(
        required=False,
        default=800,
        min_value=4,
        max_value=MAX_EQUITY_POINTS,
        help_text="At most this many points (each bucket's min and max are kept).",
    )


class TradesQuery(serializers.Serializer):
    # DRF's own ?format= takes an empty value as "none"; here it is refused like any other.
    format = choice_filter(["json", "csv", "parquet"], "The same as the Accept header.", allow_blank=False)


@extend_schema_view(
    list=extend_schema(parameters=[RunListQuery]),
    create=extend_schema(request=RunCreateSerializer, responses={202: RunDetailSerializer}),
)
class RunViewSet(JobViewSet):
    """Backtest runs of the requesting user (staff: everyone's); another user's is a 404."""

    model = BacktestRun
    serializer_class = RunSerializer
    detail_serializer_class = RunDetailSerializer
    create_serializer_class = RunCreateSerializer
    list_filters = FILTERS
    enqueue_errors = RunConfigError
    query_serializers = {"list": RunListQuery, "equity": EquityQuery, "trades": TradesQuery}

    def visible(self, user):
        return runs_visible_to(user)

    def ordered(self, jobs, ordering: str):
        # Undefined metrics (null) sort last whichever the direction.
        f = F(ordering.removeprefix("-"))
        return jobs.order_by(
            f.desc(nulls_last=True) if ordering.startswith("-") else f.asc(nulls_last=True), "-id"
        )

    def enqueue(self, user, body):
        spec = backtest_spec_for(user, body["spec"], body.get("version"))
        return services.run_enqueue(spec=spec, owner=user, overrides=body["overrides"])

    @extend_schema(request=None, responses={200: RunSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self.cancel_job(request, services.run_cancel)

    @extend_schema(request=None, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        return self.accepted(request, services.run_rerun(run=self.get_object(), owner=request.user))

    @extend_schema(
        description=(
            "The run's trades, 50 a page as JSON. With `Accept: text/csv` (or `?format=csv`) every "
            "trade as CSV, with `Accept: application/vnd.apache.parquet` (or `?format=parquet`) as "
            "Parquet: columns seq (1-based), the contract's trade keys (times in epoch ms) and "
            "entry_time_utc / exit_time_utc (ISO 8601)."
        ),
        parameters=[TradesQuery],
        responses={
            (200, "application/json"): TradeSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[*api_settings.DEFAULT_RENDERER_CLASSES, TradesCSVRenderer, TradesParquetRenderer],
    )
    def trades(self, request, pk=None):
        self.query()
        # an export is every trade, but a bad ?page= is refused all the same
        self.paginator.get_page_number(request, None)
        run = self.get_object()
        if request.accepted_renderer.format in ("csv", "parquet"):
            fmt = request.accepted_renderer.format
            filename = f"run-{run.pk}-trades.{fmt}"
            return Response(
                exports.trade_table(run.trades.all()),
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        page = self.paginate_queryset(run.trades.all())
        return self.get_paginated_response(TradeSerializer(page, many=True).data)

    @extend_schema(parameters=[EquityQuery], responses={200: EquitySerializer})
    @action(detail=True, methods=["get"])
    def equity(self, request, pk=None):
        points = self.query()["points"]
        run = self.get_object()
        equity = get_object_or_404(RunEquity, run=run)
        series = preview_points(equity.ts(), equity.values(), points)
        return Response(
            {"run": run.pk, "points": len(series), "total_points": equity.points, "series": series}
        )
