"""The plan document: steps, policy violations and a change summary (the JSON contract).

A plan is plain data so that it can be written by one run and compared by a later one
(`dicomstream plan --compare OLD.json`), possibly produced from another branch's code.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomstream.policy_client import Violation  # noqa: F401 - the plan's policy diagnostics

# The order `pulumi preview` reports operations in.
OPS = ("create", "update", "replace", "delete", "same")


class PlanFileError(ValueError):
    """A plan file given to --compare cannot be read; the message names the file and why."""


@dataclass
class Step:
    """One resource and what would happen to it."""

    op: str
    urn: str
    type: str
    name: str
    parent: str | None
    dependencies: list[str]
    inputs: dict[str, Any]
    protect: bool
    custom: bool = True
    diffs: list[str] = field(default_factory=list)  # changed input paths (update / replace)
    replace_reasons: list[str] = field(default_factory=list)  # the diffs that force a replacement
    destroys_imaging_data: bool = False
    was_protected: bool = False  # replace/delete of a protected resource: `pulumi up` refuses it
    aliases: list[str] = field(default_factory=list)  # earlier URNs of this resource (`aliases` option)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)  # what the policy pack sees
    old_inputs: dict[str, Any] | None = None  # the compared plan's inputs (update / replace): old -> new values
    retain_on_delete: bool = False  # a delete only forgets it: the cloud resource stays (`retainOnDelete`)

    @property
    def blocks_deploy(self) -> bool:
        """Destroys imaging data, or `pulumi up` would refuse it (a protected resource): decided before merge."""
        return self.destroys_imaging_data or self.was_protected

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "op": self.op, "urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent,
            "dependencies": self.dependencies, "inputs": self.inputs, "protect": self.protect,
            "custom": self.custom,
        }
        if self.diffs:
            out["diffs"] = self.diffs
        if self.replace_reasons:
            out["replaceReasons"] = self.replace_reasons
        if self.destroys_imaging_data:
            out["destroysImagingData"] = True
        if self.was_protected:
            out["wasProtected"] = True
        if self.aliases:
            out["aliases"] = self.aliases
        if self.property_dependencies:
            out["propertyDependencies"] = self.property_dependencies
        if self.old_inputs is not None:
            out["oldInputs"] = self.old_inputs
        if self.retain_on_delete:
            out["retainOnDelete"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Step":
        return cls(
            op=data.get("op", "create"), urn=data["urn"], type=data["type"], name=data.get("name", ""),
            parent=data.get("parent"), dependencies=list(data.get("dependencies") or []),
            inputs=dict(data.get("inputs") or {}), protect=bool(data.get("protect", False)),
            custom=bool(data.get("custom", True)), diffs=list(data.get("diffs") or []),
            replace_reasons=list(data.get("replaceReasons") or []),
            destroys_imaging_data=bool(data.get("destroysImagingData", False)),
            was_protected=bool(data.get("wasProtected", False)),
            aliases=list(data.get("aliases") or []),
            property_dependencies={str(k): list(v) for k, v in (data.get("propertyDependencies") or {}).items()},
            old_inputs=data.get("oldInputs"),
            retain_on_delete=bool(data.get("retainOnDelete", False)),
        )


@dataclass
class Plan:
    stack: str
    steps: list[Step]
    policy_violations: list[Violation] = field(default_factory=list)
    policy_packs: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "version", "policies"}]
    warnings: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    compared_with: str | None = None
    gcp_project: str | None = None  # the stack's `gcp:project`: the provider the pack is told about

    @property
    def change_summary(self) -> dict[str, int]:
        counts = Counter(step.op for step in self.steps)
        return {op: counts[op] for op in OPS if counts[op]}

    @property
    def mandatory_violations(self) -> list[Violation]:
        return [v for v in self.policy_violations if v.mandatory]

    @property
    def destructive_steps(self) -> list[Step]:
        """Steps that destroy imaging data or that `pulumi up` would refuse (protected): shown first."""
        return [s for s in self.steps if s.blocks_deploy]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stack": self.stack,
            "steps": [s.to_dict() for s in self.steps],
            "policyViolations": [v.as_dict() for v in self.policy_violations],
            "changeSummary": self.change_summary,
            "policyPacks": self.policy_packs,
            "warnings": self.warnings,
            "outputs": self.outputs,
        }
        if self.compared_with is not None:
            out["comparedWith"] = self.compared_with
        if self.gcp_project is not None:
            out["gcpProject"] = self.gcp_project
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        return cls(
            stack=str(data.get("stack", "")),
            steps=[Step.from_dict(s) for s in data.get("steps") or []],
            policy_violations=[Violation.from_dict(v) for v in data.get("policyViolations") or []],
            policy_packs=list(data.get("policyPacks") or []),
            warnings=list(data.get("warnings") or []),
            outputs=dict(data.get("outputs") or {}),
            compared_with=data.get("comparedWith"),
            gcp_project=data.get("gcpProject"),
        )


def load_plan(path: Path | str) -> Plan:
    """Read a plan written by `dicomstream plan --format json`; PlanFileError when unusable.

    Plans also come from untrusted places (a pull request's head job), so the shape of every step
    is checked here, once, for every reader (`--compare`, `preview report`).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"{path}: cannot read the plan: {exc}") from None
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{path}: not a JSON plan (line {exc.lineno}: {exc.msg}); "
                            "write one with `dicomstream plan --format json --out FILE`") from None
    except RecursionError:
        raise PlanFileError(f"{path}: not a plan: nested too deeply") from None
    except ValueError as exc:
        raise PlanFileError(f"{path}: not a plan: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise PlanFileError(f"{path}: not a plan: expected an object with a 'steps' list, "
                            "as written by `dicomstream plan --format json`")
    try:
        plan = Plan.from_dict(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise PlanFileError(f"{path}: a step is malformed ({type(exc).__name__}: {exc})") from None
    for i, step in enumerate(plan.steps):
        for key, kind in _STEP_SHAPE.items():
            if not isinstance(getattr(step, key), kind):
                raise PlanFileError(f"{path}: steps[{i}].{key}: expected {kind.__name__}, as written by "
                                    "`dicomstream plan --format json`")
        if not all(isinstance(u, str) for u in (*step.dependencies, *step.aliases)) or not (
                step.parent is None or isinstance(step.parent, str)):
            raise PlanFileError(f"{path}: steps[{i}]: dependencies, aliases and parent are URNs (strings)")
    return plan


_STEP_SHAPE = {"op": str, "urn": str, "type": str, "name": str, "inputs": dict, "dependencies": list}
