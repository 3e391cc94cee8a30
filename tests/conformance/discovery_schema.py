"""A small validator of JSON values against a Google discovery document's schemas.

Checks what a client relies on: JSON types (int64 as decimal strings, google-datetime as RFC 3339),
enums, `$ref`s, maps (`additionalProperties`), and that no property outside the schema appears.
A `google.protobuf.Any` value (an object with `@type`) is checked against the schema its type URL
names when the document has it (OperationMetadata, Dataset, ExportDicomDataResponse, ...).
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache

import googleapiclient

_DOCS = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_INT64 = re.compile(r"^-?\d+$")


@lru_cache(maxsize=None)
def document(name: str) -> dict:
    """A discovery document bundled with google-api-python-client, e.g. `healthcare.v1`."""
    with open(os.path.join(_DOCS, f"{name}.json"), encoding="utf-8") as fh:
        return json.load(fh)


def method(doc: dict, method_id: str) -> dict:
    """The method whose `id` is `method_id`, searched through the document's resources."""
    stack = [doc]
    while stack:
        node = stack.pop()
        for m in node.get("methods", {}).values():
            if m.get("id") == method_id:
                return m
        stack.extend(node.get("resources", {}).values())
    raise KeyError(method_id)


def validate_response(doc: dict, method_id: str, value: object) -> list[str]:
    """Problems of `value` as the response of `method_id` (empty when it conforms)."""
    ref = method(doc, method_id).get("response", {}).get("$ref")
    if ref is None:
        return []
    return validate(doc, {"$ref": ref}, value, ref)


def validate(doc: dict, schema: dict, value: object, path: str) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"]
        if name == "HttpBody":
            return []  # raw bodies (DICOMweb) are not JSON messages
        return validate(doc, doc["schemas"][name], value, path)
    typ = schema.get("type")
    problems: list[str] = []
    if typ == "any" or typ is None and not schema.get("properties"):
        if isinstance(value, dict) and "@type" in value:
            return _validate_any(doc, value, path)
        return []
    if typ == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if not props and "@type" in value and (extra or {}).get("type") == "any":
            return _validate_any(doc, value, path)  # a google.protobuf.Any: checked as its @type
        for key, item in value.items():
            if key in props:
                problems += validate(doc, props[key], item, f"{path}.{key}")
            elif extra is not None:
                problems += validate(doc, extra, item, f"{path}[{key!r}]")
            elif key != "@type":
                problems.append(f"{path}: property {key!r} is not in the schema")
        return problems
    if typ == "array":
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__}"]
        for i, item in enumerate(value):
            problems += validate(doc, schema.get("items", {}), item, f"{path}[{i}]")
        return problems
    if typ == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {value!r}"]
        fmt = schema.get("format")
        if fmt in ("int64", "uint64") and not _INT64.match(value):
            problems.append(f"{path}: {fmt} must be a decimal string, got {value!r}")
        if fmt == "google-datetime" and not _RFC3339.match(value):
            problems.append(f"{path}: google-datetime must be RFC 3339, got {value!r}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
        return problems
    if typ == "integer":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected an integer, got {value!r}"]
    if typ == "number":
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{path}: expected a number, got {value!r}"]
    if typ == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {value!r}"]
    return [f"{path}: unknown schema type {typ!r}"]


def _validate_any(doc: dict, value: dict, path: str) -> list[str]:
    type_url = value["@type"]
    name = type_url.rsplit(".", 1)[-1]
    if type_url == "type.googleapis.com/google.protobuf.Empty":
        return [f"{path}: Empty has properties {sorted(set(value) - {'@type'})}"] if set(value) - {"@type"} else []
    if name not in doc["schemas"]:
        return [f"{path}: @type {type_url} names no schema of {doc['id']}"]
    return validate(doc, doc["schemas"][name], value, f"{path}<{name}>")
