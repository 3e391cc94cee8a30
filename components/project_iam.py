"""Additive project-level grants (e.g. `roles/bigquery.jobUser` for the Healthcare Service Agent)."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.iam import IamBindings, grants
from components.renames import Component


class ProjectIamGrants(Component):
    """One IAMMember per (role, member) on one project."""

    members: list[gcp.projects.IAMMember]

    def __init__(self, name: str, project: str, iam: IamBindings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:ProjectIamGrants", name, None, opts)
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
        self.register_outputs({"project": project})
