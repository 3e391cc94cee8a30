"""The preview manifest: one checkout's stacks and what planning each of them gave.

    {"kind": "dicomstream-preview", "version": 1, "commit": SHA,
     "stacks": [{"stack", "file", "status": planned|invalid|failed, "plan": "dev.plan.json", "lines": [...]}]}

It is data passed between jobs (an artifact), so reading it checks its shape and names the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomstream.core.naming import shown, stack_name_problem
from dicomstream.plan.model import Plan, PlanFileError, load_plan

KIND = "dicomstream-preview"
VERSION = 1
MANIFEST = "manifest.json"
STATUSES = ("planned", "invalid", "failed")


class ManifestError(ValueError):
    """A manifest or one of its plans cannot be used; the message names the file and the field."""


@dataclass
class Entry:
    stack: str
    file: str
    status: str
    lines: list[str] = field(default_factory=list)
    plan: Plan | None = None

    def to_dict(self, plan_file: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"stack": self.stack, "file": self.file, "status": self.status}
        if plan_file:
            out["plan"] = plan_file
        if self.lines:
            out["lines"] = self.lines
        return out


@dataclass
class Manifest:
    commit: str
    entries: list[Entry]

    def by_stack(self) -> dict[str, Entry]:
        return {e.stack: e for e in self.entries}


def write_manifest(manifest: Manifest, out: Path) -> None:
    """`out/manifest.json` and one `out/STACK.plan.json` plan per planned stack (a stack may be called `manifest`)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for entry in manifest.entries:
        plan_file = None
        if entry.plan is not None:
            plan_file = plan_file_name(entry.stack)
            (out / plan_file).write_text(entry.plan.to_json(), encoding="utf-8")
        rows.append(entry.to_dict(plan_file))
    document = {"kind": KIND, "version": VERSION, "commit": manifest.commit, "stacks": rows}
    (out / MANIFEST).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def plan_file_name(stack: str) -> str:
    return f"{stack}.plan.json"


def read_manifest(directory: Path) -> Manifest:
    """The manifest in `directory` with its plans loaded; ManifestError naming file and field.

    The head's manifest is written by the pull request's own code: every file is read bounded,
    as a regular file inside `directory` and never through a symbolic link; every field is
    checked once, here (stack names by the stack-name rule and equal to their file's name, each
    plan the `STACK.plan.json` that capture writes, carrying the same stack name).
    """
    from dicomstream.plan.document import DocumentError, read_document

    path = directory / MANIFEST
    try:
        document = read_document(path, follow_symlinks=False,
                                 missing=f"no such file; write it with `dicomstream preview capture --out {directory}`")
    except DocumentError as error:
        raise ManifestError(str(error)) from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise ManifestError(f"{path}: kind: expected {KIND!r}, as `dicomstream preview capture` writes")
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        raise ManifestError(f"{path}: version: expected the integer {VERSION}, found {shown(version)}")
    commit = document.get("commit")
    if commit is not None and not (isinstance(commit, str) and _COMMIT.fullmatch(commit)):
        raise ManifestError(f"{path}: commit: expected a commit id, found {shown(commit)}")
    rows = document.get("stacks")
    if not isinstance(rows, list):
        raise ManifestError(f"{path}: stacks: expected a list")
    entries, seen = [], set()
    for i, row in enumerate(rows):
        where = f"{path}: stacks[{i}]"
        if not isinstance(row, dict):
            raise ManifestError(f"{where}: expected an object")
        stack, status, file = row.get("stack"), row.get("status"), row.get("file")
        problem = stack_name_problem(stack)
        if problem or not isinstance(stack, str) or stack in seen:  # (problem is set for a non-string)
            raise ManifestError(f"{where}.stack: expected a unique stack name, found {shown(stack)}"
                                + (f" ({problem})" if problem else ""))
        if file not in (f"stacks/Pulumi.{stack}.yaml", f"stacks/Pulumi.{stack}.yml"):
            raise ManifestError(f"{where}.file: expected the stack's file (stacks/Pulumi.{stack}.yaml), found {shown(file)}")
        if status not in STATUSES:
            raise ManifestError(f"{where}.status: expected one of {', '.join(STATUSES)}, found {shown(status)}")
        lines = row.get("lines") or []
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise ManifestError(f"{where}.lines: expected a list of strings")
        plan = None
        if status == "planned":
            name = row.get("plan")
            if name != plan_file_name(stack):
                raise ManifestError(f"{where}.plan: expected a plan file name in {directory} "
                                    f"({plan_file_name(stack)}), found {shown(name)}")
            try:
                plan = load_plan(directory / name, follow_symlinks=False, stack=stack)
            except PlanFileError as error:
                raise ManifestError(str(error)) from None
        seen.add(stack)
        entries.append(Entry(stack=stack, file=file, status=status, lines=list(lines), plan=plan))
    return Manifest(commit=commit or "unknown", entries=entries)


_COMMIT = re.compile(r"[0-9A-Za-z._-]{1,100}")
