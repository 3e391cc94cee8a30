"""`dicomstream validate` as a user runs it: exit codes, lines, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"  # the tests' own Pulumi.yaml + stacks/, never the live stacks/


def run(*args, cwd=FIXTURES):
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", "validate", *args],
                            cwd=cwd, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_is_valid(stack):
    result = run("--stack", stack)
    assert result.returncode == 0
    assert result.stdout.startswith(f"stacks/Pulumi.{stack}.yaml: valid: ")


def test_broken_copy_names_every_broken_field(tmp_path):
    text = (FIXTURES / "stacks" / "Pulumi.dev.yaml").read_text()
    text = (text.replace("dataset: imaging", "dataset: imaging/x")
                .replace("dicom_metadata.radiology_instances", "dicom_metadata.radiology-instances")
                .replace("- name: cardiology", "- name: radiology")
                .replace("location: US", "location: US\n        lables: {}"))
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text(text)
    result = run("--file", str(broken))
    assert result.returncode == 1
    paths = [line.split(": ")[1] for line in result.stderr.splitlines()[:-1]]
    assert paths == ["healthcare.dataset", "bigquery.datasets[0].lables", "dicomStores[0].streams[1]",
                     "dicomStores[1].name"]
    assert result.stderr.splitlines()[-1] == f"{broken}: 4 problems found"


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe", b"config: [", b"42", b"config:\n  x: !!python/object:os.system ls\n"])
def test_garbage_is_a_clean_error(tmp_path, content):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_bytes(content)
    result = run("--file", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}: ")


def test_missing_stack_and_usage_errors():
    assert run("--stack", "nosuch").returncode == 2  # as for every command (tests/cli/test_project_and_stacks.py)
    assert run().returncode == 2
    assert run("--stack", "dev", "--all").returncode == 2


def test_json_output():
    import json

    result = run("--all", "--json")
    assert result.returncode == 0
    assert {r["file"] for r in json.loads(result.stdout)} == {f"stacks/Pulumi.{s}.yaml" for s in ("dev", "staging", "prod")}
