"""``GET /api/v1/runs/<id>/analytics/``: a succeeded run's report analytics as JSON.

The runs API lives in ``backtests``, below the reports; this view sits with the
analytics it serves and is mounted beside the runs' routes by the project's URLs.
Visibility is the runs API's: a user's own runs, staff all, anything else a 404.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from backtests.selectors import runs_visible_to
from reports.run_data import run_analytics


class RunAnalyticsView(APIView):
    @extend_schema(
        operation_id="runs_analytics_retrieve",
        description=(
            "Report analytics of a succeeded run (docs/reports.md, Analytics): `metrics` (benchmark, "
            "drawdown, distribution, calendar and trade figures; null where undefined), `drawdowns` "
            "(the 10 deepest periods, times in epoch ms), `years`, `breakdowns` (by side and exit "
            "reason) and `benchmark` (false when the run's candles are gone). 409 for a run that has "
            "not succeeded."
        ),
        responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        run = get_object_or_404(runs_visible_to(request.user), pk=pk)
        found = run_analytics(run)
        if found is None:
            return Response(
                {"detail": f"run {run.pk} is {run.status}: it has no results to analyse"},
                status=status.HTTP_409_CONFLICT,
            )
        return Response({"run": run.pk, **found})
