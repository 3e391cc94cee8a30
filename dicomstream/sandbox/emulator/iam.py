"""IAM in the emulator: policy documents of projects, Healthcare datasets and DICOM stores
(`IamPolicies`), and who may write where: the Healthcare Service Agent's roles on a destination,
as the real service checks them (dataset access entries in BigQuery, or project-level bindings)."""

from __future__ import annotations

import base64
import hashlib

from dicomstream.sandbox.emulator.errors import ApiError, invalid

# Roles that include bigquery.tables.create/updateData on a dataset, in both spellings.
DATASET_WRITE_ROLES = frozenset({
    "roles/bigquery.dataEditor", "roles/bigquery.dataOwner", "roles/bigquery.admin",
    "WRITER", "OWNER", "roles/editor", "roles/owner",
})
PROJECT_WRITE_ROLES = frozenset({
    "roles/bigquery.dataEditor", "roles/bigquery.dataOwner", "roles/bigquery.admin",
    "roles/editor", "roles/owner",
})
# Roles that include bigquery.jobs.create on a project (needed by export, a batch job).
PROJECT_JOB_ROLES = frozenset({
    "roles/bigquery.jobUser", "roles/bigquery.user", "roles/bigquery.admin", "roles/editor", "roles/owner",
})


def member_of(email: str) -> str:
    return f"serviceAccount:{email}"


def dataset_grants_write(access_entries: list[dict], email: str) -> bool:
    """Whether a dataset's `access` list (REST form) lets `email` write tables."""
    for entry in access_entries:
        if entry.get("role") not in DATASET_WRITE_ROLES:
            continue
        if entry.get("userByEmail", "").lower() == email.lower():
            return True
        if entry.get("iamMember", "").lower() == member_of(email).lower():
            return True
    return False


def project_grants(policy: dict | None, email: str, roles: frozenset[str]) -> bool:
    """Whether a project IAM policy binds `email` to one of `roles`."""
    member = member_of(email).lower()
    for binding in (policy or {}).get("bindings", []):
        if binding.get("role") in roles and member in (m.lower() for m in binding.get("members", [])):
            return True
    return False


class IamPolicies:
    """`getIamPolicy` / `setIamPolicy` of any resource (project id or resource name), with etags:
    a stale etag is 409 ABORTED, as on Google's IAM-enabled APIs."""

    def __init__(self, core) -> None:  # noqa: ANN001 - emulator.core.Core
        self.core = core

    def policy(self, resource: str) -> dict | None:
        with self.core.lock:
            return self.core.state.iam.get(resource)

    def get(self, resource: str) -> dict:
        with self.core.lock:
            policy = self.core.state.iam.get(resource) or {"version": 1, "etag": _etag([]), "bindings": []}
            return _public(policy)

    def set(self, resource: str, body: dict) -> dict:
        policy = body.get("policy") if isinstance(body, dict) else None
        if not isinstance(policy, dict):
            raise invalid("Invalid JSON payload received: setIamPolicy needs {\"policy\": {...}}")
        unknown = set(body) - {"policy", "updateMask"}
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name \"{sorted(unknown)[0]}\": Cannot find field.")
        bindings = policy.get("bindings", [])
        if not isinstance(bindings, list) or not all(
            isinstance(b, dict) and isinstance(b.get("role"), str) and isinstance(b.get("members"), list) for b in bindings
        ):
            raise invalid("policy.bindings must be a list of {\"role\": ..., \"members\": [...]}")
        for b in bindings:
            if not b["role"].startswith(("roles/", "projects/", "organizations/")):
                raise invalid(f"Role {b['role']} is not supported: roles are named roles/NAME or projects/P/roles/NAME")
            for m in b["members"]:
                if not isinstance(m, str) or ":" not in m:
                    raise invalid(f"invalid member {m!r} in role {b['role']}: use a prefix such as serviceAccount:, user: or group:")
        with self.core.lock:
            current = self.core.state.iam.get(resource)
            current_etag = current["etag"] if current else _etag([])
            if policy.get("etag") and policy["etag"] != current_etag:
                raise ApiError(409, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.", "ABORTED")
            clean = [{"role": b["role"], "members": sorted(set(b["members"]))} for b in bindings if b["members"]]
            new = {"version": int(policy.get("version", 1) or 1), "etag": _etag(clean, current_etag), "bindings": clean}
            self.core.state.iam[resource] = new
            self.core.persistence.mark_dirty()
            return _public(new)

    @staticmethod
    def test_permissions(body: dict) -> dict:
        """`testIamPermissions`: the caller is never authenticated here, so it holds every permission
        it asks about (wildcards are refused, as on Google)."""
        permissions = body.get("permissions", []) if isinstance(body, dict) else None
        if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
            raise invalid("permissions must be a list of permission names such as healthcare.dicomStores.get")
        bad = [p for p in permissions if "*" in p or "." not in p]
        if bad:
            raise invalid(f"Permission {bad[0]!r} is not valid: wildcards are not allowed")
        return {"permissions": permissions} if permissions else {}

    def forget(self, prefix: str) -> None:
        """Policies of a deleted resource and everything under it."""
        with self.core.lock:
            for name in [n for n in self.core.state.iam if n == prefix or n.startswith(prefix + "/")]:
                del self.core.state.iam[name]


def _public(policy: dict) -> dict:
    return {k: v for k, v in policy.items() if k != "bindings" or v}


def _etag(bindings: list, previous: str = "") -> str:
    digest = hashlib.sha256((previous + repr(bindings)).encode()).digest()[:8]
    return base64.b64encode(digest).decode()
