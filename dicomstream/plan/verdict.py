"""What a pull request's reviewer decides on: each stack's status, and what blocks the merge.

A stack blocks when it is invalid, failed to plan, has no plan from the head job, the policy pack
could not run on it, it has a mandatory violation, or it has destructive steps (replace/delete of
a DICOM store or a Healthcare dataset, or of anything protected) that the override does not
cover. The override (the `allow-destroy` label) accepts destroying unprotected stores and
datasets; what `pulumi up` refuses (deleting a protected resource, replacing one that stays
protected) still blocks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dicomstream.plan.compare import urn_key
from dicomstream.plan.model import Plan, Step, Violation

PROMOTION_ORDER = ("dev", "staging", "prod")
STATUS_TEXT = {
    "planned": "planned",
    "new": "new stack",
    "deleted": "stack file deleted",
    "invalid": "invalid",
    "failed": "plan failed",
    "missing": "no plan from the head job",
    "pack-failed": "policy pack failed",
    "base-missing": "planned; base plan missing",
}
OVERRIDE_LABEL = "allow-destroy"


@dataclass
class StackReview:
    stack: str
    file: str
    status: str
    plan: Plan | None = None  # the head's plan compared with the base's (or with nothing)
    lines: list[str] = field(default_factory=list)  # validation lines, failures, notes
    base_advisory: set[tuple[str, str]] = field(default_factory=set)  # (policy, resource) already in base
    destroy_allowed: bool = False

    @property
    def destructive(self) -> list[Step]:
        return self.plan.destructive_steps if self.plan else []

    @property
    def blocking_destruction(self) -> list[Step]:
        return [s for s in self.destructive if s.was_protected or not self.destroy_allowed]

    @property
    def mandatory(self) -> list[Violation]:
        return self.plan.mandatory_violations if self.plan else []

    @property
    def blocked(self) -> bool:
        return (self.status in ("invalid", "failed", "missing", "pack-failed")
                or bool(self.mandatory) or bool(self.blocking_destruction))

    def unchanged_advisory(self, violation: Violation) -> bool:
        return (violation.policy_name, urn_key(violation.urn)) in self.base_advisory


@dataclass
class Review:
    head_commit: str
    base_commit: str
    stacks: list[StackReview]
    allow_destroy: bool = False
    artifact: str | None = None  # where the full plans are (a URL or an artifact name)

    @property
    def blocked(self) -> bool:
        return any(s.blocked for s in self.stacks)


def short_commit(commit: str | None) -> str:
    return (commit or "unknown")[:12]


def promotion_key(stack: str) -> tuple[int, str]:
    """dev, staging, prod, then every other stack by name."""
    return (PROMOTION_ORDER.index(stack), "") if stack in PROMOTION_ORDER else (len(PROMOTION_ORDER), stack)


def review_json(result: Review) -> str:
    """A machine-readable digest (the job's outputs and the tests read it)."""
    rows: list[dict[str, Any]] = []
    for s in result.stacks:
        rows.append({"stack": s.stack, "status": s.status, "blocked": s.blocked,
                     "changes": s.plan.change_summary if s.plan else {},
                     "mandatory": len(s.mandatory), "destructive": len(s.destructive),
                     "lines": s.lines})
    return json.dumps({"head": result.head_commit, "base": result.base_commit, "blocked": result.blocked,
                       "allowDestroy": result.allow_destroy, "stacks": rows}, indent=2) + "\n"
