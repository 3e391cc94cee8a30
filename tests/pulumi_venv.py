"""Virtualenvs built the way Pulumi's pip toolchain builds them.

`pulumi install` (and the first `pulumi up` of a fresh clone) runs, for `toolchain: pip` with a
`virtualenv` option: `python3 -m venv DIR`, then `DIR/bin/python -m pip install --upgrade pip
setuptools wheel`, then `DIR/bin/python -m pip install -r requirements.txt` in the project (or
policy pack) directory, and nothing else (pulumi/pulumi sdk/python/toolchain/pip.go). The tests
use these helpers to prove that a project or a pack runs from exactly that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Mapping


def build_venv(project_dir: Path, venv: Path, *, python: str = sys.executable, timeout: float = 600) -> Path:
    """Create `venv` and install `project_dir/requirements.txt` as Pulumi does; returns its python.

    `--no-compile` only skips writing .pyc files at install time (Python compiles on import),
    which halves the time of a pulumi-gcp install on a small machine.
    """
    run = lambda *args: subprocess.run(args, cwd=project_dir, check=True, capture_output=True,  # noqa: E731
                                       text=True, timeout=timeout, env=clean_env())
    run(python, "-m", "venv", str(venv))
    venv_python = str(venv / "bin" / "python")
    run(venv_python, "-m", "pip", "install", "--quiet", "--no-compile", "--upgrade", "pip", "setuptools", "wheel")
    if (project_dir / "requirements.txt").is_file():
        run(venv_python, "-m", "pip", "install", "--quiet", "--no-compile", "-r", "requirements.txt")
    return venv / "bin" / "python"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process that must not see this one's Python (no PYTHONPATH, no venv)."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PULUMI_CONFIG", "DICOMSTREAM_"))}
    return {**keep, **(extra or {})}


def copy_tree(source: Path, target: Path, files: Iterable[str]) -> None:
    """Copy the given relative paths from `source` to `target`."""
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, destination)


def tracked_files(repo: Path) -> list[str]:
    """What a clone holds: files git tracks, plus new ones not ignored (a working copy under test)."""
    result = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=repo, check=True, capture_output=True, text=True)
    return [name for name in result.stdout.split("\0") if name and (repo / name).is_file()]
