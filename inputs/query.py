"""Query parameters validated by a serializer, which is also their OpenAPI description.

A list filter that is declared (``status``, ``ordering``…) is checked like a body
field: an unknown choice, a number out of range, a NUL or a lone surrogate in text is
a 400 naming the parameter, and the schema shows the same enum and bounds, so what the
schema accepts the API accepts. Empty text means "no filter", as in the HTML forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

# What the hostile-input middleware lets through a URL: anything but a NUL. "+" not "*":
# with allow_blank, the schema's oneOf adds the empty string as the other branch.
NO_NUL = RegexValidator(r"^[^\x00]+$", message="contains a NUL character")


def text_filter(help_text: str, *, max_length: int = 64) -> serializers.CharField:
    """Free text compared for equality (a name, a symbol); empty means no filter.
    ``max_length`` is the column's: a longer value cannot match (and keeps URLs short)."""
    return serializers.CharField(
        required=False, allow_blank=True, max_length=max_length, validators=[NO_NUL], help_text=help_text
    )


def choice_filter(
    choices: Sequence[str], help_text: str = "", *, allow_blank: bool = True
) -> serializers.ChoiceField:
    """One of ``choices``; empty means no filter (unless ``allow_blank`` is False)."""
    return serializers.ChoiceField(
        choices=list(choices),
        required=False,
        allow_blank=allow_blank,
        help_text=help_text,
        error_messages={"invalid_choice": f"{{input!r}} is not one of {', '.join(choices)}"},
    )


def ordering_filter(fields: Sequence[str], *, what: str = "") -> serializers.ChoiceField:
    """``field`` or ``-field`` (descending) for each of ``fields``."""
    noun = f"{what} " if what else ""
    return serializers.ChoiceField(
        choices=[*fields, *(f"-{name}" for name in fields)],
        required=False,
        allow_blank=True,
        help_text=f"One of {', '.join(fields)}; '-' in front for descending.",
        error_messages={
            "invalid_choice": f"cannot order {noun}by {{input!r}}; use one of {', '.join(fields)}"
        },
    )


class QueryParamsMixin:
    # No class docstring: drf-spectacular would show it as every view's description.
    query_serializers: dict[str, type[serializers.Serializer]] = {}

    def query(self) -> dict[str, Any]:
        """This action's query parameters, validated by ``query_serializers[action]``
        (a 400 naming each bad parameter); ``{}`` for an action without one."""
        serializer_class = self.query_serializers.get(self.action)  # type: ignore[attr-defined]
        if serializer_class is None:
            return {}
        params = self.request.query_params  # type: ignore[attr-defined]
        data, repeated = {}, {}
        for name in serializer_class().fields:
            values = params.getlist(name)
            if len(values) > 1:
                repeated[name] = [f"given {len(values)} times; give it once"]
            elif values:
                data[name] = values[0]
        if repeated:
            raise ValidationError(repeated)
        # A plain dict, not the QueryDict: DRF reads an empty form value as "absent",
        # and ?points= must be refused like any other value that is not a number.
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
