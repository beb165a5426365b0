"""JSON errors for the API, whatever raised them.

DRF already answers its own exceptions with JSON; this covers the rest (Django's
404 for an unknown /api/ path, a 500) so API clients never have to parse HTML.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    """DRF's handler, then make sure the body is an object with a `detail` message."""
    response = exception_handler(exc, context)
    if (response is not None and isinstance(response.data, dict) and "detail" not in response.data) or (
        response is not None and isinstance(response.data, list)
    ):
        response.data = {"detail": "invalid input", "errors": response.data}
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "not found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": "internal server error"}, status=500)
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "bad request"}, status=400)
    return defaults.bad_request(request, exception)
