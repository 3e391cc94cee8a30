"""Aliases to the names dicomstream 0.1.0 gave, written as the URNs those resources had.

A `pulumi.Alias(name=...)` costs the Python SDK several outputs per alias on every resource (it
resolves the alias into a URN through its parent's URN before it sends the spec); with an alias
on every store and grant, that was a quarter of the program's time at 500 stores. A URN string is
sent as it is. It can be written at once because each component knows its qualified type: its
ancestors' types joined by `$`, as URNs spell them (children of the stack have no prefix).
"""

from __future__ import annotations

from typing import Optional, Union

import pulumi


class Component(pulumi.ComponentResource):
    """A ComponentResource that records its qualified type, so children can name their old URNs."""

    qualified_type: str

    def __init__(self, t: str, name: str, props: Optional[dict] = None,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        self.qualified_type = _qualified(t, opts.parent if opts else None)
        super().__init__(t, name, props, opts)


def _qualified(resource_type: str, parent: Optional[pulumi.Resource]) -> str:
    if parent is None:
        return resource_type
    if not isinstance(parent, Component):
        raise TypeError(f"{type(parent).__name__} is not a dicomstream Component: its qualified type is unknown")
    return f"{parent.qualified_type}${resource_type}"


def renamed_from(old_name: str, resource_type: Union[str, type], parent: Optional[pulumi.Resource]) -> str:
    """The URN of the same resource under `old_name` (same type, same parent, this stack)."""
    token = resource_type if isinstance(resource_type, str) else pulumi.get_type_token(resource_type)
    if not token:
        raise TypeError(f"{resource_type!r} has no Pulumi type token")
    return (f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::"
            f"{_qualified(token, parent)}::{old_name}")
