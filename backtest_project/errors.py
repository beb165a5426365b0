"""JSON errors for the API, whatever raised them, and 503 while the database is down.

DRF already answers its own exceptions with JSON; this covers the rest (Django's
404 for an unknown /api/ path, a 500) so API clients never have to parse HTML. An
unhandled error that is the database being unreachable (restarting, network) is not a
bug of ours: it answers 503 with Retry-After, in JSON on the API and HTML elsewhere.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    """DRF's handler, then make sure the body is an object with a `detail` message
    (the first problem, e.g. ``"status: 'x' is not one of queued, …"``) and, for
    field errors, the full list in `errors`."""
    response = exception_handler(exc, context)
    if (response is not None and isinstance(response.data, dict) and "detail" not in response.data) or (
        response is not None and isinstance(response.data, list)
    ):
        response.data = {"detail": _first_problem(response.data), "errors": response.data}
    return response


def _first_problem(errors) -> str:
    if isinstance(errors, dict) and len(errors) == 1:
        name, messages = next(iter(errors.items()))
        if isinstance(messages, list) and len(messages) == 1 and isinstance(messages[0], str):
            return f"{name}: {messages[0]}"
    if isinstance(errors, list) and len(errors) == 1 and isinstance(errors[0], str):
        return str(errors[0])
    return "invalid input"


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": "not found"}, status=404)
    return defaults.page_not_found(request, exception)


RETRY_AFTER_SECONDS = 10
DATABASE_DOWN = "the database is unavailable; try again in a few seconds"


def server_error(request):
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return _database_down(request)
    if is_api(request):
        return JsonResponse({"detail": "internal server error"}, status=500)
    return defaults.server_error(request)


def _database_down(request):
    if is_api(request):
        response = JsonResponse({"detail": DATABASE_DOWN}, status=503)
    else:
        body = loader.render_to_string("503.html", {"message": DATABASE_DOWN})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": "bad request"}, status=400)
    return defaults.bad_request(request, exception)
