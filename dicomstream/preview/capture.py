"""Plan every stack file of a checkout without the policy pack (the untrusted half of a preview).

Runs the checkout's own program on each `stacks/Pulumi.*.yaml`; no stack is left out: one that
does not plan is recorded as invalid (its validation lines) or failed (what went wrong).
"""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

from dicomstream.preview.manifest import Entry, Manifest

STACK_FILE = re.compile(r"Pulumi\.(.+)\.ya?ml")


def stack_files(stacks_dir: Path) -> dict[str, list[Path]]:
    """{stack name: its files} for every `Pulumi.NAME.yaml` (or .yml) in `stacks_dir`, by name.
    More than one file for a name (`.yaml` and `.yml`) is the caller's to report, never to pick.
    Whatever the entry is (a link, even a dangling one, a folder) it is listed: the tree has it, so
    its stack is not deleted, and reading it says what is wrong (`stack_file_problem`)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(stacks_dir.glob("Pulumi.*")):
        match = STACK_FILE.fullmatch(path.name)
        if match and (path.is_symlink() or path.exists()):
            found.setdefault(match.group(1), []).append(path)
    return found


def stack_file_problem(path: Path) -> str | None:
    """Why `path` cannot be a stack file (it must be a regular file, not a link), or None."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISLNK(mode):
        return "is a symbolic link; a stack file must be a regular file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a folder, FIFO, device or socket)"
    return None


def capture(root: Path, stacks_dir: Path, commit: str | None = None) -> Manifest:
    """Plan each stack file of `stacks_dir` with the program of `root` (its `__main__.py`)."""
    from dicomstream.core.config import ConfigError, read_stack_document
    from dicomstream.capture import PROGRAM
    from dicomstream.commands.validate import _relative
    from dicomstream.plan import plan_stack

    root = root.resolve()
    program = root / "__main__.py" if (root / "__main__.py").is_file() else PROGRAM
    entries = []
    for stack, paths in stack_files(stacks_dir).items():
        path = paths[0]
        shown = _relative(path, root)
        if len(paths) > 1:
            names = " and ".join(_relative(p, root) for p in paths)
            entries.append(Entry(stack=stack, file=shown, status="invalid",
                                 lines=[f"{names}: two files for stack {stack!r}; keep one"]))
            continue
        if stack_file_problem(path):
            entries.append(Entry(stack=stack, file=shown, status="invalid",
                                 lines=[f"{shown}: {stack_file_problem(path)}"]))
            continue
        try:
            plan = plan_stack(read_stack_document(path), stack=stack, file=shown, program=program)
        except ConfigError as error:
            lines = [line.replace(str(path), shown, 1) for line in error.lines]
            entries.append(Entry(stack=stack, file=shown, status="invalid", lines=lines))
            continue
        except Exception as exc:  # noqa: BLE001 - one broken stack must not hide the others
            entries.append(Entry(stack=stack, file=shown, status="failed",
                                 lines=[f"{shown}: the program failed: {type(exc).__name__}: {exc}"]))
            continue
        entries.append(Entry(stack=stack, file=shown, status="planned", plan=plan))
    return Manifest(commit=commit or git_commit(root), entries=entries)


def git_commit(root: Path) -> str:
    """The checkout's HEAD commit, or "unknown" outside a git repository."""
    try:
        result = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"

