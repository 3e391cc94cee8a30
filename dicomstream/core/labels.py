"""Labels every stateful resource carries, so that cost and ownership queries can group by them."""

from __future__ import annotations

from typing import Mapping

MANAGED_BY = "dicomstream"


def resource_labels(environment: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environment` and `managed-by` first; user labels may add to them, not silently replace them."""
    labels = {"environment": environment, "managed-by": MANAGED_BY}
    labels.update(extra or {})
    return labels
