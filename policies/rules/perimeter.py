"""PHI stays inside its perimeter: streams, grants and authorised views only in allowed projects.

The perimeter is the pack config's `allowedProjects` when given (prod.json names prod's projects,
so a pull request cannot widen it by editing its own stack), else the projects this stack
creates its Healthcare and BigQuery datasets in. A dataset declared `existing` is not created by
the stack, so it does not widen the default perimeter: streaming into
`bq://outside-org-proj-42.loot.cardiology` and granting the agent there is reported, naming the
project. Advisory by default, mandatory in prod.json.

A stack policy: under `pulumi preview` it runs on every resource's inputs; under `pulumi up` once
every resource is registered, with all values known. Values unknown at preview are named by
`checked-at-up`.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, StackValidationPolicy

from ..grants import collect_grants
from ..graph import StackGraph
from ..streams import parse_table_uri, table_uris
from ..tokens import BQ_DATASET, BQ_DATASET_ACCESS, HEALTHCARE_DATASET, STREAMERS
from ..values import known_list, known_str

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "allowedProjects": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": [],
            "description": "Projects that may hold destinations and grants; empty: the projects the "
                           "stack creates its Healthcare and BigQuery datasets in.",
        }
    }
)

# Authorised views, datasets and routines in an access entry, and where their project id is.
_AUTHORISED = {"view": ("projectId",), "routine": ("projectId",), "dataset": ("dataset", "projectId")}


def perimeter(graph: StackGraph, config: Any) -> tuple[frozenset[str], str]:
    """(allowed projects, how they were chosen)."""
    configured = config.get("allowedProjects") if hasattr(config, "get") else None
    if isinstance(configured, list) and configured and all(isinstance(p, str) for p in configured):
        return frozenset(configured), "the pack config's allowedProjects"
    declared = {known_str(graph.project_of(n)) for n in graph.of_type(HEALTHCARE_DATASET, BQ_DATASET)}
    return frozenset(p for p in declared if p), "the projects this stack creates its datasets in"


def _authorised_projects(entry: Any) -> list[tuple[str, str]]:
    """(kind, project) of the authorised view, dataset or routine an access entry names."""
    found = []
    for kind, path in _AUTHORISED.items():
        value: Any = entry.get(kind) if isinstance(entry, dict) else None
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        project = known_str(value)
        if project:
            found.append((kind, project))
    return found


def check(resources: Any, config: Any) -> list[tuple[str, str]]:
    graph = StackGraph.of(resources)
    allowed, source = perimeter(graph, config)
    if not allowed:
        return []  # nothing declared to compare with (a stack of existing datasets only, without config)

    def outside(project: Any) -> str | None:
        text = known_str(project)
        return text if text and text not in allowed else None

    where = f"outside the perimeter ({source}: {', '.join(sorted(allowed))})"
    fix = "stream and grant only inside it, or widen allowedProjects in the pack config (a code-owner review)"
    problems: list[tuple[str, str]] = []
    for store in graph.of_type(*STREAMERS):
        for index, uri in table_uris(store.props):
            ref = parse_table_uri(uri)
            if ref is not None and outside(ref.project):
                problems.append((store.urn, f"DICOM store {store.name!r} streams[{index}] into {uri}: project "
                                            f"{ref.project!r} is {where}; {fix}"))
    reported: set[str] = set()
    for grant in collect_grants(graph):
        project = outside(grant.project)
        if project and grant.node.urn not in reported:
            reported.add(grant.node.urn)
            scope = f"dataset {project}.{grant.dataset}" if grant.dataset is not None else f"project {project!r}"
            role = grant.role if known_str(grant.role) else "a role"
            problems.append((grant.node.urn, f"{grant.node.type.rsplit(':', 1)[-1]} {grant.node.name!r} grants "
                                             f"{role} on {scope}: project {project!r} is {where}; {fix}"))
    if source.startswith("the pack config"):
        for node in graph.of_type(HEALTHCARE_DATASET, BQ_DATASET):
            project = outside(graph.project_of(node))
            if project:
                problems.append((node.urn, f"{node.type.rsplit(':', 1)[-1]} {node.name!r} is created in project "
                                           f"{project!r}, {where}; {fix}"))
    for node in graph.of_type(BQ_DATASET, BQ_DATASET_ACCESS):
        entries = (known_list(node.props.get("accesses")) or []) if node.type == BQ_DATASET else [node.props]
        for entry in entries:
            for kind, project in _authorised_projects(entry):
                if outside(project):
                    problems.append((node.urn, f"{node.type.rsplit(':', 1)[-1]} {node.name!r} authorises a {kind} "
                                               f"of project {project!r} to read the dataset: {project!r} is {where}; "
                                               f"{fix}"))
    return problems


def _validate(args: Any, report_violation: Any) -> None:
    for urn, message in check(args.resources, args.get_config()):
        report_violation(message, urn)


POLICIES = [
    StackValidationPolicy(
        name="destinations-in-allowed-projects",
        description=(
            "Stream destinations, the datasets and projects granted, and authorised views, datasets and "
            "routines are only in allowed projects (config allowedProjects; default: the projects the "
            "stack creates its datasets in)."
        ),
        validate=_validate,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=CONFIG_SCHEMA,
    ),
]
