"""The Google APIs a stack calls, enabled in each project it touches, before anything else is created.

New projects have the Healthcare and BigQuery APIs disabled: without this the first `pulumi up`
fails with 403 SERVICE_DISABLED. `disable_on_destroy=False`: destroying a stack must never turn
off an API that other workloads in the project use. Organisations that enable APIs centrally set
`dicomstream:enableApis: false`.
"""

from typing import Optional, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core.naming import HEALTHCARE_SERVICE

from .inputs import Checks
from .renames import Component

BIGQUERY = "bigquery.googleapis.com"
CLOUDKMS = "cloudkms.googleapis.com"
LOGGING = "logging.googleapis.com"
MONITORING = "monitoring.googleapis.com"
STORAGE = "storage.googleapis.com"
HEALTHCARE = HEALTHCARE_SERVICE


def kms_project(key_name: object) -> Optional[str]:
    """`projects/P/locations/L/keyRings/R/cryptoKeys/K` -> P (None when it is not a known key name)."""
    if not isinstance(key_name, str) or getattr(key_name, "encrypted", False):
        return None
    parts = key_name.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "projects" else None


class ProjectApiArgs(TypedDict):
    project: pulumi.Input[str]
    services: list[str]
    """API service names, e.g. `healthcare.googleapis.com`."""


class ProjectApisArgs(TypedDict):
    projects: dict[str, ProjectApiArgs]
    """By a key that names the resources (`NAME-KEY-API`): the project id itself, when it is known."""


class ProjectApis(Component):
    """One `gcp.projects.Service` per (project, API), named `NAME-PROJECT-API` (stable, order-free)."""

    def __init__(self, name: str, args: ProjectApisArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:ProjectApis", name, None, opts)
        checks = Checks(f"ProjectApis {name}")
        projects = args.get("projects") or {}
        for key, spec in projects.items():
            for i, api in enumerate(spec.get("services") or []):
                if not isinstance(api, str) or not api.endswith(".googleapis.com"):
                    checks.problem(f"projects.{key}.services[{i}]", "expected an API service name such as bigquery.googleapis.com")
        checks.raise_if_any()
        self.services = [
            gcp.projects.Service(
                f"{name}-{key}-{api.split('.')[0]}",
                project=projects[key]["project"],
                service=api,
                disable_on_destroy=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for key in sorted(projects)
            for api in sorted(set(projects[key].get("services") or []))
        ]
        self.register_outputs({})
