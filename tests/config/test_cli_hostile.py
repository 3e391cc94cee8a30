"""The commands as a user runs them on hostile files and flag values: exit 1 or 2 with lines, never 70."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1] / "fixtures"  # the tests' own project (Pulumi.yaml, stacks/)
FIXTURES = PROJECT / "stacks"


def run(*args, cwd=PROJECT):
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=60)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode not in (0, 70), result.stderr
    return result


@pytest.fixture
def hostile(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop")
    (tmp_path / "dir").mkdir()
    return tmp_path


@pytest.mark.parametrize("name", ["fifo", "loop", "dir", "/dev/zero"])
def test_validate_special_files(hostile, name):
    path = hostile / name if not name.startswith("/") else Path(name)
    result = run("validate", "--file", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith(f"{path}: (file): ")


@pytest.mark.parametrize("option,content,expected", [
    ("--compare", '{"steps": [{"urn": ["x"], "type": "t"}]}', "steps[0].urn: expected str"),
    ("--compare", "[" * 100_000, "not a plan"),
    ("--policy-config", '{"dicom-store-stream-limit": {"enforcementLevel": []}}', "expected one of advisory"),
    ("--policy-config", "[1]", "must be a JSON object"),
])
def test_plan_files_of_the_wrong_shape_are_exit_2(tmp_path, option, content, expected):
    path = tmp_path / "file.json"
    path.write_text(content)
    result = run("plan", "--file", str(FIXTURES / "Pulumi.dev.yaml"), option, str(path))
    assert result.returncode == 2 and expected in result.stderr


def test_plan_on_a_fifo_compare_does_not_hang(hostile):
    result = run("plan", "--file", str(FIXTURES / "Pulumi.dev.yaml"), "--compare", str(hostile / "fifo"))
    assert result.returncode == 2 and "is not a regular file" in result.stderr


@pytest.mark.parametrize("args", [["validate", "--stack", "../../etc/passwd"], ["plan", "--stack", "a/b"],
                                  ["promote", "--from", "..", "--to", "dev"],
                                  ["plan", "--file", str(FIXTURES / "Pulumi.dev.yaml"), "--policy-pack", "/nonexistent"]])
def test_bad_flag_values_are_exit_2(args):
    assert run(*args).returncode == 2
