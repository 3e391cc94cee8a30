"""Per-resource costs of the Python SDK that a program run under the recording mocks does not need.

A profile of a 1,000-store plan: the SDK's `rpc.contains_unknowns` (called for every new Output)
defines a recursive closure on each call, a function-cell cycle that only the cyclic collector
frees (about 20,000 of them, 60,000 objects per collection at the end of the run); and
`resource._get_stack_trace` walks the whole Python stack with line lookups for every resource,
about 11 % of the plan process's CPU, for a source position that the recording monitor never
records; and `_types.resource_types` re-derives a class's property types from its annotations for
every registration (a throwaway class and `get_type_hints` each time). While `dicomstream.capture`
runs a program, `fast_paths` swaps in a closure-free `contains_unknowns` (the same answer), an
empty stack trace and `resource_types` computed once per class, and puts the SDK's own back after.

Each replacement is used only while the SDK's function is the one it was written against (its
source's digest): another SDK version keeps its own code until someone reads it again.
"""

from __future__ import annotations

import hashlib
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterator

# sha256 of inspect.getsource of each function as pulumi 3.272.0 ships it.
SDK_DIGESTS = {
    ("pulumi.runtime.rpc", "contains_unknowns"): "1f1f335b6f48b96055607dbb5be2e53b1163e35ec88704c89a41271070017cc8",
    ("pulumi.runtime.resource", "_get_stack_trace"): "3943b2273016925109e1c3a7bc603db06a44ea09ff3494c29544e44bccf8dd1f",
    ("pulumi._types", "resource_types"): "36ca79dc260ad3c156c1a3420ae03fcba6449f143965d54bcae0e5e74e8763ba",
}


def source_digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode("utf-8")).hexdigest()


_unknown_type: Any = None


def contains_unknowns(val: Any) -> bool:
    """As the SDK's `rpc.contains_unknowns`: an Unknown in `val` or anywhere in its nested dicts and
    lists (each container visited once), without a closure per call. (`known_types.is_unknown` is
    `isinstance(obj, pulumi.output.Unknown)`, looked up here once.)"""
    global _unknown_type
    unknown = _unknown_type
    if unknown is None:
        from pulumi.output import Unknown

        unknown = _unknown_type = Unknown
    if isinstance(val, unknown):
        return True
    if not isinstance(val, (dict, list)):
        return False
    seen: set[int] = set()
    todo = [val]
    while todo:
        item = todo.pop()
        if isinstance(item, unknown):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            todo.extend(item[k] for k in item)
        elif isinstance(item, list):
            todo.extend(item)
    return False


def no_stack_trace() -> Any:
    """An empty stack trace: the SDK then sends no source position (as when it finds no user frame)."""
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


def once_per_class(resource_types: Callable[[type], dict]) -> Callable[[type], dict]:
    """`resource_types(cls)` computed once per class (its annotations and properties do not change
    while a program runs); each caller gets a dict of its own, as from the SDK."""
    found: dict[type, dict] = {}

    def cached(resource_cls: type) -> dict:
        types = found.get(resource_cls)
        if types is None:
            types = found[resource_cls] = resource_types(resource_cls)
        return dict(types)

    cached.__wrapped__ = resource_types  # type: ignore[attr-defined]
    return cached


_OURS = (contains_unknowns, no_stack_trace)

# Each swap: (module, function name) -> a function of the SDK's own, returning its replacement.
REPLACEMENTS: dict[tuple[str, str], Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    ("pulumi.runtime.rpc", "contains_unknowns"): lambda _: contains_unknowns,
    ("pulumi.runtime.resource", "_get_stack_trace"): lambda _: no_stack_trace,
    ("pulumi._types", "resource_types"): once_per_class,
}


def applicable() -> list[tuple[Any, str, Callable[..., Any]]]:
    """(module, name, replacement) for each SDK function that is still the one we replace."""
    import importlib

    found = []
    for (module_name, name), replace in REPLACEMENTS.items():
        module = importlib.import_module(module_name)
        original = getattr(module, name, None)
        if original is None or hasattr(original, "__wrapped__") or original in _OURS:
            continue  # none, or already swapped (inspect would read a wrapper's source as the SDK's)
        try:
            digest = source_digest(original)
        except (OSError, TypeError):
            continue  # no source to compare
        if digest == SDK_DIGESTS[(module_name, name)]:
            found.append((module, name, replace(original)))
    return found


@contextmanager
def fast_paths() -> Iterator[None]:
    """The replacements while the block runs, the SDK's own functions again after it."""
    swapped = []
    for module, name, replacement in applicable():
        swapped.append((module, name, getattr(module, name)))
        setattr(module, name, replacement)
    try:
        yield
    finally:
        for module, name, original in reversed(swapped):
            setattr(module, name, original)
