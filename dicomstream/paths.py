"""Where the project lives, and its stack files: commands work from a clone's root or anywhere
inside it, and say so in one line when there is no project or no such stack.

Outside a project there is no fallback to the installed package's folder: it holds no stacks of
the user's, and messages named site-packages paths.
"""

from __future__ import annotations

import difflib
from pathlib import Path

STACKS_DIR = "stacks"  # Pulumi.yaml's stackConfigDir in this project


class ProjectError(LookupError):
    """No Pulumi project here, or no such stack in it: a usage error (exit 2), one line."""


def project_root(start: Path | None = None) -> Path:
    """The nearest directory holding `Pulumi.yaml`, from `start` (default: cwd) upwards."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    raise ProjectError(f"not inside a Pulumi project: no Pulumi.yaml in {here} or a folder above it; "
                       "run dicomstream from a clone of the project")


def stack_names(root: Path) -> list[str]:
    """The stacks of the project: `stacks/Pulumi.NAME.yaml`, sorted."""
    directory = root / STACKS_DIR
    if not directory.is_dir():
        return []
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in directory.glob("Pulumi.*.yaml") if p.is_file())


def stack_path(name: str, root: Path) -> Path:
    """`stacks/Pulumi.NAME.yaml` of the project, or ProjectError listing the stacks there are and
    the closest name (`--stack deev`: did you mean 'dev'?). `name` is a checked stack name."""
    path = root / STACKS_DIR / f"Pulumi.{name}.yaml"
    if path.exists():
        return path
    names = stack_names(root)
    if not names:
        raise ProjectError(f"no stack {name!r}: the project has no stack files ({STACKS_DIR}/Pulumi.NAME.yaml)")
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f" Did you mean {by_lower[close[0]]!r}?" if close else ""
    listed = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    raise ProjectError(f"no stack {name!r}: {STACKS_DIR}/Pulumi.{name}.yaml does not exist.{hint} "
                       f"The stacks are {listed}.")


def policy_pack_dir(root: Path) -> Path:
    """The project's `policies/`, else the pack installed with dicomstream (`dicomstream.policies`: a
    project of stack files alone runs dicomstream's program and pack, as `plan` runs its `__main__.py`)."""
    return next((d for d in (root / "policies", installed_pack_dir()) if d is not None and d.is_dir()),
                root / "policies")


def installed_pack_dir() -> Path | None:
    """Where `dicomstream.policies` is (a checkout's policies/ in an editable install), unimported."""
    import importlib.util

    spec = importlib.util.find_spec("dicomstream.policies")
    return Path(spec.origin).parent if spec is not None and spec.origin else None
