"""What the engine creates before a resource: its dependencies and its ancestors', transitively.

A child of a component is registered once its parent's URN is known, and a component's URN is known
once what it depends on exists; so a store inside a component that depends on a delay waits for it.
Written here from that rule, apart from the policy pack's graph, so that tests check the pack too.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable


def waits_for(urn: str, nodes: dict[str, Any], deps: Callable[[Any], Iterable[str]],
              parent: Callable[[Any], str | None]) -> set[str]:
    seen: set[str] = set()
    todo = [urn]
    while todo:
        node = nodes.get(todo.pop())
        if node is None:
            continue
        up = parent(node)
        for dep in [*deps(node), *([up] if up else [])]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def step_waits_for(step: dict, steps: dict[str, dict]) -> set[str]:
    """For plan JSON steps (`dependencies`, `parent`)."""
    return waits_for(step["urn"], steps, lambda s: s.get("dependencies") or [], lambda s: s.get("parent"))


def resource_waits_for(resource: Any, by_urn: dict[str, Any]) -> set[str]:
    """For captured resources (`dependencies`, `parent`)."""
    return waits_for(resource.urn, by_urn, lambda r: r.dependencies or [], lambda r: r.parent)
