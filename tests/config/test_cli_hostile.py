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
                            text=True, timeout=600)
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
    ("--compare", '{"steps": [{"op": "create", "urn": ["x"], "type": "t"}]}', "steps[0].urn: expected a URN"),
    ("--compare", '{"steps": [{"urn": "urn:pulumi:x", "type": "t"}]}', "steps[0].op: expected one of create"),
    ("--compare", "[" * 100_000, "nested more than 32 levels deep"),
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


@pytest.mark.parametrize("args,named", [
    (["drift", "--stack", "dev", "--retry-deadline", "nan"], "--retry-deadline"),
    (["drift", "--stack", "dev", "--retry-deadline", "inf"], "--retry-deadline"),
    (["reconcile", "--stack", "dev", "--retry-deadline", "0"], "--retry-deadline"),
    (["reconcile", "--stack", "dev", "--iam-wait", "nan"], "--iam-wait"),
    (["reconcile", "--stack", "dev", "--iam-wait", "-1"], "--iam-wait"),
    (["reconcile", "--stack", "dev", "--max-delete-share", "nan"], "--max-delete-share"),
    (["sandbox", "up", "--ephemeral", "--port-healthcare", "70000"], "--port-healthcare"),
    (["sandbox", "up", "--ephemeral", "--port-bigquery", "-1"], "--port-bigquery"),
    (["sandbox", "logs", "--tail", "-3"], "--tail"),
])
def test_numbers_out_of_range_are_refused_before_anything_runs(tmp_path, args, named):
    """`nan` and `inf` parse as floats and slip past `x <= 0`; a port over 65535 failed inside the
    sandbox's background process. Each is a usage error naming the option, with no credentials,
    sandbox or network involved."""
    if args[0] == "sandbox":
        args = [*args, "--dir", str(tmp_path / "sandbox")]
    result = run(*args)
    assert result.returncode == 2 and named in result.stderr, result.stderr
    assert "credentials" not in result.stderr and not (tmp_path / "sandbox" / "sandbox.json").exists()


@pytest.mark.parametrize("endpoint", ["notaurl", "ftp://x", "http://[::1", "http://127.0.0.1:99999",
                                      "http://user:hunter2@127.0.0.1:99999", "http://"])
@pytest.mark.parametrize("command", ["drift", "reconcile"])
def test_an_endpoint_that_is_not_a_url_is_a_configuration_error(command, endpoint):
    """It was exit 4 ("cannot read") with a requests exception name; it is the operator's setting."""
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", command, "--stack", "dev",
                             "--bigquery-endpoint", "http://127.0.0.1:1"],
                            cwd=PROJECT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "DICOMSTREAM_HEALTHCARE_ENDPOINT": endpoint})
    assert result.returncode == 2, result.stderr
    (line,) = errors(result.stderr)
    assert line.startswith(f"dicomstream {command}: DICOMSTREAM_HEALTHCARE_ENDPOINT: ")
    assert "hunter2" not in line


@pytest.mark.parametrize("flag, endpoint", [
    ("--healthcare-endpoint", "http://127.0.0.1:8080/v1"), ("--healthcare-endpoint", "http://127.0.0.1:8080/v1/"),
    ("--bigquery-endpoint", "http://127.0.0.1:9050/bigquery/v2"), ("--healthcare-endpoint", "http://127.0.0.1:1/?alt=json"),
])
@pytest.mark.parametrize("command", ["drift", "reconcile"])
def test_an_endpoint_with_a_path_is_refused_naming_the_flag(command, flag, endpoint):
    """The clients add /v1/projects/...: with /v1 in the base, every call hit /v1/v1/... and drift said
    the dataset does not exist, reconcile to create every store with `pulumi up`."""
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", command, "--stack", "dev", flag, endpoint],
                            cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr
    (line,) = errors(result.stderr)
    assert line.startswith(f"dicomstream {command}: {flag}: {endpoint!r} has a path") and "give the base URL alone" in line


def errors(output: str) -> list[str]:
    """The lines of `output` that are not the stack's own warnings (the fixture dev stack shares a
    table between stores without includeSourceStore, which every command says)."""
    return [line for line in output.splitlines() if ": warning: " not in line]
