"""Request body parsers for spec files: YAML through the spec parser, bounded JSON."""

from __future__ import annotations

import re

from django.conf import settings
from rest_framework.parsers import BaseParser

from inputs.parsers import SafeJSONParser, read_bounded
from specs.parsing import ParsedFile, parse_bytes

DEFAULT_SOURCE = "<request>"
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.IGNORECASE)


def request_filename(request) -> str:
    """The file name from ``Content-Disposition: attachment; filename="x.yaml"``, if any."""
    header = request.META.get("HTTP_CONTENT_DISPOSITION", "")
    match = _FILENAME.search(header)
    return match.group(1).strip().rsplit("/", 1)[-1] if match else DEFAULT_SOURCE


class YAMLSpecParser(BaseParser):
    """``application/yaml`` bodies: read at most SPEC_MAX_BYTES and parse with specs.parsing.

    Returns a ``ParsedFile`` (documents with positions, or the errors); the view hands it
    to the service, which reports any errors in the common format.
    """

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None) -> ParsedFile:
        request = (parser_context or {}).get("request")
        source = request_filename(request) if request is not None else DEFAULT_SOURCE
        raw = read_bounded(stream, settings.SPEC_MAX_BYTES)
        return parse_bytes(raw, source=source, max_bytes=settings.SPEC_MAX_BYTES)


class YAMLAliasParser(YAMLSpecParser):
    """The other names YAML goes by (DRF matches one media type per parser class)."""

    media_type = "application/x-yaml"


class TextYAMLParser(YAMLSpecParser):
    media_type = "text/yaml"


class BoundedJSONParser(SafeJSONParser):
    """JSON bodies of at most twice SPEC_MAX_BYTES (a YAML text inside JSON grows)."""

    def max_bytes(self) -> int:
        return 2 * settings.SPEC_MAX_BYTES
