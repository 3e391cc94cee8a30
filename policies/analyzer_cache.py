"""Decode each resource once per request, not once per policy.

pulumi_policy's analyzer server turns a resource's protobuf properties into a dict
(`deserialize_properties(json_format.MessageToDict(...))`) inside its loop over policies: every
resource policy re-decodes the resource of an `Analyze`, every stack policy re-decodes the whole
stack of an `AnalyzeStack` (about 17 % of a 10,000-store plan's CPU went to that conversion).
`install()` wraps the server's two calls so that, while one request is served, the same message
content decodes once (and is wrapped in the SDK's unknown-checking proxies once): the dict is keyed by the message's serialised bytes (so equal content, never
a reused object id, hits the cache) and dropped when the request ends. The pack's rules only read
properties (`values.plain` copies them), so its policies may share one decoded dict.

If the SDK no longer has these names, nothing is installed and the pack runs as before.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_local = threading.local()


def _cache() -> dict | None:
    return getattr(_local, "cache", None)


class _CachedJsonFormat:
    """`json_format` with a per-request memo in front of `MessageToDict` (everything else delegated)."""

    def __init__(self, json_format: Any):
        self._json_format = json_format

    def __getattr__(self, name: str) -> Any:
        return getattr(self._json_format, name)

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - protobuf's name
        cache = _cache()
        if cache is None or args or kwargs:
            return self._json_format.MessageToDict(message, *args, **kwargs)
        key = (type(message).__name__, message.SerializeToString(deterministic=True))
        found = cache.get(key)
        if found is None:
            found = cache[key] = self._json_format.MessageToDict(message)
        return found


def _cached_deserialize(deserialize: Any) -> Any:
    @functools.wraps(deserialize)
    def cached(props: Any, proxy_secrets: bool = False) -> Any:
        cache = _cache()
        if cache is None:
            return deserialize(props, proxy_secrets)
        # `props` is the memoised MessageToDict result: the same object while the request lasts.
        key = ("deserialized", id(props), proxy_secrets)
        entry = cache.get(key)
        if entry is None or entry[0] is not props:
            entry = cache[key] = (props, deserialize(props, proxy_secrets))
        return entry[1]

    return cached


def _cached_proxy(make_proxy: Any) -> Any:
    """`unknown_checking_proxy` once per decoded dict: it copies the whole tree into proxies."""

    @functools.wraps(make_proxy)
    def cached(props: Any) -> Any:
        cache = _cache()
        if cache is None:
            return make_proxy(props)
        key = ("proxy", id(props))
        entry = cache.get(key)
        if entry is None or entry[0] is not props:
            entry = cache[key] = (props, make_proxy(props))
        return entry[1]

    return cached


def _per_request(method: Any) -> Any:
    @functools.wraps(method)
    def serve(self: Any, request: Any, context: Any) -> Any:
        _local.cache = {}
        try:
            return method(self, request, context)
        finally:
            _local.cache = None

    return serve


def install() -> bool:
    """Hook the cache into pulumi_policy's analyzer server; False when its shape is not the known one."""
    try:
        from pulumi_policy import policy as server
    except ImportError:
        return False
    servicer = getattr(server, "_PolicyAnalyzerServicer", None)
    json_format = getattr(server, "json_format", None)
    deserialize = getattr(server, "deserialize_properties", None)
    if servicer is None or json_format is None or deserialize is None or getattr(servicer, "_decode_once", False):
        return getattr(servicer, "_decode_once", False)
    if not all(callable(getattr(servicer, name, None)) for name in ("Analyze", "AnalyzeStack")):
        return False
    make_proxy = getattr(server, "unknown_checking_proxy", None)
    servicer._decode_once_originals = {
        (server, "json_format"): json_format, (server, "deserialize_properties"): deserialize,
        (server, "unknown_checking_proxy"): make_proxy,
        (servicer, "Analyze"): servicer.Analyze, (servicer, "AnalyzeStack"): servicer.AnalyzeStack,
    }
    server.json_format = _CachedJsonFormat(json_format)
    server.deserialize_properties = _cached_deserialize(deserialize)
    if callable(make_proxy):
        server.unknown_checking_proxy = _cached_proxy(make_proxy)
    servicer.Analyze = _per_request(servicer.Analyze)
    servicer.AnalyzeStack = _per_request(servicer.AnalyzeStack)
    servicer._decode_once = True
    return True


def uninstall() -> None:
    """Put the SDK back as it was (tests that install the cache in their own process)."""
    from pulumi_policy import policy as server

    # Any: the markers below are ours, set on the SDK's class by install(); it declares none of them.
    servicer: Any = server._PolicyAnalyzerServicer
    for (owner, name), value in getattr(servicer, "_decode_once_originals", {}).items():
        if value is not None:
            setattr(owner, name, value)
    servicer._decode_once_originals = {}
    servicer._decode_once = False
