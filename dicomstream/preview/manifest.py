"""The preview manifest: one checkout's stacks and what planning each of them gave.

    {"kind": "dicomstream-preview", "version": 1, "commit": SHA,
     "stacks": [{"stack", "file", "status": planned|invalid|failed, "plan": "dev.plan.json", "lines": [...]}]}

It is data passed between jobs (an artifact), so reading it checks its shape and names the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        plan_file = f"{entry.stack}.plan.json" if entry.plan is not None else None
        if plan_file:
            (out / plan_file).write_text(entry.plan.to_json(), encoding="utf-8")
        rows.append(entry.to_dict(plan_file))
    document = {"kind": KIND, "version": VERSION, "commit": manifest.commit, "stacks": rows}
    (out / MANIFEST).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def read_manifest(directory: Path) -> Manifest:
    """The manifest in `directory` with its plans loaded; ManifestError naming file and field."""
    path = directory / MANIFEST
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file; write it with `dicomstream preview capture --out {directory}`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise ManifestError(f"{path}: kind: expected {KIND!r}, as `dicomstream preview capture` writes")
    if document.get("version") != VERSION:
        raise ManifestError(f"{path}: version: expected {VERSION}, found {document.get('version')!r}")
    rows = document.get("stacks")
    if not isinstance(rows, list):
        raise ManifestError(f"{path}: stacks: expected a list")
    entries, seen = [], set()
    for i, row in enumerate(rows):
        where = f"{path}: stacks[{i}]"
        if not isinstance(row, dict):
            raise ManifestError(f"{where}: expected an object")
        stack, status = row.get("stack"), row.get("status")
        if not isinstance(stack, str) or not stack or "/" in stack or stack in seen:
            raise ManifestError(f"{where}.stack: expected a unique stack name, found {stack!r}")
        if status not in STATUSES:
            raise ManifestError(f"{where}.status: expected one of {', '.join(STATUSES)}, found {status!r}")
        lines = row.get("lines") or []
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise ManifestError(f"{where}.lines: expected a list of strings")
        plan = None
        if status == "planned":
            name = row.get("plan")
            if not isinstance(name, str) or Path(name).name != name:
                raise ManifestError(f"{where}.plan: expected a plan file name in {directory}, found {name!r}")
            try:
                plan = load_plan(directory / name)
            except PlanFileError as error:
                raise ManifestError(str(error)) from None
        seen.add(stack)
        entries.append(Entry(stack=stack, file=str(row.get("file") or f"stacks/Pulumi.{stack}.yaml"),
                             status=status, lines=list(lines), plan=plan))
    return Manifest(commit=str(document.get("commit") or "unknown"), entries=entries)
