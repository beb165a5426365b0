"""Page-number pagination that refuses what is not a page number.

DRF's own takes ``?page=`` (empty) as page 1 and ``?page=last`` as the last page, and
answers anything else unreadable with a 404. Here ``page`` is a positive integer or a
400 naming the value; a page past the end stays a 404 (the schema says both).
"""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

_PAGE = re.compile(r"[1-9][0-9]{0,8}")


class PagePagination(PageNumberPagination):
    last_page_strings = ()

    def get_page_number(self, request, paginator):
        values = request.query_params.getlist(self.page_query_param)
        if not values:
            return 1
        if len(values) > 1:
            raise ValidationError({self.page_query_param: [f"given {len(values)} times; give it once"]})
        if not _PAGE.fullmatch(values[0]):
            message = f"{values[0]!r} is not a page number (1, 2, 3, …)"
            raise ValidationError({self.page_query_param: [message]})
        return int(values[0])

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 999_999_999}
        return parameters
