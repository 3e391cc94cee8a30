"""The Healthcare Service Agent may write to every destination before a store starts streaming.

For each DICOM store with streams, the agent of the store's project (a ServiceIdentity for
healthcare.googleapis.com in the stack, or an agent-shaped email) needs `roles/bigquery.dataEditor`
on each destination dataset (or its project) and `roles/bigquery.jobUser` on each destination
project, and the store must be created after those grants (a dependency of the store or of one of
its parents, directly or transitively; depending on a component means on everything under it).
Values unknown at preview (agent email, member, project) count as a match, never as a violation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, StackValidationPolicy

from ..naming import HEALTHCARE_SERVICE
from ..roles import BIGQUERY_DATA_EDITOR as DATA_EDITOR
from ..roles import BIGQUERY_JOB_USER as JOB_USER
from ..roles import SATISFIED_ON_PROJECT
from ..base import reporting
from ..grants import Grant, collect_grants
from ..graph import UNKNOWN, Node, StackGraph, normalize_project, same
from ..streams import parse_table_uri, stream_configs, table_uris
from ..tokens import SERVICE_IDENTITY, STREAMERS
from ..values import is_unknown, known_str

_AGENT_EMAIL = re.compile(r"^service-\d+@gcp-sa-healthcare\.iam\.gserviceaccount\.com$")


@dataclass(frozen=True)
class Agent:
    """What the stack knows of the Healthcare Service Agent of one store project."""

    project: Any
    emails: frozenset[str]
    urns: frozenset[str]
    email_unknown: bool

    def label(self) -> str:
        if len(self.emails) == 1 and not self.email_unknown:
            return f"the Healthcare Service Agent {next(iter(self.emails))}"
        project = "?" if is_unknown(self.project) or self.project is None else self.project
        return f"the Healthcare Service Agent of project {project!r}"

    def is_member(self, grant: Grant) -> bool:
        """Whether the grant's member is this agent; unknown members match (preview)."""
        member = grant.member
        if is_unknown(member):
            if self.urns and grant.member_deps:
                return bool(self.urns.intersection(grant.member_deps))
            return True
        text = known_str(member)
        if not text:
            return False
        email = text.split(":", 1)[1] if text.startswith("serviceAccount:") else text
        email = email.strip().lower()
        if email in self.emails:
            return True
        if self.email_unknown or not self.urns:
            # The agent's project number is not known here: accept any Healthcare agent address.
            return bool(_AGENT_EMAIL.match(email))
        return False


def agent_for(graph: StackGraph, store_project: Any, identities: list[Node]) -> Agent:
    candidates = [si for si in identities if same(graph.project_of(si), store_project)]
    emails, unknown = set(), False
    for si in candidates:
        email = known_str(si.props.get("email"))
        if email:
            emails.add(email.strip().lower())
        else:
            unknown = True
    return Agent(store_project, frozenset(emails), frozenset(si.urn for si in candidates), unknown)


class _GrantIndex:
    """Grants by role family and scope, so large stacks are checked in linear time."""

    def __init__(self, grants: list[Grant]):
        self.by_dataset: dict[Any, list[Grant]] = {}
        self.by_project: dict[Any, list[Grant]] = {}
        for g in grants:
            if g.dataset is not None:
                key = g.dataset if known_str(g.dataset) else UNKNOWN
                self.by_dataset.setdefault(key, []).append(g)
            else:
                key = g.project if known_str(g.project) else UNKNOWN
                self.by_project.setdefault(key, []).append(g)

    def on_dataset(self, project: str, dataset: str) -> list[Grant]:
        found = self.by_dataset.get(dataset, []) + self.by_dataset.get(UNKNOWN, [])
        return [g for g in found if same(g.project, project)]

    def on_project(self, project: str) -> list[Grant]:
        return self.by_project.get(project, []) + self.by_project.get(UNKNOWN, [])


def _role_ok(grant: Grant, required: str) -> bool:
    return is_unknown(grant.role) or grant.role in SATISFIED_ON_PROJECT[required]  # legacy ACL names are mapped already


def check_stack(resources: Any) -> list[tuple[str, str]]:
    """(store URN, message) for every missing grant or missing dependency on one."""
    graph = StackGraph.of(resources)
    stores = [s for s in graph.of_type(*STREAMERS) if stream_configs(s.props)]
    if not stores:
        return []
    index = _GrantIndex(collect_grants(graph))
    identities = [
        si
        for si in graph.of_type(SERVICE_IDENTITY)
        if is_unknown(si.props.get("service")) or si.props.get("service") == HEALTHCARE_SERVICE
    ]
    problems: list[tuple[str, str]] = []
    for store in stores:
        store_project, _ = graph.healthcare_dataset_of(store)
        agent = agent_for(graph, normalize_project(store_project), identities)
        requirements: dict[tuple, tuple[str, str, list[Grant]]] = {}
        for _, uri in table_uris(store.props):
            ref = parse_table_uri(uri)
            if ref is None:
                continue  # a malformed tableUri is bigquery-table-uri-format's finding
            requirements.setdefault(
                (DATA_EDITOR, ref.project, ref.dataset),
                (DATA_EDITOR, f"dataset {ref.project}.{ref.dataset} (or project {ref.project!r})",
                 [g for g in index.on_dataset(ref.project, ref.dataset) + index.on_project(ref.project)
                  if _role_ok(g, DATA_EDITOR)]),
            )
            requirements.setdefault(
                (JOB_USER, ref.project),
                (JOB_USER, f"project {ref.project!r}", [g for g in index.on_project(ref.project) if _role_ok(g, JOB_USER)]),
            )
        waits = None
        for role, scope, candidates in requirements.values():
            matched = [g for g in candidates if agent.is_member(g)]
            if not matched:
                problems.append((store.urn, (
                    f"DICOM store {store.name!r} streams into {scope}, but no grant gives "
                    f"{agent.label()} {role} there; grant it (gcp.bigquery.DatasetIamMember on the "
                    "dataset or gcp.projects.IAMMember on the project) to the ServiceIdentity's email"
                )))
                continue
            waits = graph.waits_for(store) if waits is None else waits
            if not any(g.node.urn in waits for g in matched):
                names = ", ".join(sorted({repr(g.node.name) for g in matched}))
                problems.append((store.urn, (
                    f"DICOM store {store.name!r} is not created after the grant of {role} on {scope} "
                    f"({names}); add it to the store's depends_on, or streaming starts before the "
                    "agent may write"
                )))
    return problems


POLICIES = [
    StackValidationPolicy(
        name="service-agent-grants-before-streams",
        description=(
            "The Healthcare Service Agent has roles/bigquery.dataEditor on each destination dataset "
            "and roles/bigquery.jobUser on each destination project, and each DICOM store depends on "
            "those grants."
        ),
        validate=reporting(check_stack),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
