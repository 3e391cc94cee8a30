"""A stack file's `config:` as the Pulumi engine hands it to the program, and back.

The engine (pulumi/pulumi `sdk/go/common/resource/config`: `object.MarshalString`,
`Plaintext.marshalText`) passes every config key to the program as a string in `PULUMI_CONFIG`:
a top-level string as it is, a boolean or number as its JSON text (`true`, `1`), `null` as
`null`, and a list or mapping as compact JSON with sorted keys; keys without a namespace get the
project's. `validate`, `plan` and the program all build the model from these strings
(`resolve.from_pulumi_config`), so they cannot disagree.

Offline, a `secure:` entry cannot be decrypted. It is passed in-band as the object Pulumi stores,
`{"secure": "v1:..."}`, and decoded into an `EncryptedSecret` (a whole key, or one value inside).
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from dicomstream.core.config.diagnostics import ConfigError, Issue
from dicomstream.core.config.yamlread import MAX_DEPTH
from dicomstream.core.secret import EncryptedSecret, Secret

SECURE = "secure"


@dataclass(frozen=True)
class EngineConfig:
    """`values`: key → string as in PULUMI_CONFIG; `secret_keys`: as in PULUMI_CONFIG_SECRET_KEYS."""

    values: dict[str, str]
    secret_keys: frozenset[str] = field(default_factory=frozenset)


def is_secure(value: Any) -> bool:
    """Pulumi's `isSecureValue`: a mapping with the single key `secure` holding a string."""
    return isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get(SECURE), str)


def _has_secure(value: Any) -> bool:
    if is_secure(value) or isinstance(value, EncryptedSecret):
        return True
    if isinstance(value, Mapping):
        return any(_has_secure(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_secure(v) for v in value)
    return False


def _go_text(value: Any) -> str:
    """Go's `%v` / JSON text of a scalar (mapping keys that are not strings, top-level scalars)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Go's encoding/json: shortest digits, plain between 1e-6 and 1e21, else `1e+21` / `1e-7`.
        if value == 0 or 1e-6 <= abs(value) < 1e21:
            text = format(decimal.Decimal(repr(value)), "f")
            return text[:-2] if text.endswith(".0") else text
        mantissa, _, exponent = repr(value).partition("e")
        return f"{mantissa.removesuffix('.0')}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"
    return str(value)


class _Unrepresentable(ValueError):
    pass


def _plain(value: Any, where: str) -> Any:
    """`value` as Go would marshal it to JSON (EncryptedSecret as its secure object)."""
    if isinstance(value, EncryptedSecret):
        return {SECURE: str(value)}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _Unrepresentable(f"{where}: {value!r} cannot be passed to the program (JSON has no "
                               "NaN or infinity); quote it if it is text")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)  # Go's encoding/json writes float64(1) as 1
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {(k if isinstance(k, str) else _go_text(k)): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()  # yaml.v3 keeps timestamps as their text
    raise _Unrepresentable(f"{where}: a {type(value).__name__} value cannot be passed to the program; "
                           "use strings, numbers, booleans, lists and mappings")


def marshal(value: Any, where: str = "value") -> str:
    """One config value as the engine's string (raises _Unrepresentable)."""
    if isinstance(value, str) and not isinstance(value, EncryptedSecret):
        return str(value)
    plain = _plain(value, where)
    if not isinstance(plain, (dict, list)):
        return _go_text(plain)
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _full_key(key: str, project_name: str) -> str | None:
    """Pulumi's `ParseKey`: `name` (the project's namespace), `ns:name`, or the old `ns:config:name`."""
    parts = key.split(":")
    if len(parts) == 1:
        return f"{project_name}:{key}"
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    return None


def engine_values(config: Mapping[str, Any], file: str, project_name: str) -> EngineConfig:
    """The `config:` mapping as PULUMI_CONFIG; ConfigError when a value cannot be passed."""
    values: dict[str, str] = {}
    written: dict[str, str] = {}
    secret: set[str] = set()
    issues: list[Issue] = []
    for raw_key, value in config.items():
        key = raw_key if isinstance(raw_key, str) else _go_text(raw_key)
        full = _full_key(key, project_name)
        if full is None:
            issues.append(Issue(file, key, "not a Pulumi config key; keys are NAME or NAMESPACE:NAME"))
            continue
        if full in written:
            issues.append(Issue(file, key, f"set twice, as {written[full]!r} and {key!r}; "
                                           "Pulumi keeps only one of them"))
            continue
        written[full] = key
        try:
            values[full] = marshal(value, key)
        except _Unrepresentable as exc:
            path, _, message = str(exc).partition(": ")
            issues.append(Issue(file, path, message))
            continue
        if _has_secure(value):
            secret.add(full)
    if issues:
        raise ConfigError(issues)
    return EngineConfig(values, frozenset(secret))


# ------------------------------------------------------------------------------ decoding


def _secure_hook(pairs: list[tuple[str, Any]]) -> Any:
    mapping = dict(pairs)
    return EncryptedSecret(mapping[SECURE]) if is_secure(mapping) else mapping


def _as_secret(value: Any) -> Any:
    """Every string in `value` marked `Secret` (a key set with --secret is secret as a whole)."""
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    if isinstance(value, dict):
        return {k: _as_secret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_secret(v) for v in value]
    return value


class TooDeep(ValueError):
    """A JSON value nested deeper than a stack file may be (the engine's yaml.v3 allows 10,000 levels)."""


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def decode_object(text: str, secret: bool) -> Any:
    """`pulumi.Config.get_object`: JSON text to a value; ValueError when it is not JSON, TooDeep."""
    if isinstance(text, EncryptedSecret):
        return text
    try:
        value = json.loads(text, object_pairs_hook=_secure_hook)
    except RecursionError:
        raise TooDeep() from None
    if _depth(value) > MAX_DEPTH:
        raise TooDeep()
    return _as_secret(value) if secret else value


def decode_scalar(text: str, secret: bool) -> Any:
    """`pulumi.Config.get`: the string itself, unless it is an offline `secure` entry."""
    if isinstance(text, EncryptedSecret):
        return text
    if isinstance(text, str) and text.startswith('{"secure":'):
        try:
            value = json.loads(text, object_pairs_hook=_secure_hook)
        except ValueError:
            value = None
        if isinstance(value, EncryptedSecret):
            return value
    return Secret(text) if secret and isinstance(text, str) else text
