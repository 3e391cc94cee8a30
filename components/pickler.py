"""The serialisation of a dynamic resource's provider: once per provider class, guarded."""

from __future__ import annotations

import pickle
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Optional

import pulumi
import pulumi.dynamic as dynamic


@contextmanager
def pickler_restored() -> Iterator[None]:
    """Pulumi's provider serialisation (pulumi.dynamic.serialize_provider, SDK 3.272) wraps
    pickle._Pickler._batch_setitems in a sorting wrapper on every call and never unwraps it: one
    more layer per dynamic resource, so a stack of about 950 stores died of RecursionError. A
    serialisation inside this leaves the pickler as it found it."""
    saved = {attr: pickle._Pickler.__dict__.get(attr) for attr in ("_batch_setitems", "save_dict")}
    try:
        yield
    finally:
        for attr, value in saved.items():
            if value is not None:
                setattr(pickle._Pickler, attr, value)


_SERIALIZED: dict[type, tuple[str, bool]] = {}
_LOCK = threading.Lock()


def serialized_provider(provider_type: type[dynamic.ResourceProvider]) -> tuple[str, bool]:
    """`provider_type()` as the SDK serialises it (dill, base64) and whether that captured a secret,
    computed once per process: our providers are built with no arguments and hold no per-resource
    state, so every resource's `__provider` is the same text (the SDK redid the dill dump for each)."""
    with _LOCK:
        found = _SERIALIZED.get(provider_type)
        if found is None:
            from pulumi.dynamic.dynamic import serialize_provider
            from pulumi.runtime._serialization import _serialize

            with pickler_restored():
                found = _serialize(True, serialize_provider, provider_type())
            _SERIALIZED[provider_type] = found
        return found


def register_dynamic(resource: dynamic.Resource, provider_type: type[dynamic.ResourceProvider], name: str,
                     props: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions]) -> None:
    """What `dynamic.Resource.__init__` (SDK 3.272) does, with the provider serialised once per class:
    the same `__provider` value (a secret Output when the provider says `serialize_as_secret_always`,
    the SDK's default, or captured a secret) and the same type token `pulumi-python:dynamic[/M]:N`."""
    from pulumi.dynamic.dynamic import PROVIDER_KEY

    if PROVIDER_KEY in props:
        raise ValueError("A dynamic resource must not define the __provider key")
    serialized, contains_secrets = serialized_provider(provider_type)
    provider: Any = serialized
    if getattr(provider_type, "serialize_as_secret_always", True) or contains_secrets:
        provider = pulumi.Output.secret(serialized)
    inputs = {**props, PROVIDER_KEY: provider}
    pulumi.CustomResource.__init__(resource, f"pulumi-python:{type(resource)._resource_type_name}", name, inputs, opts)
