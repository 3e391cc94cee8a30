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

_COMPACT = (",", ":")


def to_json_lines(document: dict[str, Any]) -> str:
    """`document` as JSON: a key per line, and each item of a list value on a line of its own."""
    lines = []
    for key, value in document.items():
        name = json.dumps(key)
        if isinstance(value, list) and value:
            items = ",\n".join("  " + json.dumps(item, separators=_COMPACT) for item in value)
            lines.append(f"{name}:[\n{items}\n]")
        else:
            lines.append(f"{name}:{json.dumps(value, separators=_COMPACT)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"

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
    old_protect: bool | None = None  # the compared plan's `protect`, when it changed (a resource option, not an input)
    retain_on_delete: bool = False  # a delete only forgets it: the cloud resource stays (`retainOnDelete`)
    ignore_changes: list[str] = field(default_factory=list)  # inputs kept at their deployed values (`ignoreChanges`)

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
        if self.old_protect is not None:
            out["oldProtect"] = self.old_protect
        if self.retain_on_delete:
            out["retainOnDelete"] = True
        if self.ignore_changes:
            out["ignoreChanges"] = self.ignore_changes
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
            old_protect=data["oldProtect"] if isinstance(data.get("oldProtect"), bool) else None,
            retain_on_delete=bool(data.get("retainOnDelete", False)),
            ignore_changes=[str(p) for p in data.get("ignoreChanges") or [] if isinstance(p, str)],
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
        """The plan as JSON, one step (and one violation, warning...) per line, each compact.

        Indented JSON (`indent=2`) goes through Python's pure-Python encoder and was most of the
        plan's bytes in whitespace (6.3 MB at 1,000 stores); line by line the C encoder writes each
        item, and a plan artifact's diff still shows which resources changed."""
        return to_json_lines(self.to_dict())

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


def load_plan(path: Path | str, *, follow_symlinks: bool = True, stack: str | None = None) -> Plan:
    """Read a plan written by `dicomstream plan --format json`; PlanFileError when unusable.

    Plans also come from untrusted places (a pull request's head job), so the file is read bounded
    (`dicomstream.plan.document`) and every field's shape is checked here, once, for every reader
    (`--compare`, `preview report`); `stack`, when given, is the name the plan must carry.
    """
    from dicomstream.plan.document import DocumentError, read_document

    try:
        data = read_document(path, missing="no such plan file", follow_symlinks=follow_symlinks)
    except DocumentError as error:
        raise PlanFileError(f"{error}; write one with `dicomstream plan --format json --out FILE`") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise PlanFileError(f"{path}: not a plan: expected an object with a 'steps' list, "
                            "as written by `dicomstream plan --format json`")
    problem = _plan_problem(data, stack)
    if problem:
        raise PlanFileError(f"{path}: {problem}, as written by `dicomstream plan --format json`")
    return Plan.from_dict(data)


def is_urn(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("urn:pulumi:") and len(value) <= MAX_URN


MAX_URN = 4096
_EXPECTED = {
    str: ("a string", lambda v: isinstance(v, str)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
    dict: ("an object", lambda v: isinstance(v, dict)),
    "op": (f"one of {', '.join(OPS)}", lambda v: isinstance(v, str) and v in OPS),
    "urn": ("a URN (a string starting with 'urn:pulumi:')", is_urn),
    "urns": ("a list of URNs", lambda v: isinstance(v, list) and all(map(is_urn, v))),
    "strings": ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
    "urn map": ("an object of lists of URNs",
                lambda v: isinstance(v, dict) and all(isinstance(u, list) and all(map(is_urn, u)) for u in v.values())),
    "objects": ("a list of objects", lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v)),
}
# Every field a step may have, its shape, and whether it must be there (None is "absent" elsewhere).
_STEP_FIELDS = {
    "op": ("op", True), "urn": ("urn", True), "type": (str, True), "name": (str, False), "parent": ("urn", False),
    "dependencies": ("urns", False), "inputs": (dict, False), "protect": (bool, False), "custom": (bool, False),
    "diffs": ("strings", False), "replaceReasons": ("strings", False), "destroysImagingData": (bool, False),
    "wasProtected": (bool, False), "aliases": ("urns", False), "propertyDependencies": ("urn map", False),
    "oldInputs": (dict, False), "retainOnDelete": (bool, False),
}
_PLAN_FIELDS = {"stack": (str, False), "policyViolations": ("objects", False), "policyPacks": ("objects", False),
                "warnings": ("strings", False), "outputs": (dict, False), "comparedWith": (str, False),
                "gcpProject": (str, False)}
_VIOLATION_FIELDS = {key: (str, False) for key in ("policyPack", "policyName", "enforcementLevel", "urn", "message")}


def _fields_problem(data: dict, fields: dict, where: str) -> str | None:
    for key, (kind, required) in fields.items():
        value = data.get(key)
        if value is None and not required:
            continue
        description, fits = _EXPECTED[kind]
        if not fits(value):
            return f"{where}{key}: expected {description}"
    return None


def _plan_problem(data: dict, stack: str | None) -> str | None:
    problem = _fields_problem(data, _PLAN_FIELDS, "")
    if problem:
        return problem
    if stack is not None and data.get("stack") != stack:
        return f"stack: expected {stack!r} (the stack this plan is filed under)"
    for i, violation in enumerate(data.get("policyViolations") or []):
        problem = _fields_problem(violation, _VIOLATION_FIELDS, f"policyViolations[{i}].")
        if problem:
            return problem
    for i, step in enumerate(data["steps"]):
        if not isinstance(step, dict):
            return f"steps[{i}]: expected an object"
        problem = _fields_problem(step, _STEP_FIELDS, f"steps[{i}].")
        if problem:
            return problem
    return None
