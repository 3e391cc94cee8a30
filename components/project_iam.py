"""Additive project-level grants (e.g. `roles/bigquery.jobUser` for the Healthcare Service Agent)."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from components.iam import IamBindings, iam_pairs, role_slug


class ProjectIamGrants(pulumi.ComponentResource):
    """One IAMMember per (role, member) on one project."""

    members: list[gcp.projects.IAMMember]

    def __init__(self, name: str, project: str, iam: IamBindings, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:ProjectIamGrants", name, None, opts)
        self.members = [
            gcp.projects.IAMMember(
                f"{name}-{role_slug(role)}-{index}",
                project=project,
                role=role,
                member=member,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role, index, member in iam_pairs(iam)
        ]
        self.register_outputs({"project": project})
