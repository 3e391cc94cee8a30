"""A user who installed dicomstream without an extra is told which one to install (exit 2),
never `internal error: ModuleNotFoundError` (exit 70). The missing modules are hidden from a
real `dicomstream` process by an import hook (a sitecustomize on PYTHONPATH)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dicomstream import extras

PROJECT = Path(__file__).resolve().parents[1] / "fixtures"
HIDE = '''
import os, sys
HIDDEN = set(os.environ["HIDE_MODULES"].split(","))
class Hide:
    def find_spec(self, name, path=None, target=None):
        if any(name == h or name.startswith(h + ".") for h in HIDDEN):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Hide())
'''


@pytest.fixture
def without(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(HIDE)

    def run(modules: str, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(tmp_path), "HIDE_MODULES": modules}
        exe = Path(sys.executable).with_name("dicomstream")
        return subprocess.run([str(exe), *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)

    return run


@pytest.mark.parametrize("args", [["demo"], ["sandbox", "up", "--ephemeral"]], ids=" ".join)
def test_the_sandbox_commands_without_the_sandbox_extra(without, args):
    result = without("duckdb,bqemulator", *args)
    assert result.returncode == 2, result.stderr
    assert "needs the 'sandbox' extra" in result.stderr and "pip install 'dicomstream[sandbox]'" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_the_console_script_without_its_own_dependencies(without):
    result = without("typer", "validate", "--stack", "dev")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("dicomstream: ") and "typer" in line and "pip install" in line


def test_a_module_missing_mid_command_is_named_too(without):
    """Any command that reaches a missing module (here the demo's BigQuery client) says which extra."""
    result = without("google.cloud.bigquery", "demo")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "pip install 'dicomstream[" in result.stderr or "pip install dicomstream" in result.stderr


def test_the_extra_follows_the_package_metadata(monkeypatch):
    monkeypatch.setattr(extras.importlib.metadata, "requires", lambda name: [
        "pulumi==3.272.0", "typer==0.29.2; extra == \"cli\"", "duckdb==1.5.5; extra == 'sandbox'"])
    assert "pip install 'dicomstream[cli]'" in extras.explain(ModuleNotFoundError("x", name="typer"))
    assert "pip install 'dicomstream[sandbox]'" in extras.explain(ModuleNotFoundError("x", name="duckdb"))
    assert "reinstall with `pip install dicomstream`" in extras.explain(ModuleNotFoundError("x", name="pulumi"))
    assert extras.explain(ModuleNotFoundError("x", name="not_ours")) is None


def test_without_metadata_the_defaults_name_the_extras(monkeypatch):
    def absent(name):
        raise extras.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(extras.importlib.metadata, "requires", absent)
    assert "pip install 'dicomstream[cli]'" in extras.explain(ModuleNotFoundError("x", name="rich.console"))
    assert "pip install 'dicomstream[sandbox]'" in extras.explain(ModuleNotFoundError("x", name="bqemulator"))
