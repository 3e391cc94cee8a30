"""Additive project-level grants (e.g. `roles/bigquery.jobUser` for the Healthcare Service Agent)."""

from typing import Optional, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming

from .iam import grants, iam_problems
from .inputs import Checks
from .renames import Component


class ProjectIamGrantsArgs(TypedDict):
    project: pulumi.Input[str]
    iam: dict[str, dict[str, pulumi.Input[str]]]
    """`{role: {key: member}}`; the key names the grant resource (`NAME-ROLE-KEY`)."""


class ProjectIamGrants(Component):
    """One IAMMember per (role, member) on one project."""

    project: pulumi.Output[str]

    def __init__(self, name: str, args: ProjectIamGrantsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:ProjectIamGrants", name, None, opts)
        checks = Checks(f"ProjectIamGrants {name}")
        project = checks.value(args.get("project"), "project", naming.project_id_problem)
        iam = args.get("iam") or {}
        for path, reason in iam_problems(iam):
            checks.problem(path, reason)
        checks.raise_if_any()
        self.members = [
            gcp.projects.IAMMember(
                grant.name(name),
                project=project,
                role=grant.role,
                member=grant.member,
                opts=pulumi.ResourceOptions(parent=self, aliases=grant.aliases(name, gcp.projects.IAMMember, self)),
            )
            for grant in grants(iam)
        ]
        self.project = pulumi.Output.from_input(project)
        self.register_outputs({"project": project})
