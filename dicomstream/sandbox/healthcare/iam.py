"""Who may write where: the Healthcare Service Agent's roles on a destination, as the real
service checks them (dataset access entries in BigQuery, or project-level IAM bindings)."""

from __future__ import annotations

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
