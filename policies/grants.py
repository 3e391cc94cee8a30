"""Every grant of the stack on BigQuery data (dataset or project), whatever mechanism declares it.

Shared by the stack policies that ask "who may write here" (the agent's grants) and "where does
the stack grant at all" (the perimeter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .graph import UNKNOWN, Node, StackGraph
from .roles import BIGQUERY_DATA_EDITOR as DATA_EDITOR
from .tokens import (
    BQ_DATASET,
    BQ_DATASET_ACCESS,
    BQ_DATASET_IAM_BINDING,
    BQ_DATASET_IAM_MEMBER,
    BQ_DATASET_IAM_POLICY,
    PROJECT_IAM_BINDING,
    PROJECT_IAM_MEMBER,
    PROJECT_IAM_POLICY,
)
from .values import is_unknown, known_list, known_str, policy_bindings

# Legacy dataset ACL roles (Dataset.accesses[].role) and the IAM roles they stand for.
_LEGACY_ROLES = {"WRITER": DATA_EDITOR, "OWNER": "roles/bigquery.dataOwner", "READER": "roles/bigquery.dataViewer"}


def _modern(role: Any) -> Any:
    """A legacy dataset role (WRITER, OWNER, READER) as its IAM role; anything else as written
    (a role given as a list or an object is reported by the rules, not a TypeError here)."""
    return _LEGACY_ROLES.get(role, role) if isinstance(role, str) else role


_DATASET_PATH = re.compile(r"^projects/([^/]+)/datasets/([^/]+)$")


@dataclass(frozen=True)
class Grant:
    """One (role, member) granted on a dataset (dataset set) or a project (dataset None)."""

    node: Node
    role: Any
    member: Any
    member_deps: tuple[str, ...]
    project: Any
    dataset: Any = None


def _dataset_ref(graph: StackGraph, node: Node) -> tuple[Any, Any]:
    """(project, dataset id) a dataset-level IAM resource applies to."""
    value = node.props.get("datasetId")
    text = known_str(value)
    match = _DATASET_PATH.match(text) if text else None
    if match:
        return match.group(1), match.group(2)
    return graph.project_of(node), (UNKNOWN if is_unknown(value) else text)


def _policy_bindings(policy_data: Any) -> list[tuple[Any, Any]]:
    """An unknown policy document may grant anything: one unknown (role, member) pair."""
    pairs = policy_bindings(policy_data)
    return [(UNKNOWN, UNKNOWN)] if pairs is None else pairs


def _members(props: dict) -> list[Any]:
    members = props.get("members")
    return [UNKNOWN] if is_unknown(members) else list(known_list(members) or [])


def collect_grants(graph: StackGraph) -> list[Grant]:
    """Every BigQuery-relevant grant of the stack, whatever mechanism declares it."""
    grants: list[Grant] = []
    for node in graph.nodes:
        props, deps = node.props, node.property_dependencies
        if node.type in (BQ_DATASET_IAM_MEMBER, BQ_DATASET_IAM_BINDING, BQ_DATASET_IAM_POLICY, BQ_DATASET_ACCESS):
            project, dataset = _dataset_ref(graph, node)
            if node.type == BQ_DATASET_IAM_MEMBER:
                pairs = [(props.get("role"), props.get("member"), deps.get("member", []))]
            elif node.type == BQ_DATASET_IAM_BINDING:
                pairs = [(props.get("role"), m, deps.get("members", [])) for m in _members(props)]
            elif node.type == BQ_DATASET_IAM_POLICY:
                pairs = [(r, m, deps.get("policyData", [])) for r, m in _policy_bindings(props.get("policyData"))]
            else:
                key = "iamMember" if props.get("iamMember") else "userByEmail"
                role = props.get("role")
                pairs = [(_modern(role), props.get(key), deps.get(key, []))]
            grants += [Grant(node, r, m, tuple(d), project, dataset) for r, m, d in pairs]
        elif node.type == BQ_DATASET:
            accesses = props.get("accesses")
            entries = [{"role": UNKNOWN, "iamMember": UNKNOWN}] if is_unknown(accesses) else known_list(accesses) or []
            project, dataset = graph.project_of(node), props.get("datasetId")
            for entry in entries:
                if not isinstance(entry, dict):
                    continue
                member = entry.get("iamMember") or entry.get("userByEmail")
                if member is None:
                    continue
                role = entry.get("role")
                grants.append(
                    Grant(node, _modern(role), member, tuple(deps.get("accesses", [])), project, dataset)
                )
        elif node.type in (PROJECT_IAM_MEMBER, PROJECT_IAM_BINDING, PROJECT_IAM_POLICY):
            project = graph.project_of(node)
            if node.type == PROJECT_IAM_MEMBER:
                pairs = [(props.get("role"), props.get("member"), deps.get("member", []))]
            elif node.type == PROJECT_IAM_BINDING:
                pairs = [(props.get("role"), m, deps.get("members", [])) for m in _members(props)]
            else:
                pairs = [(r, m, deps.get("policyData", [])) for r, m in _policy_bindings(props.get("policyData"))]
            grants += [Grant(node, r, m, tuple(d), project) for r, m, d in pairs]
    return grants
