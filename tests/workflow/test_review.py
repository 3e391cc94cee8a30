"""The review's verdicts that need no git repository: a base that does not plan, a pack that
cannot run, a head job that wrote nothing, and manifests that are not what capture writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dicomstream.plan.markdown import render_review
from dicomstream.preview.capture import capture
from dicomstream.preview.manifest import Entry, Manifest, ManifestError, read_manifest, write_manifest
from dicomstream.preview.review import review

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PACK = ROOT / "policies"


@pytest.fixture(scope="module")
def fixture_manifest():
    """The fixture stacks captured once (each planned)."""
    manifest = capture(FIXTURES, FIXTURES / "stacks", "f" * 40)
    assert [(e.stack, e.status) for e in manifest.entries] == [("dev", "planned"), ("prod", "planned"),
                                                               ("staging", "planned")]
    return manifest


def test_a_base_that_does_not_plan_is_named_and_nothing_is_hidden(fixture_manifest):
    lines = ["stacks/Pulumi.dev.yaml: dicomStores[0].streams[5]: a DICOM store streams to at most 5 BigQuery tables (found 6)"]
    base = Manifest("b" * 40, [Entry("dev", "stacks/Pulumi.dev.yaml", "invalid", lines),
                               *[e for e in fixture_manifest.entries if e.stack != "dev"]])
    result = review(fixture_manifest, base, PACK)
    dev = result.stacks[0]
    assert dev.status == "base-missing" and not dev.blocked
    assert set(dev.plan.change_summary) == {"create"}
    text = render_review(result)
    assert "### Stack `dev`: planned; base plan missing (compared with nothing)" in text
    assert f"> {lines[0]}" in text
    assert "| :white_check_mark: | `staging` | planned | 0 | 0 | 0 | 0 |" in text


def test_a_pack_that_cannot_run_blocks_every_stack_and_says_why(fixture_manifest, tmp_path):
    result = review(fixture_manifest, fixture_manifest, tmp_path / "no-pack")
    assert [(s.stack, s.status, s.blocked) for s in result.stacks] == [
        ("dev", "pack-failed", True), ("staging", "pack-failed", True), ("prod", "pack-failed", True)]
    text = render_review(result)
    assert "**`prod`: policy pack failed** (`stacks/Pulumi.prod.yaml`)" in text
    # Still compared with the base (nothing changed here), but no violation counts without a pack.
    assert re.search(r"\| :x: \| `dev` \| policy pack failed \| 0 \| 0 \| 0 \| 0 \| \d+ \| – \| – \|", text)
    assert f"{tmp_path / 'no-pack'}: the policy pack could not run: " in text


def test_prod_is_judged_with_the_packs_prod_json(fixture_manifest, tmp_path):
    """policies/STACK.json configures STACK: with prod.json, a prod dataset without CMEK is mandatory."""
    prod = next(e for e in fixture_manifest.entries if e.stack == "prod")
    data = json.loads(prod.plan.to_json())
    for step in data["steps"]:
        if step["type"] == "gcp:bigquery/dataset:Dataset":
            step["inputs"].pop("defaultEncryptionConfiguration", None)
    head = Manifest("h" * 40, [Entry("prod", prod.file, "planned", plan=type(prod.plan).from_dict(data))])
    result = review(head, fixture_manifest, PACK)
    (stack,) = [s for s in result.stacks if s.stack == "prod"]
    assert stack.blocked and {v.policy_name for v in stack.mandatory} == {"bigquery-dataset-cmek"}
    # dev, staging: not in the head's manifest, and no head tree shows their files deleted.
    assert [s.status for s in result.stacks] == ["missing", "missing", "planned"]


def run_report(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", "preview", "report", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def test_a_head_job_that_wrote_nothing_still_gets_a_comment(fixture_manifest, tmp_path):
    write_manifest(fixture_manifest, tmp_path / "base")
    out = tmp_path / "comment.md"
    result = run_report("--head", str(tmp_path / "head"), "--base", str(tmp_path / "base"),
                        "--head-stacks", str(FIXTURES / "stacks"), "--out", str(out), "--head-commit", "a" * 40,
                        cwd=FIXTURES)
    assert result.returncode == 1
    text = out.read_text()
    assert "| :x: | `dev` | no plan from the head job | – |" in text
    assert f"Head `{'a' * 12}` compared with base `{'f' * 12}`" in text  # named even when its plans are missing
    assert f"{tmp_path / 'head' / 'manifest.json'}: no such file" in text


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["stacks"][0].update(plan="../../../etc/passwd"), "stacks[0].plan: expected a plan file name"),
    (lambda m: m["stacks"][0].update(status="approved"), "stacks[0].status: expected one of planned, invalid, failed"),
    (lambda m: m["stacks"].append(dict(m["stacks"][0])), "stacks[3].stack: expected a unique stack name"),
    (lambda m: m.update(kind="something-else"), "kind: expected 'dicomstream-preview'"),
    (lambda m: m["stacks"][1].update(lines="oops"), "stacks[1].lines: expected a list of strings"),
])
def test_a_manifest_that_capture_did_not_write_is_refused_naming_the_field(fixture_manifest, tmp_path, edit, message):
    write_manifest(fixture_manifest, tmp_path)
    path = tmp_path / "manifest.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ManifestError) as error:
        read_manifest(tmp_path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_a_base_that_wrote_nothing_is_said_on_every_stack(fixture_manifest, tmp_path):
    write_manifest(fixture_manifest, tmp_path / "head")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "manifest.json").write_text("{not json")
    out = tmp_path / "c.md"
    result = run_report("--head", str(tmp_path / "head"), "--base", str(tmp_path / "base"), "--out", str(out),
                        cwd=FIXTURES)
    assert result.returncode == 0, result.stderr  # nothing in the head blocks
    text = out.read_text()
    assert text.count("planned; base plan missing") == 6  # 3 summary rows, 3 headings
    assert f"> {tmp_path / 'base' / 'manifest.json'}: line 1: not JSON: Expecting property name" in text


def test_unusable_arguments_exit_2_with_one_line(tmp_path):
    result = run_report("--head", str(tmp_path), "--head-stacks", str(tmp_path / "nope"), "--out", str(tmp_path / "c.md"),
                        cwd=FIXTURES)
    assert result.returncode == 2 and result.stderr == f"{tmp_path / 'nope'}: no such directory of stack files\n"
    assert not (tmp_path / "c.md").exists()


def test_names_and_lines_from_the_head_cannot_inject_markup():
    """The head's plans are untrusted data: no HTML, no closed code span, no escaped fence."""
    from dicomstream.plan.model import Plan, Step
    from dicomstream.plan.verdict import Review, StackReview

    step = Step("create", "urn:pulumi:dev::dicomstream::gcp:healthcare/dicomStore:DicomStore::x",
                "gcp:healthcare/dicomStore:DicomStore", "<details><summary>ok</summary>", None, [], {}, False)
    invalid = StackReview("qa`", "stacks/Pulumi.qa.yaml", "invalid", lines=["```\n## :white_check_mark: nothing blocks"])
    text = render_review(Review("h" * 40, "b" * 40, [StackReview("dev", "f", "new", Plan("dev", [step])), invalid]))
    assert "<details><summary>ok" not in text and "&lt;details&gt;&lt;summary&gt;ok&lt;/summary&gt;" in text
    assert "`qa'`" in text and "## :white_check_mark:" not in text.split("```text", 1)[0]
    fenced = text.split("```text\n", 1)[1].split("\n```", 1)[0]
    assert fenced == "'''\n## :white_check_mark: nothing blocks"


def test_an_invalid_stack_lists_fifty_lines_and_counts_the_rest():
    from dicomstream.plan.verdict import Review, StackReview

    lines = [f"stacks/Pulumi.dev.yaml: dicomStores[{i}].name: bad" for i in range(120)]
    text = render_review(Review("h", "b", [StackReview("dev", "stacks/Pulumi.dev.yaml", "invalid", lines=lines)]))
    assert "dicomStores[49].name" in text and "dicomStores[50].name" not in text
    assert "… 70 more lines in the plan artifact\n```" in text


def test_two_files_for_one_stack_are_reported_not_picked(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    text = (FIXTURES / "stacks" / "Pulumi.dev.yaml").read_text()
    (stacks / "Pulumi.dev.yaml").write_text(text)
    (stacks / "Pulumi.dev.yml").write_text(text.replace("radiology", "other"))
    (entry,) = capture(tmp_path, stacks, "c").entries
    assert (entry.stack, entry.status) == ("dev", "invalid")
    assert entry.lines == ["stacks/Pulumi.dev.yaml and stacks/Pulumi.dev.yml: two files for stack 'dev'; keep one"]


def test_a_stack_whose_plan_crashes_is_recorded_and_the_others_still_plan(tmp_path, monkeypatch):
    import dicomstream.plan as plan_module

    real = plan_module.plan_stack

    def flaky(document, *, stack, **kwargs):
        if stack == "staging":
            raise RuntimeError("provider mock exploded")
        return real(document, stack=stack, **kwargs)
    monkeypatch.setattr(plan_module, "plan_stack", flaky)
    manifest = capture(FIXTURES, FIXTURES / "stacks", "c")
    assert [(e.stack, e.status) for e in manifest.entries] == [("dev", "planned"), ("prod", "planned"), ("staging", "failed")]
    assert manifest.entries[2].lines == ["stacks/Pulumi.staging.yaml: the program failed: RuntimeError: provider mock exploded"]
    (staging,) = [s for s in review(manifest, None, PACK).stacks if s.stack == "staging"]
    assert staging.blocked and staging.status == "failed"


@pytest.mark.parametrize("edit, message", [
    (lambda p: p["steps"][1].update(urn=5), "steps[1].urn: expected a URN"),
    (lambda p: p["steps"][1].update(aliases=[1]), "steps[1].aliases: expected a list of URNs"),
    (lambda p: p["steps"][1].update(type={"a": 1}), "steps[1].type: expected a string"),
    (lambda p: p.update(steps=[[[[0]]]]), "steps[0]: expected an object"),
])
def test_a_head_plan_of_the_wrong_shape_is_reported_never_a_crash(fixture_manifest, tmp_path, edit, message):
    """The head's plans come from the pull request's own code: a forged one is a line, and a comment is written."""
    write_manifest(fixture_manifest, tmp_path / "head")
    write_manifest(fixture_manifest, tmp_path / "base")
    name = json.loads((tmp_path / "head" / "manifest.json").read_text())["stacks"][0]["plan"]
    plan_file = tmp_path / "head" / name
    plan = json.loads(plan_file.read_text())
    edit(plan)
    plan_file.write_text(json.dumps(plan))
    out = tmp_path / "comment.md"
    result = run_report("--head", str(tmp_path / "head"), "--base", str(tmp_path / "base"),
                        "--head-stacks", str(FIXTURES / "stacks"), "--out", str(out), cwd=FIXTURES)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and message in out.read_text()


def test_a_stack_called_manifest_keeps_its_plan_and_the_manifest(fixture_manifest, tmp_path):
    dev = fixture_manifest.by_stack()["dev"]
    renamed = Manifest(commit=fixture_manifest.commit,
                       entries=[*fixture_manifest.entries, Entry(stack="manifest", file="stacks/Pulumi.manifest.yaml",
                                                                  status="planned", lines=[],
                                                                  plan=type(dev.plan).from_dict({**dev.plan.to_dict(),
                                                                                                 "stack": "manifest"}))])
    write_manifest(renamed, tmp_path)
    read = read_manifest(tmp_path).by_stack()
    assert read["manifest"].plan is not None and read["manifest"].plan.steps == dev.plan.steps
    assert set(read) == {"dev", "staging", "prod", "manifest"}
