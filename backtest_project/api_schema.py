"""The OpenAPI schema's AutoSchema: every error status the API can answer, documented.

drf-spectacular documents the success responses a view declares. The API also
answers, from code shared by every view: 400 (bad parameters or body, including the
hostile-input middleware's refusals), 401/403 (authentication), 404 (an object that
is not there or not yours; a page past the end), 413 (a body over REQUEST_MAX_BYTES),
415 (a body of another media type), 429 (throttling) and 503 (the database is
down); and before the site, the front server (gunicorn) answers a URL longer than its
request-line limit with an HTML 414. ``ApiSchema`` adds each of those an operation can
meet, with the common error body, so that the schema tells the truth and schemathesis
(``make fuzz``) can hold the API to it.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every error answer: ``detail`` says what is wrong; ``errors`` names the fields."""

    detail = serializers.CharField()
    errors = serializers.JSONField(
        required=False, help_text="Per field (an object of lists of messages) or per item (a list)."
    )


ERROR_DESCRIPTIONS = {
    "400": "The request is invalid: `detail` says why; `errors`, when present, names each field.",
    "401": "No credentials, or credentials that are not valid.",
    "403": "Not allowed (for example a session request without its CSRF token).",
    "404": "No such object among yours, or a page past the end of the list.",
    "409": "The object's state does not allow this.",
    "413": "The request body is larger than the limit (REQUEST_MAX_BYTES).",
    "414": "The URL is longer than the front server accepts (gunicorn: 4094 bytes); an HTML page.",
    "415": "The request body's Content-Type is not one this operation takes.",
    "429": "Too many requests, or too many failed authentications; see Retry-After.",
    "503": "The database is unavailable for the moment; see Retry-After.",
}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class ApiSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            declared = responses.get(code)
            if declared is None or "content" not in declared:
                error = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        if direction == "response":
            uri_too_long = OpenApiResponse(OpenApiTypes.STR, description=ERROR_DESCRIPTIONS["414"])
            responses["414"] = self._get_response_for_code(uri_too_long, "414", media_types=["text/html"])
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        codes = ["400"]
        if self.get_auth():
            codes += ["401", "403"]
        if "{" in self.path or (self._is_list_view() and self._get_paginator() is not None):
            codes.append("404")
        if self.method in _BODY_METHODS:
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        if self.get_auth():  # authentication reads the database (backtest_project.errors)
            codes.append("503")
        # statuses a view declared without a body (e.g. ``409: None``) get the error body
        declared = [c for c in ERROR_DESCRIPTIONS if c not in codes and c != "414" and self._declares(c)]
        return codes + declared

    def _declares(self, code: str) -> bool:
        declared = self.get_response_serializers()
        return isinstance(declared, dict) and any(str(key) == code for key in declared)
