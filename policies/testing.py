"""Run one policy on given properties, with no server and no engine (a harness for rule tests).

Properties are wrapped exactly as the analyzer wraps them (pulumi-policy's unknown-checking
proxy), so a rule that trips over an unknown value fails here as it would under the engine.
Resources for stack policies use the same dict shape as `dicomstream.policy_client`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

# The value the engine sends for a string that cannot be known during preview.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _options(protect: bool, parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _provider(provider: Mapping[str, Any] | None) -> PolicyProviderResource | None:
    if not provider:
        return None
    return PolicyProviderResource(
        provider.get("type", "pulumi:providers:gcp"),
        unknown_checking_proxy(dict(provider.get("inputs", {}))),
        provider.get("urn", "urn:pulumi:stack::project::pulumi:providers:gcp::default"),
        provider.get("name", "default"),
    )


def _finish(result: Any) -> None:
    if inspect.isawaitable(result):
        asyncio.new_event_loop().run_until_complete(result)


def run_policy(
    policy: ResourceValidationPolicy,
    type_: str,
    props: Mapping[str, Any],
    *,
    name: str = "res",
    urn: str | None = None,
    protect: bool = False,
    parent: str | None = None,
    config: Mapping[str, Any] | None = None,
    provider: Mapping[str, Any] | None = None,
) -> list[str]:
    """The messages `policy` reports for one resource (empty: compliant)."""
    messages: list[str] = []
    args = ResourceValidationArgs(
        type_,
        unknown_checking_proxy(dict(props)),
        urn or f"urn:pulumi:stack::project::{type_}::{name}",
        name,
        _options(protect, parent),
        _provider(provider),
        dict(config) if config is not None else None,
    )

    def report(message: str, _urn: str | None = None) -> None:
        messages.append(message)

    _finish(policy.validate(args, report))
    return messages


def _stack_view(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """Stack policies see outputs (as the engine sends them); inputs when no outputs are given."""
    outputs = resource.get("outputs")
    return outputs if outputs is not None else resource.get("inputs", resource.get("properties", {}))


def policy_resources(resources: Iterable[Mapping[str, Any]]) -> list[PolicyResource]:
    """`PolicyResource`s linked by parent and dependencies, as the analyzer builds them."""
    items = list(resources)
    built: dict[str, PolicyResource] = {}
    ordered = []
    for r in items:
        urn = r.get("urn") or f"urn:pulumi:stack::project::{r['type']}::{r['name']}"
        resource = PolicyResource(
            r["type"],
            unknown_checking_proxy(dict(_stack_view(r))),
            urn,
            r["name"],
            _options(bool(r.get("protect", False)), r.get("parent")),
            _provider(r.get("provider")),
            None,
            [],
            {},
        )
        built[urn] = resource
        ordered.append((resource, r))
    for resource, r in ordered:
        resource.parent = built.get(r.get("parent") or "")
        resource.dependencies = [built[u] for u in r.get("dependencies") or [] if u in built]
        deps = r.get("property_dependencies", r.get("propertyDependencies")) or {}
        resource.property_dependencies = {k: [built[u] for u in v if u in built] for k, v in deps.items()}
    return [resource for resource, _ in ordered]


def run_stack_policy(
    policy: StackValidationPolicy,
    resources: Iterable[Mapping[str, Any]],
    *,
    config: Mapping[str, Any] | None = None,
) -> list[tuple[str | None, str]]:
    """(urn, message) for each violation `policy` reports on the stack."""
    found: list[tuple[str | None, str]] = []
    args = StackValidationArgs(policy_resources(resources), dict(config) if config is not None else None)

    def report(message: str, urn: str | None = None) -> None:
        found.append((urn, message))

    _finish(policy.validate(args, report))
    return found
