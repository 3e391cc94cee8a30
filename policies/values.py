"""Reading resource properties without tripping over unknown (computed) values.

During `pulumi preview`, a property computed from another resource's output is an *unknown*:
the engine sends a sentinel string, and pulumi-policy wraps the properties in a proxy that raises
`UnknownValueError` on access (which the SDK turns into an advisory "can't run policy" note and
abandons the whole rule for that resource). The rules here instead unwrap the proxy into plain
dicts and lists that keep the sentinels, and treat an unknown as "cannot be wrong": each unknown
value is skipped, while everything known on the same resource is still checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    _DictProxy,
    _ListProxy,
)
from pulumi_policy.secret import Secret, _DictSecretsProxy, _ListSecretsProxy

UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


def is_unknown(value: object) -> bool:
    """Whether `value` is a preview-time unknown (a computed value not yet known)."""
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


_PROXIES = (_DictProxy, _ListProxy, _DictSecretsProxy, _ListSecretsProxy)


def plain(props: Any) -> Any:
    """The properties as plain dicts/lists, unknowns kept as their sentinel strings.

    Unwraps pulumi-policy's proxies directly (the SDK's own serializer is several times slower,
    and the analyzer calls every rule with freshly wrapped properties).
    """
    return {} if props is None else _plain(props)


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _PROXIES:
        return _plain(value["__target"])
    if kind is dict or isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if kind is Secret:
        return _plain(value.value)
    return value


def dig(value: Any, *path: str | int) -> Any:
    """`value[p0][p1]...`, or None when a step is missing. Unknowns are returned as they are."""
    for step in path:
        if is_unknown(value):
            return value
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
        elif not isinstance(value, Mapping):
            return None
        value = value[step] if isinstance(step, int) else value.get(step)
    return value


def known_str(value: Any) -> str | None:
    """`value` when it is a known string, else None."""
    return value if isinstance(value, str) and not is_unknown(value) else None


def known_list(value: Any) -> list | None:
    """`value` when it is a known list, else None (unknown arrays are not inspected)."""
    return value if isinstance(value, list) else None


def policy_bindings(policy_data: Any) -> list[tuple[Any, Any]] | None:
    """(role, member) pairs of an IAM policy JSON document (`policyData`).

    None when the document is unknown at preview; [] when it is malformed or has no bindings.
    """
    if is_unknown(policy_data):
        return None
    try:
        document = json.loads(known_str(policy_data) or "{}")
    except ValueError:
        return []
    bindings = document.get("bindings") if isinstance(document, dict) else None
    pairs = []
    for binding in bindings if isinstance(bindings, list) else []:
        if isinstance(binding, dict):
            members = binding.get("members")
            for member in members if isinstance(members, list) else []:
                pairs.append((binding.get("role"), member))
    return pairs
