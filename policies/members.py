"""Who an IAM resource or an access entry grants its role to, and which members mean "too many".

Shared by the public-access rules (resource policies: they block before `pulumi up` creates the
grant) and by `checked-at-up`, which names the members that are not known at preview.
"""

from __future__ import annotations

import re
from typing import Any

from .values import UNKNOWN_STRING_VALUE, is_unknown, known_list, known_str, policy_bindings

_EVERYONE = {
    "allusers": "anyone on the internet",
    "principalset://goog/public:all": "anyone on the internet",
    "allauthenticatedusers": "anyone with a Google account",
}
# Roles at project level that read (or administer) BigQuery or Healthcare data; custom roles count,
# because the pack cannot see their permissions.
_DATA_ROLE = re.compile(r"roles/(?:bigquery|healthcare)\..+|roles/(?:viewer|editor|owner)|(?:projects|organizations)/[^/]+/roles/.+")


def broad_member(member: Any) -> str | None:
    """Who a public or domain-wide IAM member stands for (`allUsers`, `domain:gmail.com`), else None.

    Compared without case or surrounding blanks, so that no spelling slips by; unknowns are None
    (`checked-at-up` names them; the rule sees the value under `pulumi up`).
    """
    text = known_str(member)
    if text is None:
        return None
    key = text.strip().lower()
    if key in _EVERYONE:
        return _EVERYONE[key]
    if key.startswith("domain:"):
        return f"everyone in the domain {text.strip()[len('domain:'):]!r}"
    return None


def broad_access_entry(entry: Any) -> list[tuple[str, str]]:
    """(field, who) for each part of a BigQuery access entry that grants to too many people:
    `specialGroup` allUsers/allAuthenticatedUsers, any `domain`, a broad `iamMember`."""
    if not isinstance(entry, dict):
        return []
    found = []
    for field in ("specialGroup", "iamMember"):
        who = broad_member(entry.get(field))
        if who:
            found.append((field, who))
    domain = known_str(entry.get("domain"))
    if domain and domain.strip():
        found.append(("domain", f"everyone in the domain {domain.strip()!r}"))
    return found


def is_data_role(role: Any) -> bool:
    """A project-level role that reads BigQuery or Healthcare data (unknown roles count)."""
    if is_unknown(role):
        return True
    text = known_str(role)
    return text is not None and _DATA_ROLE.fullmatch(text.strip()) is not None


def iam_grants(kind: str, props: dict) -> list[tuple[Any, Any, str]]:
    """(role, member, field path) of an IAM resource whose grantee property is `kind`: `member`, a
    list (`members`, a row access policy's `grantees`) or `policyData`; an unknown list or
    document is one (UNKNOWN, UNKNOWN, path) pair."""
    if kind == "member":
        return [(props.get("role"), props.get("member"), "member")]
    if kind != "policyData":
        members = props.get(kind)
        if is_unknown(members):
            return [(props.get("role"), UNKNOWN_STRING_VALUE, kind)]
        return [(props.get("role"), m, f"{kind}[{i}]") for i, m in enumerate(known_list(members) or [])]
    pairs = policy_bindings(props.get("policyData"))
    if pairs is None:
        return [(UNKNOWN_STRING_VALUE, UNKNOWN_STRING_VALUE, "policyData")]
    return [(role, member, "policyData") for role, member in pairs]
