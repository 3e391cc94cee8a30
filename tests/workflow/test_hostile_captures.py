"""`preview report` treats the head's capture as hostile: issue 21's forged captures.

The head's manifest and plans are written by the pull request's own code. Each forgery below
once gave exit 0 ("nothing blocks"), exit 70, a hang, gigabytes of memory or a forged workflow
command; each must now give a refusal line or a blocking verdict, exit 1 or 2, in bounded time
and memory: every run is a process of its own with a time-out and an address-space cap.

The cap is set by the child itself (`dicomstream.spawn.launched`), not by `preexec_fn`: this
process may hold a gRPC channel (another test's pack), and a fork() under it could abort the
child with SIGABRT ("epoll_wait error: Bad file descriptor") before the report even started.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dicomstream.preview.capture import capture
from dicomstream.preview.manifest import write_manifest
from dicomstream.spawn import launched

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MEMORY_CAP = 2 * 1024**3  # address space of the report process and the pack it starts
TIME_CAP = 120
HUGE = "a 5,000-digit integer"  # written into the JSON text as such (Python refuses to build it)


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    """The fixture stacks captured once; each test gets its own copies (head and base)."""
    directory = tmp_path_factory.mktemp("capture")
    write_manifest(capture(FIXTURES, FIXTURES / "stacks", "f" * 40), directory)
    return directory


@pytest.fixture
def sides(captured, tmp_path):
    head, base = tmp_path / "head", tmp_path / "base"
    shutil.copytree(captured, head)
    shutil.copytree(captured, base)
    return head, base


def _capped(*args: str) -> list[str]:
    """`dicomstream preview report ARGS` under the time and memory caps."""
    return launched([sys.executable, "-m", "dicomstream.cli", "preview", "report", *args], address_space=MEMORY_CAP)


def report(head: Path, base: Path, *extra: str) -> tuple[subprocess.CompletedProcess, str]:
    out = head.parent / "comment.md"
    env = {**os.environ, "GITHUB_ACTIONS": "true"}  # as in the review job: annotations on
    result = subprocess.run(
        _capped("--head", str(head), "--base", str(base), "--head-stacks", str(FIXTURES / "stacks"), "--out", str(out),
                *extra),
        cwd=FIXTURES, capture_output=True, text=True, timeout=TIME_CAP, env=env)
    comment = out.read_text() if out.exists() else ""
    logs = result.stdout + result.stderr
    assert "Traceback" not in logs and result.returncode in (1, 2), (result.returncode, logs[-2000:])
    for line in (logs + "\n" + comment).splitlines():
        if line.lstrip().startswith("::"):  # only our own annotations, on a valid stack file
            assert line.startswith("::error file=stacks/Pulumi."), line
    return result, comment


def _manifest(head: Path) -> dict:
    return json.loads((head / "manifest.json").read_text())


def _write_manifest(head: Path, document: dict) -> None:
    (head / "manifest.json").write_text(json.dumps(document))


def _plan(head: Path, stack: str = "dev") -> dict:
    return json.loads((head / f"{stack}.plan.json").read_text())


def _write_plan(head: Path, plan: dict, stack: str = "dev") -> None:
    (head / f"{stack}.plan.json").write_text(json.dumps(plan))


def _refused(result, comment, *words: str) -> None:
    text = result.stdout + result.stderr + comment
    assert all(word in text for word in words), text[-3000:]


def test_an_honest_capture_is_judged_normally(sides):
    """The control case: the same harness on an untouched capture, so the cap is not what fails."""
    head, base = sides
    out = head.parent / "comment.md"
    result = subprocess.run(
        _capped("--head", str(head), "--base", str(base), "--head-stacks", str(FIXTURES / "stacks"), "--out", str(out)),
        cwd=FIXTURES, capture_output=True, text=True, timeout=TIME_CAP)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ":white_check_mark: nothing blocks" in out.read_text()


@pytest.mark.parametrize("name", ["dev\n", "..", "DEV", "dev\u200b", "dev ", "Dev", "d" * 100_000, "", "dev\x00",
                                  "../dev", "\uff44\uff45\uff56", "dev\r", "dev.yaml"])
def test_a_stack_renamed_in_the_head_manifest_is_refused(sides, name):
    """A destructive change to dev, filed under another spelling of its name, once showed as "dev:
    stack file deleted" (never blocks) plus a new stack: exit 0."""
    head, base = sides
    plan = _plan(head)
    plan["steps"] = [s for s in plan["steps"] if s["type"] != "gcp:healthcare/dicomStore:DicomStore"]
    plan["stack"] = name
    _write_plan(head, plan)
    document = _manifest(head)
    row = next(r for r in document["stacks"] if r["stack"] == "dev")
    row["stack"] = name
    _write_manifest(head, document)
    result, comment = report(head, base)
    assert result.returncode == 1
    _refused(result, comment, "stacks[0].stack: expected a unique stack name", "is not a stack name")
    assert "| :x: | `dev` | no plan from the head job |" in comment


def test_a_base_stack_the_head_manifest_drops_is_deleted_only_if_its_file_is_gone(sides):
    head, base = sides
    document = _manifest(head)
    document["stacks"] = [r for r in document["stacks"] if r["stack"] != "dev"]
    _write_manifest(head, document)
    result, comment = report(head, base)
    assert result.returncode == 1 and "| :x: | `dev` | no plan from the head job |" in comment


def test_a_head_file_with_a_name_outside_the_rule_is_invalid(sides, tmp_path):
    head, base = sides
    stacks = tmp_path / "stacks"
    shutil.copytree(FIXTURES / "stacks", stacks)
    (stacks / "Pulumi.dev.yaml").rename(stacks / "Pulumi.DEV.yaml")
    out = tmp_path / "comment.md"
    result = subprocess.run(
        _capped("--head", str(head), "--base", str(base), "--head-stacks", str(stacks), "--out", str(out)),
        cwd=FIXTURES, capture_output=True, text=True, timeout=TIME_CAP)
    assert result.returncode == 1
    assert "stacks/Pulumi.DEV.yaml: 'DEV' is not a stack name" in out.read_text()


@pytest.mark.parametrize("target", ["base-plan", "dev-zero", "outside"])
def test_a_plan_or_manifest_that_is_a_symbolic_link_is_refused(sides, target):
    """A head plan linked to the base's (non-destructive) plan once replaced the destructive one."""
    head, base = sides
    if target == "base-plan":
        (head / "dev.plan.json").unlink()
        (head / "dev.plan.json").symlink_to(base / "dev.plan.json")
        words = ["dev.plan.json: is a symbolic link"]
    elif target == "dev-zero":
        (head / "manifest.json").unlink()
        (head / "manifest.json").symlink_to("/dev/zero")
        words = ["manifest.json: is a symbolic link"]
    else:
        (head / "prod.plan.json").unlink()
        (head / "prod.plan.json").symlink_to(base.parent / "elsewhere.json")
        words = ["prod.plan.json: is a symbolic link"]
    result, comment = report(head, base)
    assert result.returncode == 1
    _refused(result, comment, *words)


@pytest.mark.parametrize("which", ["manifest.json", "dev.plan.json"])
def test_a_fifo_is_refused_without_waiting(sides, which):
    head, base = sides
    (head / which).unlink()
    os.mkfifo(head / which)
    result, comment = report(head, base)
    _refused(result, comment, f"{which}: is not a regular file")


def test_dev_zero_given_as_the_head_directory_contents_is_refused(sides, tmp_path):
    """/dev/zero itself (a character device) where the manifest should be: refused at once."""
    head, base = sides
    fake = tmp_path / "device"
    fake.mkdir()
    (fake / "manifest.json").symlink_to("/dev/zero")
    result, comment = report(fake, base)
    _refused(result, comment, "manifest.json: is a symbolic link")


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("where, depth", [("manifest", 100_000), ("plan", 100_000), ("inputs", 900), ("inputs", 200)])
def test_deep_json_is_refused(sides, where, depth):
    head, base = sides
    if where == "manifest":
        text = (head / "manifest.json").read_text()
        (head / "manifest.json").write_text(text[:-2] + f', "x": {_deep(depth)}}}')
        name = "manifest.json"
    else:
        plan = _plan(head)
        plan["steps"][1]["inputs"]["deep"] = "DEEP"
        text = json.dumps(plan).replace('"DEEP"', _deep(depth)) if where == "inputs" else \
            json.dumps(plan)[:-1] + f', "x": {_deep(depth)}}}'
        (head / "dev.plan.json").write_text(text)
        name = "dev.plan.json"
    result, comment = report(head, base)
    assert result.returncode == 1
    _refused(result, comment, f"{name}: nested more than 32 levels deep")


@pytest.mark.parametrize("edit, words", [
    (lambda m, p: m.update(version=HUGE), ["manifest.json: not usable JSON: a number of 5000 digits"]),
    (lambda m, p: p["steps"][1].update(protect=HUGE), ["dev.plan.json: not usable JSON: a number of 5000"]),
    (lambda m, p: m.update(version=1.0), ["version: expected the integer 1"]),
    (lambda m, p: m.update(version=True), ["version: expected the integer 1"]),
    (lambda m, p: p["steps"][1].update(propertyDependencies={"a": [1, 2]}),
     ["steps[1].propertyDependencies: expected an object of lists of URNs"]),
    (lambda m, p: p["steps"][1].update(propertyDependencies=["urn:pulumi:x"]),
     ["steps[1].propertyDependencies: expected an object of lists of URNs"]),
    (lambda m, p: p["steps"][1].update(op="approve"), ["steps[1].op: expected one of create, update"]),
    (lambda m, p: p["steps"][1].update(dependencies=["not-a-urn"]), ["steps[1].dependencies: expected a list of URNs"]),
    (lambda m, p: p["steps"][1].update(name="n" * 100_000, parent=5), ["steps[1].parent: expected a URN"]),
    (lambda m, p: p["policyViolations"].append({"message": ["x"]}), ["policyViolations[0].message: expected a string"]),
])
def test_every_field_is_shape_checked(sides, edit, words):
    head, base = sides
    document, plan = _manifest(head), _plan(head)
    edit(document, plan)
    for path, value in ((head / "manifest.json", document), (head / "dev.plan.json", plan)):
        path.write_text(json.dumps(value).replace(json.dumps(HUGE), "9" * 5000))
    result, comment = report(head, base)
    assert result.returncode == 1
    _refused(result, comment, *words)


@pytest.mark.parametrize("field, value", [
    ("file", "stacks/Pulumi.dev.yaml\n::warning title=Security review::Approved"),
    ("file", "::stop-commands::x/Pulumi.dev.yaml"),
    ("lines", ["ok", "\n::warning title=Security review::Approved", "::stop-commands::token"]),
])
def test_nothing_from_the_head_starts_a_workflow_command(sides, field, value):
    """The review job holds `pull-requests: write`; a forged `::warning::` or `::stop-commands::`
    in its log once came from the manifest's `file`. report() checks every log and comment line."""
    head, base = sides
    document = _manifest(head)
    row = next(r for r in document["stacks"] if r["stack"] == "dev")
    if field == "lines":
        row.update(status="invalid", lines=value)
        row.pop("plan")
    else:
        row["file"] = value
    _write_manifest(head, document)
    result, comment = report(head, base)
    assert result.returncode == 1
    if field == "file":
        _refused(result, comment, "stacks[0].file: expected the stack's file")
    else:
        assert "\\::stop-commands::token" in comment


def test_a_grant_marked_delete_in_the_head_is_judged_and_shown_as_what_it_is(sides):
    """The pack once skipped `op: "delete"` steps: a head step granting allUsers, marked delete,
    was not judged and showed as a create."""
    head, base = sides
    plan = _plan(head)
    dataset = next(s for s in plan["steps"] if s["type"] == "gcp:bigquery/dataset:Dataset")
    plan["steps"].append({
        "op": "delete", "urn": dataset["urn"] + "-public", "type": "gcp:bigquery/datasetIamMember:DatasetIamMember",
        "name": "everyone", "parent": dataset["parent"], "dependencies": [], "protect": False,
        "inputs": {"datasetId": "dicom_metadata", "project": "acme-imaging-dev", "role": "roles/bigquery.dataViewer",
                   "member": "allUsers"}})
    _write_plan(head, plan)
    result, comment = report(head, base)
    assert result.returncode == 1
    assert "| `dev` | `bigquery-dataset-not-public` | `gcp:bigquery:DatasetIamMember` everyone |" in comment
    assert "| `+` | create | `gcp:bigquery:DatasetIamMember` | everyone |" in comment


@pytest.mark.parametrize("entry", ["dangling link", "link", "folder"])
def test_a_head_stack_file_that_is_no_regular_file_is_invalid_not_deleted(sides, tmp_path, entry):
    """The head's manifest drops dev and its tree holds `Pulumi.dev.yaml` as a dangling link:
    the tree was read with is_file(), so the stack looked deleted (never blocks), exit 0."""
    head, base = sides
    stacks = tmp_path / "stacks"
    shutil.copytree(FIXTURES / "stacks", stacks)
    (stacks / "Pulumi.dev.yaml").unlink()
    if entry == "dangling link":
        (stacks / "Pulumi.dev.yaml").symlink_to(tmp_path / "nowhere.yaml")
    elif entry == "link":
        (stacks / "Pulumi.dev.yaml").symlink_to(FIXTURES / "stacks" / "Pulumi.dev.yaml")
    else:
        (stacks / "Pulumi.dev.yaml").mkdir()
    document = _manifest(head)
    document["stacks"] = [r for r in document["stacks"] if r["stack"] != "dev"]
    _write_manifest(head, document)
    out = tmp_path / "comment.md"
    result = subprocess.run(
        _capped("--head", str(head), "--base", str(base), "--head-stacks", str(stacks), "--out", str(out)),
        cwd=FIXTURES, capture_output=True, text=True, timeout=TIME_CAP)
    assert result.returncode == 1, result.stdout + result.stderr
    comment = out.read_text()
    assert "stack file deleted" not in comment
    reason = "is a symbolic link" if "link" in entry else "is not a regular file"
    assert f"stacks/Pulumi.dev.yaml: {reason}" in comment
