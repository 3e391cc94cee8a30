"""The stack as stack policies see it: plain properties, projects, and what waits for what."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .tokens import DICOM_STORE, DICOM_STORE_STREAMS, HEALTHCARE_DATASET
from .values import UNKNOWN_STRING_VALUE, is_unknown, known_str, plain

UNKNOWN = UNKNOWN_STRING_VALUE
_HEALTHCARE_DATASET_ID = re.compile(r"^projects/([^/]+)/locations/([^/]+)/datasets/([^/]+)$")
_DICOM_STORE_NAME = re.compile(r"^(projects/[^/]+/locations/[^/]+/datasets/[^/]+)/dicomStores/[^/]+$")


def normalize_project(value: Any) -> Any:
    """A project id from `my-proj` or `projects/my-proj`; unknown stays unknown, other → None."""
    if is_unknown(value):
        return UNKNOWN
    text = known_str(value)
    if not text:
        return None
    return text[len("projects/"):] if text.startswith("projects/") else text


def same(a: Any, b: Any) -> bool:
    """Equal, or possibly equal because one side is unknown or unset (never a false alarm)."""
    if a is None or b is None or is_unknown(a) or is_unknown(b):
        return True
    return a == b


def parse_healthcare_dataset_id(value: Any) -> tuple[str, str, str] | None:
    """(project, location, dataset) of `projects/P/locations/L/datasets/D`, else None."""
    text = known_str(value)
    match = _HEALTHCARE_DATASET_ID.match(text) if text else None
    return (match.group(1), match.group(2), match.group(3)) if match else None


@dataclass(eq=False)
class Node:
    """One resource of the stack, with plain properties (unknowns kept as sentinels)."""

    type: str
    urn: str
    name: str
    props: dict
    provider_props: dict
    parent: str | None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


def _urn_of(resource: Any) -> str | None:
    return getattr(resource, "urn", None) if resource is not None else None


class StackGraph:
    """Resources by URN, their children, and the transitive "created after" relation."""

    # The last graph built, by its resources' URNs and property objects: the analyzer hands every
    # stack policy a fresh list of the same resources (the same props objects once analyzer_cache
    # is installed), so the stack's graph is built once per AnalyzeStack, not once per policy.
    # The entry holds the resources, so their ids cannot be reused by other objects meanwhile.
    _last: tuple[tuple, list, "StackGraph"] | None = None

    @classmethod
    def of(cls, resources: Iterable[Any]) -> "StackGraph":
        """`StackGraph(resources)`, shared with the previous caller that had the very same resources."""
        items = list(resources)
        key = tuple((getattr(r, "urn", None), id(getattr(r, "props", None))) for r in items)
        last = cls._last
        if last is not None and last[0] == key:
            return last[2]
        graph = cls(items)
        cls._last = (key, [getattr(r, "props", None) for r in items], graph)
        return graph

    def __init__(self, resources: Iterable[Any]):
        self.nodes: list[Node] = []
        for r in resources:
            provider = getattr(r, "provider", None)
            self.nodes.append(
                Node(
                    type=r.resource_type,
                    urn=r.urn,
                    name=r.name,
                    props=plain(r.props),
                    provider_props=plain(provider.props) if provider is not None else {},
                    parent=_urn_of(getattr(r, "parent", None)) or getattr(getattr(r, "opts", None), "parent", None),
                    dependencies=[u for u in map(_urn_of, getattr(r, "dependencies", None) or []) if u],
                    property_dependencies={
                        key: [u for u in map(_urn_of, deps or []) if u]
                        for key, deps in (getattr(r, "property_dependencies", None) or {}).items()
                    },
                )
            )
        self.by_urn = {n.urn: n for n in self.nodes}
        self.children: dict[str, list[str]] = {}
        for n in self.nodes:
            if n.parent:
                self.children.setdefault(n.parent, []).append(n.urn)
        self._waits: dict[str, frozenset[str]] = {}
        self._derived: dict[str, Any] = {}

    def derived(self, key: str, make: Any) -> Any:
        """`make(self)`, computed once per graph: stack policies that read the same view of the stack
        (e.g. every stream's table and options) share it. Callers only read what it returns."""
        if key not in self._derived:
            self._derived[key] = make(self)
        return self._derived[key]

    def of_type(self, *types: str) -> list[Node]:
        return [n for n in self.nodes if n.type in types]

    def project_of(self, node: Node) -> Any:
        """The node's `project` input, else its provider's project, else None (unset)."""
        project = normalize_project(node.props.get("project"))
        if project is None:
            project = normalize_project(node.provider_props.get("project"))
        return project

    def _direct(self, urn: str) -> list[str]:
        node = self.by_urn.get(urn)
        if node is None:
            return []
        deps = list(node.dependencies)
        for urns in node.property_dependencies.values():
            deps.extend(urns)
        return deps

    def waits_for(self, node: Node) -> frozenset[str]:
        """URNs the engine creates before `node`: its dependencies and its ancestors', transitively;
        a dependency on a component means every resource under it."""
        if node.urn in self._waits:
            return self._waits[node.urn]
        seeds: list[str] = []
        ancestor: str | None = node.urn
        seen_ancestors: set[str] = set()
        while ancestor and ancestor not in seen_ancestors:
            seen_ancestors.add(ancestor)
            seeds.extend(self._direct(ancestor))
            parent = self.by_urn.get(ancestor)
            ancestor = parent.parent if parent else None
        result: set[str] = set()
        stack = seeds
        while stack:
            urn = stack.pop()
            if urn in result:
                continue
            result.add(urn)
            stack.extend(self.children.get(urn, ()))
            stack.extend(self._direct(urn))
        waits = frozenset(result)
        self._waits[node.urn] = waits
        return waits

    def healthcare_dataset_of(self, store: Node) -> tuple[Any, Any]:
        """(project, location) of the Healthcare dataset a DICOM store lives in; UNKNOWN parts
        when they cannot be known yet (preview), never a guess that could raise a false alarm.
        A `DicomStoreStreams` is where its `store` is (its name, else the store it depends on)."""
        if store.type == DICOM_STORE_STREAMS:
            match = _DICOM_STORE_NAME.match(known_str(store.props.get("store")) or "")
            if match:
                parsed = parse_healthcare_dataset_id(match.group(1))
                assert parsed is not None
                return parsed[0], parsed[1]
            stores = [self.by_urn[u] for u in store.dependencies if u in self.by_urn and self.by_urn[u].type == DICOM_STORE]
            if len(stores) == 1:
                return self.healthcare_dataset_of(stores[0])
        parsed = parse_healthcare_dataset_id(store.props.get("dataset"))
        if parsed:
            return parsed[0], parsed[1]
        datasets = [
            self.by_urn[u]
            for u in store.property_dependencies.get("dataset", [])
            if u in self.by_urn and self.by_urn[u].type == HEALTHCARE_DATASET
        ]
        if not datasets:
            all_datasets = self.of_type(HEALTHCARE_DATASET)
            datasets = all_datasets if len(all_datasets) == 1 else []
        if len(datasets) == 1:
            ds = datasets[0]
            location = ds.props.get("location")
            return self.project_of(ds) or UNKNOWN, location if isinstance(location, str) else UNKNOWN
        return normalize_project(store.provider_props.get("project")) or UNKNOWN, UNKNOWN
