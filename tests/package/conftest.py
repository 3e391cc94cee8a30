"""A fresh virtualenv with dicomstream pip-installed from this working copy, as a Pulumi user of
the components gets it (`pip install dicomstream`): the lean base, no CLI or sandbox extras."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.pulumi_venv import build_venv, clean_env, copy_tree, tracked_files

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Path:
    """The python of a venv holding `pip install <clone>` (not editable: what a wheel installs)."""
    base = tmp_path_factory.mktemp("installed")
    clone = base / "dicomstream"
    copy_tree(REPO, clone, tracked_files(REPO))
    empty = base / "empty"
    empty.mkdir()
    python = build_venv(empty, base / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", str(clone)],
                   cwd=base, check=True, capture_output=True, text=True, timeout=600, env=clean_env())
    return python


def site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True, env=clean_env())
    return Path(out.stdout.strip())
