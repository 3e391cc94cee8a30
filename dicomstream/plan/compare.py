"""Turn a fresh plan (every step `create`) into the change set against a previous plan.

Like the engine's diff: a URN present only in the new plan is a create, only in the old one a
delete (a new step's `aliases` name the URNs it continues, as the `aliases` resource option does
for the engine, so a renamed resource is not a delete and a create), and a URN in both is `same`, `update` (with the changed input paths) or `replace` (when a
changed property is replace-on-change for the provider, see `replace.py`); an input the step
ignores (`ignore_changes`) keeps its deployed value, as the engine does, so it is never a change. Replacing or deleting
a DICOM store or a Healthcare dataset destroys imaging data and is flagged as such.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from dicomstream.plan.model import Plan, Step
from dicomstream.plan.replace import IMAGING_DATA_TYPES, replace_reasons

MISSING = object()  # a path absent on one side of a diff
SHORT_VALUE = 60  # old -> new values are shown when each is at most this long


def changed_paths(old: Any, new: Any, prefix: str = "") -> Iterator[str]:
    """Input paths whose values differ, as `streamConfigs[2].bigqueryDestination.tableUri`."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            path = f"{prefix}.{key}" if prefix else str(key)
            yield from changed_paths(old.get(key, MISSING), new.get(key, MISSING), path)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            yield from changed_paths(old[i] if i < len(old) else MISSING,
                                     new[i] if i < len(new) else MISSING, f"{prefix}[{i}]")
    elif old is MISSING and new is None or new is MISSING and old is None:
        return  # an absent input and an explicit null are the same to the provider
    elif (old is MISSING or new is MISSING) and isinstance(old if new is MISSING else new, (dict, list)) \
            and (old if new is MISSING else new):
        # An added or removed element: its leaves, so that the table shows, not just `streamConfigs[2]`.
        side = old if new is MISSING else new
        items = side.items() if isinstance(side, dict) else enumerate(side)
        for key, value in items:
            path = f"{prefix}[{key}]" if isinstance(side, list) else f"{prefix}.{key}" if prefix else str(key)
            yield from changed_paths(MISSING if old is MISSING else value, MISSING if new is MISSING else value, path)
    elif old != new or type(old) is not type(new):
        yield prefix


def resource_key(step: Step) -> str:
    """A URN without its stack, so that plans of two stacks (prod against dev) line up by resource."""
    if step.type == "pulumi:pulumi:Stack":
        return step.type
    return urn_key(step.urn)


def urn_key(urn: str) -> str:
    """`urn:pulumi:STACK::rest` -> `rest` (a violation's resource, lined up across stacks)."""
    body = urn.removeprefix("urn:pulumi:")
    _stack, sep, rest = body.partition("::")
    return rest if sep else urn


_PATH_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def value_at(inputs: Any, path: str) -> Any:
    """The value at a path from `changed_paths` (`streamConfigs[2].bigqueryDestination.tableUri`),
    MISSING when the path does not exist on this side."""
    value = inputs
    for key, index in _PATH_PART.findall(path):
        if index:
            if not isinstance(value, list) or int(index) >= len(value):
                return MISSING
            value = value[int(index)]
        else:
            if not isinstance(value, dict) or key not in value:
                return MISSING
            value = value[key]
    return value


def compare(new: Plan, old: Plan, *, old_label: str | None = None) -> Plan:
    """`new` with each step's op decided against `old`; deletes appended last, as the engine runs them."""
    previous = {resource_key(s): s for s in old.steps if s.op != "delete"}
    matched: set[str] = set()  # old resources that a new step continues, by its URN or one of its aliases
    steps: list[Step] = []
    for step in new.steps:
        key = next((k for k in (resource_key(step), *map(urn_key, step.aliases))
                    if k in previous and k not in matched), None)
        if key is None:
            steps.append(_with(step, "create"))
            continue
        matched.add(key)
        before = previous[key]
        # `ignore_changes`: the engine keeps the deployed value of those inputs, so they never differ.
        diffs = [d for d in changed_paths(before.inputs, step.inputs) if not _ignored(d, step.ignore_changes)]
        if before.protect != step.protect:
            diffs.append("protect")
        reasons = replace_reasons(step.type, diffs)
        op = "replace" if reasons else "update" if diffs else "same"
        # The engine refuses a replace only when the resource is protected before and after (unprotecting
        # and replacing in one update is allowed): pulumi/pulumi pkg/resource/deploy/step_generator.go.
        refused = op == "replace" and before.protect and step.protect
        steps.append(_with(step, op, diffs, reasons, was_protected=refused,
                           old_inputs=before.inputs if diffs else None,
                           old_protect=before.protect if before.protect != step.protect else None))
    deletes = [_with(s, "delete", was_protected=s.protect) for s in old.steps
               if s.op != "delete" and resource_key(s) not in matched]
    # Children before their parents, dependents before what they depend on: reverse registration.
    steps.extend(reversed(deletes))
    return Plan(stack=new.stack, steps=steps, policy_violations=new.policy_violations,
                policy_packs=new.policy_packs, warnings=new.warnings, outputs=new.outputs,
                compared_with=old_label if old_label is not None else old.stack, gcp_project=new.gcp_project)


def _ignored(path: str, ignore_changes: list[str]) -> bool:
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in ignore_changes)


def _with(step: Step, op: str, diffs: list[str] | None = None, reasons: list[str] | None = None,
          was_protected: bool = False, old_inputs: dict[str, Any] | None = None,
          old_protect: bool | None = None) -> Step:
    return Step(
        op=op, urn=step.urn, type=step.type, name=step.name, parent=step.parent,
        dependencies=step.dependencies, inputs=step.inputs, protect=step.protect, custom=step.custom,
        diffs=list(diffs or []), replace_reasons=list(reasons or []),
        destroys_imaging_data=op in ("replace", "delete") and step.type in IMAGING_DATA_TYPES,
        was_protected=was_protected, aliases=step.aliases, property_dependencies=step.property_dependencies,
        old_inputs=old_inputs, old_protect=old_protect, retain_on_delete=step.retain_on_delete,
        ignore_changes=step.ignore_changes,
    )


def short_change(step: Step, path: str) -> tuple[str, str] | None:
    """(old, new) of a changed path as short text (`(none)` where absent), or None when either is
    too long to show or the step has no previous inputs."""
    if path == "protect" and step.old_protect is not None:  # a resource option, not an input
        return json.dumps(step.old_protect), json.dumps(step.protect)
    if step.old_inputs is None:
        return None
    texts = []
    for value in (value_at(step.old_inputs, path), value_at(step.inputs, path)):
        text = "(none)" if value is MISSING else value if isinstance(value, str) else json.dumps(
            value, separators=(",", ":"), sort_keys=True)
        if len(text) > SHORT_VALUE:
            return None
        texts.append(text)
    return texts[0], texts[1]
