"""``GET /api/v1/``: the API's entry point, linking every collection (browsable with a
session, JSON with a token)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.reverse import reverse

COLLECTIONS = {
    "runs": "api:run-list",
    "specs": "api:spec-list",
    "sweeps": "api:sweep-list",
    "candles": "api:candle-coverage-list",
}


@extend_schema(
    description="Links to every collection of the API, its schema and its documentation.",
    responses={200: {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}},
)
@api_view(["GET"])
def api_root(request, format=None):
    links = {name: reverse(view, request=request, format=format) for name, view in COLLECTIONS.items()}
    links["schemas"] = reverse("api:spec-schema", args=["spec"], request=request)
    links["openapi"] = reverse("schema", request=request)
    links["docs"] = reverse("swagger-ui", request=request)
    return Response(links)
