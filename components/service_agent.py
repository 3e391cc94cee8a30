"""The Cloud Healthcare Service Agent of the project that owns the DICOM stores.

Google creates the agent on first use of the API, which may be after `pulumi up` needs to grant it
roles; creating it explicitly makes its email known (and grantable) in the same deployment. An agent
created this way does not receive its usual project role, so that grant is made here too.

That role is the agent's default, which Google gives it in every project using the API; other
Healthcare resources of the project rely on it. So the stack makes the grant but never removes it:
`retain_on_delete` leaves it in place on `pulumi destroy` (or when the grant leaves the program).
"""

from typing import Optional, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming
from dicomstream.core.naming import HEALTHCARE_SERVICE
from dicomstream.core.roles import HEALTHCARE_SERVICE_AGENT

from .inputs import Checks
from .renames import Component


class HealthcareServiceAgentArgs(TypedDict):
    project: pulumi.Input[str]
    """The project that owns the DICOM stores."""


class HealthcareServiceAgent(Component):
    """The project's Healthcare Service Agent, created now so that it can be granted roles at once."""

    email: pulumi.Output[str]
    member: pulumi.Output[str]
    """`serviceAccount:EMAIL`, the form IAM bindings take."""

    def __init__(self, name: str, args: HealthcareServiceAgentArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("dicomstream:index:HealthcareServiceAgent", name, None, opts)
        checks = Checks(f"HealthcareServiceAgent {name}")
        project = checks.value(args.get("project"), "project", naming.project_id_problem)
        checks.raise_if_any()
        self.identity = gcp.projects.ServiceIdentity(
            name,
            project=project,
            service=HEALTHCARE_SERVICE,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.email = self.identity.email
        self.member = self.identity.member
        self.agent_role = gcp.projects.IAMMember(
            f"{name}-healthcare-serviceAgent",
            project=project,
            role=HEALTHCARE_SERVICE_AGENT,
            member=self.member,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.register_outputs({"email": self.email, "member": self.member})
