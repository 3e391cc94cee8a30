"""Cloud Resource Manager v1 (projects.get, getIamPolicy, setIamPolicy) on the emulator's port:
the backend (projects exist when their id is valid; numbers are derived) and its routes."""

from __future__ import annotations

from dicomstream.core.naming import project_id_problem
from dicomstream.sandbox.emulator.errors import ApiError, invalid
from dicomstream.sandbox.emulator.http import Router, json_response
from dicomstream.sandbox.emulator.iam import IamPolicies
from dicomstream.sandbox.identity import fake_project_number


class ResourceManagerBackend:
    def __init__(self, policies: IamPolicies) -> None:
        self.policies = policies

    def get_project(self, project: str) -> dict:
        problem = project_id_problem(project)
        if problem:
            raise ApiError(403, f"The caller does not have permission (project {project!r}: {problem})", "PERMISSION_DENIED")
        return {"projectNumber": fake_project_number(project), "projectId": project, "lifecycleState": "ACTIVE", "name": project}

    def get_iam_policy(self, project: str, body: dict) -> dict:
        self.get_project(project)
        unknown = set(body) - {"options"}
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name \"{sorted(unknown)[0]}\": Cannot find field.")
        return self.policies.get(project)

    def set_iam_policy(self, project: str, body: dict) -> dict:
        self.get_project(project)
        return self.policies.set(project, body)


def router(backend: ResourceManagerBackend) -> Router:
    r = Router()
    project = r"/v1/projects/(?P<project>[^/:]+(?::[^/:]+)?)"
    r.add("GET", project, lambda q: json_response(backend.get_project(q.groups["project"])))
    r.add("POST", r"/v1/projects/(?P<project>[^/]+?):getIamPolicy", lambda q: json_response(backend.get_iam_policy(q.groups["project"], q.json())))
    r.add("POST", r"/v1/projects/(?P<project>[^/]+?):setIamPolicy", lambda q: json_response(backend.set_iam_policy(q.groups["project"], q.json())))
    return r
