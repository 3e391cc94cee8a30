"""Project metadata and project-level IAM (Cloud Resource Manager v1), for grants the reconciler
checks or makes (e.g. `roles/bigquery.jobUser` for the Healthcare Service Agent)."""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type

from dicomstream.gcp.endpoints import RESOURCEMANAGER_DEFAULT
from dicomstream.gcp.rest import RestClient


class ResourceManagerClient(RestClient):
    def __init__(self, endpoint: str | None = None, **kwargs: Any) -> None:
        super().__init__(endpoint or RESOURCEMANAGER_DEFAULT, local=endpoint is not None, **kwargs)

    def get_project(self, project: str) -> dict:
        """`{"projectNumber", "projectId", "lifecycleState", ...}`."""
        return self.call("GET", f"v1/projects/{project}")

    def project_number(self, project: str) -> str:
        return str(self.get_project(project)["projectNumber"])

    def get_iam_policy(self, project: str) -> dict:
        return self.call("POST", f"v1/projects/{project}:getIamPolicy", json_body={"options": {"requestedPolicyVersion": 3}})

    def set_iam_policy(self, project: str, policy: dict) -> dict:
        return self.call("POST", f"v1/projects/{project}:setIamPolicy", json_body={"policy": policy})

    def has_binding(self, project: str, role: str, member: str) -> bool:
        policy = self.get_iam_policy(project)
        return any(b.get("role") == role and member in b.get("members", []) for b in policy.get("bindings", []))

    def add_binding(self, project: str, role: str, member: str) -> bool:
        """Read-modify-write with the policy's etag; retried on concurrent changes (409 ABORTED).

        Returns False when the member already had the role.
        """

        def once() -> bool:
            policy = self.get_iam_policy(project)
            bindings = policy.setdefault("bindings", [])
            for binding in bindings:
                if binding.get("role") == role:
                    if member in binding.get("members", []):
                        return False
                    binding.setdefault("members", []).append(member)
                    break
            else:
                bindings.append({"role": role, "members": [member]})
            self.set_iam_policy(project, policy)
            return True

        return Retry(predicate=if_exception_type(gexc.Conflict, gexc.Aborted), initial=0.2, maximum=2.0, timeout=self.deadline)(once)()

    def remove_binding(self, project: str, role: str, member: str) -> bool:
        policy = self.get_iam_policy(project)
        changed = False
        for binding in policy.get("bindings", []):
            if binding.get("role") == role and member in binding.get("members", []):
                binding["members"].remove(member)
                changed = True
        if changed:
            policy["bindings"] = [b for b in policy["bindings"] if b.get("members")]
            self.set_iam_policy(project, policy)
        return changed
