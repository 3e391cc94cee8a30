"""HTTP plumbing shared by every service: requests, responses, routing, and Google's system
parameters (accepted on every method, as the discovery documents declare them)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Callable

from dicomstream.core.naming import healthcare_dataset_name
from dicomstream.sandbox.emulator.errors import invalid

# The discovery documents' top-level `parameters`: every Google API method accepts them.
SYSTEM_PARAMETERS = frozenset({
    "$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token", "prettyPrint",
    "quotaUser", "uploadType", "upload_protocol",
})
_ENUMS = {"alt": ("json", "media", "proto"), "$.xgafv": ("1", "2"), "prettyPrint": ("true", "false")}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=UTF-8"
    headers: dict = field(default_factory=dict)
    data: object = None  # the JSON value before encoding (for `fields` partial responses)
    dropped: bool = False  # a `drop` fault: the connection is closed without an answer


def json_response(data: object, status: int = 200, content_type: str = "application/json; charset=UTF-8", headers: dict | None = None) -> Response:
    return Response(status, json.dumps(data).encode(), content_type, headers or {}, data)


def error_response(exc) -> Response:  # noqa: ANN001 - an ApiError
    return json_response(exc.body(), exc.code)


def unknown_url(path: str) -> Response:
    """What Google's front end answers for a path no API serves: a 404 web page, not the JSON
    `NOT_FOUND` of a missing resource, so that no client reads a mistyped endpoint as "does not
    exist" (a `--healthcare-endpoint` ending in /v1 asks for /v1/v1/projects/...)."""
    shown = html.escape(path[:200])
    page = ("<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n<title>Error 404 (Not Found)!!1</title>\n"
            f"<p><b>404.</b> <ins>That’s an error.</ins>\n<p>The requested URL <code>{shown}</code> was not found "
            "on this server. <ins>That’s all we know.</ins>\n")
    return Response(404, page.encode(), "text/html; charset=UTF-8")


def json_value(body: bytes) -> object:
    """Any JSON value; INVALID_ARGUMENT for malformed or absurdly nested JSON (Google answers 400)."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise invalid(f"Invalid JSON payload received. {exc}") from None
    except RecursionError:
        raise invalid("Invalid JSON payload received. The value is nested too deeply.") from None


def json_body(body: bytes) -> dict:
    if not body.strip():
        return {}
    data = json_value(body)
    if not isinstance(data, dict):
        raise invalid("Invalid JSON payload received: expected a JSON object")
    return data


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]  # without the system parameters
    headers: dict[str, str]
    body: bytes
    groups: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)  # alt, fields, prettyPrint, key, ...

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def dataset_name(self) -> str:
        g = self.groups
        return healthcare_dataset_name(g["project"], g["location"], g["dataset"])

    @property
    def store_name(self) -> str:
        return f"{self.dataset_name}/dicomStores/{self.groups['store']}"

    def json(self) -> dict:
        return json_body(self.body)


def split_system_parameters(query: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(method parameters, system parameters); a system parameter outside its enum is a 400."""
    rest = {k: v for k, v in query.items() if k not in SYSTEM_PARAMETERS}
    system = {k: v[-1] for k, v in query.items() if k in SYSTEM_PARAMETERS}
    for name, allowed in _ENUMS.items():
        if name in system and system[name] not in allowed:
            raise invalid(f"Invalid value at '{name}' ({system[name]!r}): expected one of {', '.join(allowed)}")
    return rest, system


def check_parameters(request: Request, allowed: frozenset[str] | None) -> None:
    """Google's answer to a query parameter the method does not declare."""
    if allowed is None:
        return
    for name in request.query:
        if name not in allowed:
            raise invalid(
                f"Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. "
                f"Field '{name}' could not be found in request message."
            )


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    params: frozenset[str] | None  # declared query parameters; None: any (DICOMweb searches)


class Router:
    """Routes of one service; `find` also tells whether the path exists for another method."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, params: tuple[str, ...] | None = ()) -> None:
        self.routes.append(Route(method, re.compile(pattern + "$"), handler, None if params is None else frozenset(params)))

    def find(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        path_known = False
        for route in self.routes:
            match = route.pattern.match(path)
            if match:
                if route.method == method:
                    return route, match.groupdict(), True
                path_known = True
        return None, {}, path_known


def partial(data: object, selector: str) -> object:
    """A `fields` partial response: `a,b/c,items(name,labels)` keeps only the named fields."""
    return _select(data, _parse_fields(selector))


MAX_FIELDS_DEPTH = 64  # `a(b(c(...)))` deeper than any resource is a 400, not a dead handler


def _parse_fields(text: str) -> dict:
    tree: dict = {}
    pos = 0
    depth = 0

    def parse(level: dict, until: str | None) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_FIELDS_DEPTH:
            raise invalid(f"Invalid field selection: nested deeper than {MAX_FIELDS_DEPTH} levels")
        try:
            group(level, until)
        finally:
            depth -= 1

    def group(level: dict, until: str | None) -> None:
        nonlocal pos
        token = ""
        while pos < len(text):
            ch = text[pos]
            pos += 1
            if ch == "(":
                node = _path(level, token)
                parse(node, ")")
                token = ""
            elif ch == ",":
                if token:
                    _path(level, token)
                token = ""
            elif ch == ")" and until == ")":
                if token:
                    _path(level, token)
                return
            else:
                token += ch.strip()
        if until == ")":
            raise invalid(f"Invalid field selection {text[:80]!r}: unbalanced parentheses")
        if token:
            _path(level, token)

    parse(tree, None)
    return tree


def _path(level: dict, token: str) -> dict:
    node = level
    for part in token.split("/"):
        if not part:
            raise invalid(f"Invalid field selection: empty field name in {token!r}")
        node = node.setdefault(part, {})
    return node


def _select(data: object, tree: dict) -> object:
    if not tree or "*" in tree:
        return data
    if isinstance(data, list):
        return [_select(item, tree) for item in data]
    if not isinstance(data, dict):
        return data
    return {k: _select(data[k], sub) for k, sub in tree.items() if k in data}
