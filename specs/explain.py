"""jsonschema's errors as spec errors a user can act on: each at its path, a few with a
better message than jsonschema's own ("unknown key 'x' (allowed: ...)", "expected an
integer, got the string '14'")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from specs.errors import SpecError
from specs.parsing import Document, PathT

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "null": "null",
}


def describe(value: Any) -> str:
    """A short description of a YAML value for messages: "the string 'x'", "a list"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    text = str(value)
    return f"the string {text[:60] + '...' if len(text) > 60 else text!r}"


def explain(error: ValidationError) -> Iterator[tuple[PathT, str, bool]]:
    """(path, message, at the key?) for one jsonschema error; a few get a better message."""
    path: PathT = tuple(error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    if keyword == "required" and isinstance(instance, dict):
        for key in error.validator_value:
            if key not in instance:
                yield (*path, key), f"missing required key '{key}'", False
    elif keyword == "additionalProperties" and isinstance(instance, dict) and schema.get(keyword) is False:
        allowed = list(schema.get("properties", {}))
        for key in instance:
            if key not in allowed:
                yield (*path, key), f"unknown key '{key}' (allowed: {', '.join(allowed)})", True
    elif keyword == "type":
        expected = (
            error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        )
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in expected)
        yield path, f"expected {words}, got {describe(instance)}", False
    elif keyword == "pattern" and "patternErrorMessage" in schema:
        yield path, f"{schema['patternErrorMessage']}; got {describe(instance)}", False
    elif keyword in ("oneOf", "anyOf") and "errorMessage" in schema:
        yield path, schema["errorMessage"], False
    elif keyword == "const":
        yield path, f"expected {error.validator_value!r}, got {describe(instance)}", False
    elif keyword in ("minProperties", "maxProperties") and isinstance(instance, dict):
        bound = "at least" if keyword == "minProperties" else "at most"
        count = error.validator_value
        yield path, f"expected {bound} {count} key{'s' if count != 1 else ''}, got {len(instance)}", False
    else:
        yield path, error.message, False


def schema_errors(
    document: Document, validator: Draft202012Validator, instance: Any, prefix: PathT = ()
) -> list[SpecError]:
    """Every error of ``instance`` against ``validator``, once each, positioned in ``document``
    (under ``prefix``, the path of ``instance`` in it)."""
    errors, seen = [], set()
    for error in validator.iter_errors(instance):
        for path, message, at_key in explain(error):
            full = (*prefix, *path)
            if (full, message) not in seen:
                seen.add((full, message))
                errors.append(document.error(full, message, key=at_key))
    return errors
