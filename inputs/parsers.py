"""The API's JSON parser: bounded in size and depth, and only text that can be stored.

Every JSON body of the API comes through here (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES),
so a body is refused with a 400 naming the problem, before any view sees it, when it

- is longer than ``max_bytes()`` (REQUEST_MAX_BYTES; the middleware already refused a
  longer Content-Length, this bounds what is read whatever the headers said);
- is not UTF-8 JSON, or uses NaN / Infinity (not JSON);
- nests deeper than ``MAX_DEPTH`` (the decoder and everything after it recurse);
- holds a string or key with a NUL or a lone surrogate (``"\\u0000"``, ``"\\ud800"``),
  which PostgreSQL and UTF-8 cannot store.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from inputs.text import NestedTooDeeply, data_problems, format_data_path

# Deeper than any document the API takes (a spec is at most 50 levels, specs.parsing).
MAX_DEPTH = 64


def read_bounded(stream, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``stream``: enough to tell that it is too long."""
    return stream.read(limit + 1) if stream is not None else b""


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class SafeJSONParser(BaseParser):
    media_type = "application/json"

    def max_bytes(self) -> int:
        return settings.REQUEST_MAX_BYTES

    def parse(self, stream, media_type=None, parser_context=None):
        limit = self.max_bytes()
        raw = read_bounded(stream, limit)
        if len(raw) > limit:
            raise ParseError(f"the request body is larger than the limit of {limit} bytes")
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except RecursionError:
            raise ParseError(f"JSON parse error: nested more than {MAX_DEPTH} levels deep") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
        try:
            for path, problem in data_problems(data, max_depth=MAX_DEPTH):
                raise ParseError(f"JSON body: the value at {format_data_path(path)} {problem}")
        except NestedTooDeeply as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
        return data
