"""The API's own OpenAPI schema, for tests that hold a response to it.

``assert_conforms(response, path, method)`` finds the operation of ``path`` (the
schema's template, e.g. ``/api/v1/runs/{id}/trades/``) and checks that the status is
documented and the JSON body matches the documented schema, the way schemathesis
does in ``make fuzz``. OpenAPI 3.0's ``nullable`` becomes JSON Schema's null type.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
from drf_spectacular.generators import SchemaGenerator


@functools.cache
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects → JSON Schema (``nullable`` → a null alternative)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def response_schema(path: str, method: str, status: int) -> dict[str, Any] | None:
    """The JSON Schema of the documented response (``None``: documented without a body);
    ``AssertionError`` when the status is not documented."""
    schema = openapi()
    responses = schema["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path}: {status} is not documented ({sorted(responses)})"
    content = responses[str(status)].get("content", {})
    if "application/json" not in content:
        return None
    return {
        **_json_schema(content["application/json"]["schema"]),
        "$defs": _json_schema(schema["components"]["schemas"]),
    }


def assert_conforms(response, path: str, method: str = "GET") -> None:
    body_schema = response_schema(path, method, response.status_code)
    if body_schema is not None:
        jsonschema.validate(response.json(), body_schema)
