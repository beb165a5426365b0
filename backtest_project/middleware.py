"""Refuse hostile requests before any view runs: oversized bodies and NUL characters.

One place for every route (API, report pages, admin), so no view has to remember:

- a ``Content-Length`` above ``REQUEST_MAX_BYTES`` is answered 413 without reading the
  body (Django reads no more than Content-Length, and a body without one as empty);
- a NUL character in the path or in any query parameter (name or value) is answered
  400: PostgreSQL cannot compare text with a NUL, so it would otherwise reach the
  database as an error.

API paths get the API's JSON error shape, pages a short plain-text message.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from backtest_project.errors import is_api
from inputs.text import printable, text_problem


def refuse(request, status: int, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(f"{message}\n", status=status, content_type="text/plain; charset=utf-8")


class HostileInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self.problem(request)
        if problem is not None:
            return refuse(request, *problem)
        return self.get_response(request)

    @staticmethod
    def problem(request) -> tuple[int, str] | None:
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return 400, f"Content-Length {printable(raw_length)!r} is not a number"
        if length > settings.REQUEST_MAX_BYTES:
            return 413, (
                f"the request body ({length} bytes) is larger than the limit of "
                f"{settings.REQUEST_MAX_BYTES} bytes (REQUEST_MAX_BYTES)"
            )
        if "\x00" in request.path:
            return 400, "the URL path contains a NUL character"
        for name, values in request.GET.lists():
            for text in (name, *values):
                problem = text_problem(text)
                if problem:
                    return 400, f"the query parameter {printable(name)!r} {problem}"
        return None
