"""Aliases to the names dicomstream 0.1.0 gave, written as the URNs those resources had.

A `pulumi.Alias(name=...)` costs the Python SDK several outputs per alias on every resource (it
resolves the alias into a URN through its parent's URN before it sends the spec); with an alias
on every store and grant, that was a quarter of the program's time at 500 stores. A URN string is
sent as it is. It can be written at once because each component knows its qualified type: its
ancestors' types joined by `$`, as URNs spell them (children of the stack have no prefix).

Only dicomstream's own program ever deployed 0.1.0 names, with our components at the root. Under
any other parent (a component of the user's, a parent given by a component provider) the chain is
not ours to know and there is nothing to alias: `qualified_type` is None and no alias is written.
"""

from typing import Optional, Union

import pulumi


class Component(pulumi.ComponentResource):
    """A ComponentResource that records its qualified type, so children can name their old URNs."""

    def __init__(self, t: str, name: str, props: Optional[dict] = None,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        self._qualified_type = _qualified(t, opts.parent if opts else None)
        super().__init__(t, name, props, opts)


def _qualified(resource_type: str, parent: Optional[pulumi.Resource]) -> Optional[str]:
    if parent is None:
        return resource_type
    chain = getattr(parent, "_qualified_type", None) if isinstance(parent, Component) else None
    return f"{chain}${resource_type}" if chain else None


def renamed_from(old_name: str, resource_type: Union[str, type], parent: Optional[pulumi.Resource]) -> list[str]:
    """The URN of the same resource under `old_name` (same type, same parent, this stack), if known."""
    token = resource_type if isinstance(resource_type, str) else pulumi.get_type_token(resource_type)
    if not token:
        raise TypeError(f"{resource_type!r} has no Pulumi type token")
    qualified = _qualified(token, parent)
    if qualified is None:
        return []
    return [f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{old_name}"]
