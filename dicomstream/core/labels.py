"""Labels every stateful resource carries, so that cost and ownership queries can group by them."""

from __future__ import annotations

from typing import Any, Mapping

MANAGED_BY = "dicomstream"


def resource_labels(environment: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`environment` and `managed-by` first; user labels may add to them, not silently replace them."""
    labels: dict[str, Any] = {"environment": environment, "managed-by": MANAGED_BY}
    labels.update(extra or {})
    return labels
