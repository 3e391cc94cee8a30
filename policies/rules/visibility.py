"""What the pack cannot judge, said in its output instead of passing in silence (advisory).

- `checked-at-up`: values unknown at preview (a member computed from another resource's output,
  a tableUri, a project, a key). The rules skip them at preview and judge them under `pulumi up`,
  when the engine knows them; this policy names each one, so that "0 violations" never hides an
  unchecked member. A member computed from a ServiceIdentity (the Healthcare agent's email) is a
  service agent, never the public, and is not listed.
- `existing-datasets-unseen`: a destination dataset the stack does not create (`existing: true`)
  is not a resource here, so its CMEK key, its access entries and IAM policy, and its location are
  invisible to the pack; the stack's own grants on it are still checked.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, StackValidationPolicy

from ..base import reporting
from ..grants import collect_grants
from ..graph import Node, StackGraph
from ..members import iam_grants
from ..streams import parse_table_uri, table_uris
from ..tokens import (
    BIGQUERY_IAM,
    BQ_DATASET,
    BQ_DATASET_ACCESS,
    BQ_ROW_ACCESS_POLICY,
    HEALTHCARE_DATASET,
    HEALTHCARE_IAM,
    PROJECT_IAM,
    ROW_ACCESS_GRANTEES,
    SERVICE_IDENTITY,
    STORAGE_IAM,
    STREAMERS,
)
from ..values import dig, is_unknown, known_list, known_str

_IAM = {**HEALTHCARE_IAM, **BIGQUERY_IAM, **PROJECT_IAM, **STORAGE_IAM, BQ_ROW_ACCESS_POLICY: ROW_ACCESS_GRANTEES}
_KEYS = {BQ_DATASET: ("defaultEncryptionConfiguration", "kmsKeyName"), HEALTHCARE_DATASET: ("encryptionSpec", "kmsKeyName")}
_AT_UP = "checked at `up`, when it is known"


def _kind(node: Node) -> str:
    return f"{node.type.rsplit(':', 1)[-1]} {node.name!r}"


def _from_agent(graph: StackGraph, node: Node, field: str) -> bool:
    """The value is computed from ServiceIdentity outputs only (the agent's email or member)."""
    deps = node.property_dependencies.get(field) or []
    return bool(deps) and all(graph.by_urn.get(u) is not None and graph.by_urn[u].type == SERVICE_IDENTITY
                              for u in deps)


def _unknown_members(graph: StackGraph, node: Node) -> list[str]:
    kind = _IAM.get(node.type)
    if kind is not None:
        field = kind.split("[")[0]
        return [f"{_kind(node)}: {path} is not known at preview; who gets {role if known_str(role) else 'the role'} "
                f"is {_AT_UP} (public-access rules)"
                for role, member, path in iam_grants(kind, node.props)
                if is_unknown(member) and not _from_agent(graph, node, field)]
    entries: Any = node.props.get("accesses") if node.type == BQ_DATASET else [node.props]
    if is_unknown(entries):
        return [] if _from_agent(graph, node, "accesses") else [
            f"{_kind(node)}: accesses is not known at preview; its members are {_AT_UP} (public-access rules)"]
    found = []
    for index, entry in enumerate(known_list(entries) or []):
        fields = [f for f in ("iamMember", "specialGroup", "domain", "userByEmail", "groupByEmail")
                  if isinstance(entry, dict) and is_unknown(entry.get(f))]
        if is_unknown(entry) or fields:
            field = "accesses" if node.type == BQ_DATASET else (fields or ["access"])[0]
            if not _from_agent(graph, node, field):
                where = f"accesses[{index}]" if node.type == BQ_DATASET else "the access entry"
                found.append(f"{_kind(node)}: {where} is not known at preview; its member is {_AT_UP} "
                             "(public-access rules)")
    return found


def check_unknowns(resources: Any) -> list[tuple[str, str]]:
    graph = StackGraph.of(resources)
    found: list[tuple[str, str]] = []
    for node in graph.nodes:
        if node.type in _IAM or node.type in (BQ_DATASET, BQ_DATASET_ACCESS):
            found += [(node.urn, message) for message in _unknown_members(graph, node)]
        if node.type in _KEYS and is_unknown(dig(node.props, *_KEYS[node.type])):
            found.append((node.urn, f"{_kind(node)}: {'.'.join(_KEYS[node.type])} is not known at preview; "
                                    f"the key is {_AT_UP} (CMEK rules)"))
        if node.type in STREAMERS:
            configs = node.props.get("streamConfigs")
            unknown = is_unknown(configs) or any(
                is_unknown(dig(c, "bigqueryDestination", "tableUri")) for c in known_list(configs) or [])
            if unknown:
                found.append((node.urn, f"{_kind(node)}: a stream's tableUri is not known at preview; its "
                                        f"destination is {_AT_UP} (perimeter, naming and grant rules)"))
    for grant in collect_grants(graph):
        if is_unknown(grant.project):
            found.append((grant.node.urn, f"{_kind(grant.node)}: the project it grants in is not known at "
                                          f"preview; it is {_AT_UP} (perimeter rule)"))
    return list(dict.fromkeys(found))


def check_existing(resources: Any) -> list[tuple[str, str]]:
    graph = StackGraph.of(resources)
    created = {(known_str(graph.project_of(n)), known_str(n.props.get("datasetId"))) for n in graph.of_type(BQ_DATASET)}
    seen: dict[tuple[str, str], str] = {}
    for store in graph.of_type(*STREAMERS):
        for _, uri in table_uris(store.props):
            ref = parse_table_uri(uri)
            if ref is not None:
                seen.setdefault((ref.project, ref.dataset), store.urn)
    for grant in collect_grants(graph):
        project, dataset = known_str(grant.project), known_str(grant.dataset)
        if project and dataset:
            seen.setdefault((project, dataset), grant.node.urn)
    return [(urn, f"BigQuery dataset {project}.{dataset} is not created by this stack (`existing`): the pack "
                  "checks the stack's own streams and grants on it, but cannot see its encryption key (CMEK), "
                  "its access entries and IAM policy (public members, authorised views) or its location; "
                  f"review them in project {project!r}")
            for (project, dataset), urn in seen.items() if (project, dataset) not in created]


POLICIES = [
    StackValidationPolicy(
        name="checked-at-up",
        description="Names each member, destination, project or key unknown at preview: the rules judge it under `pulumi up`.",
        validate=reporting(check_unknowns),
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    StackValidationPolicy(
        name="existing-datasets-unseen",
        description="Names each destination dataset the stack does not create, whose key, access and location the pack cannot see.",
        validate=reporting(check_existing),
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
