"""The preview job's steps (preview.sh capture on the head, review on the base) on real pull requests
in temporary git repositories: the job's outcome and the comment a reviewer reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from preview_repo import ProjectRepo

from dicomstream.plan.markdown import LIMIT


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} has no {old!r}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return ProjectRepo(tmp_path_factory.mktemp("preview"))


def test_an_ordinary_change_passes_and_its_comment_shows_the_change(repo):
    def change(root):
        edit(root / "stacks" / "Pulumi.dev.yaml", "        - dicom_metadata.radiology_instances",
             "        - dicom_metadata.radiology_instances\n        - dicom_metadata.radiology_extra")
    job = repo.open_pull_request(change)
    assert job.returncode == 0, job.output
    assert [(s["stack"], s["status"], s["blocked"]) for s in job.verdict["stacks"]] == [
        ("dev", "planned", False), ("staging", "planned", False), ("prod", "planned", False)]
    text = job.comment
    assert text.startswith("<!-- dicomstream-plan -->\n## dicomstream plan: :white_check_mark: nothing blocks")
    assert f"Head `{job.head_sha[:12]}` compared with base `{job.base_sha[:12]}`" in text
    # The store's streams are ours (every option Google offers), updated in place; the store is not touched.
    # (The live dev stack streams four tables from radiology, so the new one shifts the later ones.)
    row = next(line for line in text.splitlines()
               if line.startswith("| `~` | update | `pulumi-python:dynamic/dicomstream:DicomStoreStreams` | imaging-radiology-streams |"))
    assert "`bq://acme-imaging-dev.dicom_metadata.radiology_extra`" in row
    assert "`gcp:healthcare:DicomStore` | imaging-radiology |" not in text
    assert "| :white_check_mark: | `dev` | planned | 0 | 1 | 0 | 0 |" in text
    # Advisory violations the base already had fold away; nothing is new.
    assert "<details><summary>7 unchanged advisory policy violations</summary>" in text
    assert "New advisory" not in text and "### Blocking findings" not in text


def test_a_sixth_stream_fails_and_the_comment_names_the_stack_and_the_limit(repo):
    def change(root):
        edit(root / "stacks" / "Pulumi.dev.yaml", "        - dicom_metadata.radiology_instances",
             "        - dicom_metadata.radiology_instances" + "".join(f"\n        - dicom_metadata.t{i}" for i in range(4)))
    job = repo.open_pull_request(change)
    assert job.returncode == 1
    assert job.stack("dev")["status"] == "invalid" and job.stack("staging")["status"] == "planned"
    text = job.comment
    assert "## dicomstream plan: :x: blocked" in text
    assert "| :x: | `dev` | invalid | – |" in text
    assert ("**`dev`: invalid** (`stacks/Pulumi.dev.yaml`)\n\n```text\nstacks/Pulumi.dev.yaml: dicomStores[0].streams[5]: "
            "a DICOM store streams to at most 5 BigQuery tables (found 6)\n```") in text
    # An annotation on the stack file, in the pull request's diff.
    assert ("::error file=stacks/Pulumi.dev.yaml,title=dev%3A invalid::stacks/Pulumi.dev.yaml: dicomStores[0].streams[5]: "
            "a DICOM store streams to at most 5 BigQuery tables (found 6)") in job.output
    # The other stacks are still there, planned.
    assert "### Stack `staging`: planned" in text and "### Stack `prod`: planned" in text


def test_a_store_rename_destroys_data_and_fails_unless_the_override_is_given(repo):
    def change(root):
        edit(root / "stacks" / "Pulumi.dev.yaml", "- name: cardiology", "- name: cardio")
    job = repo.open_pull_request(change)
    assert job.returncode == 1 and job.stack("dev")["destructive"] == 1
    text = job.comment
    line = "> - `dev`: **delete** `gcp:healthcare:DicomStore` imaging-cardiology (destroys the DICOM instances it holds)"
    assert line in text
    assert text.index(line) < text.index("### Stack `dev`")  # before any stack's details
    assert "the `allow-destroy` label" in text

    allowed = repo.review(job.head_sha, allow_destroy=True)  # the label added: the review runs again
    assert allowed.returncode == 0, allowed.output
    assert "imaging-cardiology (destroys the DICOM instances it holds; accepted by the `allow-destroy` label)" in allowed.comment


def test_deleting_a_protected_store_fails_even_with_the_override(repo):
    def change(root):
        path = root / "stacks" / "Pulumi.prod.yaml"
        text = path.read_text()
        start = text.index("    - name: cardiology")
        end = text.index("  dicomstream:alerts:")
        path.write_text(text[:start] + text[end:])
    job = repo.open_pull_request(change, allow_destroy=True)
    assert job.returncode == 1 and job.stack("prod")["blocked"]
    assert ("> - `prod`: **delete** `gcp:healthcare:DicomStore` imaging-cardiology (destroys the DICOM instances it holds; "
            "protected: `pulumi up` refuses it; unprotect it first)") in job.comment


def test_a_change_in_the_core_model_touches_every_stack(repo):
    def change(root):
        edit(root / "dicomstream" / "core" / "labels.py", '"managed-by": MANAGED_BY}', '"managed-by": MANAGED_BY, "cost-center": "imaging"}')
    job = repo.open_pull_request(change)
    assert job.returncode == 0, job.output
    for stack in ("dev", "staging", "prod"):
        assert job.stack(stack)["changes"].get("update", 0) >= 3, job.stack(stack)
    assert "`labels.cost-center`: (none) → `imaging`" in job.comment


def test_a_stack_added_and_one_deleted_are_both_shown(repo):
    def change(root):
        stacks = root / "stacks"
        text = (stacks / "Pulumi.dev.yaml").read_text().replace("acme-imaging-dev", "acme-imaging-qa")
        (stacks / "Pulumi.qa.yaml").write_text(text.replace("environment: dev", "environment: qa"))
        (stacks / "Pulumi.staging.yaml").unlink()
    job = repo.open_pull_request(change)
    assert job.returncode == 0, job.output
    assert [(s["stack"], s["status"]) for s in job.verdict["stacks"]] == [
        ("dev", "planned"), ("staging", "deleted"), ("prod", "planned"), ("qa", "new")]
    text = job.comment
    assert "| :warning: | `staging` | stack file deleted | – |" in text
    assert "> stacks/Pulumi.staging.yaml is deleted: the deploy workflow stops updating this stack" in text
    assert re.search(r"\| :white_check_mark: \| `qa` \| new stack \| \d+ \| 0 \| 0 \| 0 \| 0 \|", text)


def test_a_thousand_stores_keep_the_dataset_delete_and_stay_under_the_limit(tmp_path):
    """1,000 stores and their Healthcare dataset go (deletes come last in a plan): the comment stays
    under GitHub's limit and still shows the dataset's delete first. Only the base has 1,000 stores,
    so the slow plan runs once."""
    from bench.stacks import stack_config

    repo = ProjectRepo(tmp_path, stacks={"Pulumi.big.yaml": yaml.safe_dump({"config": stack_config(1000)})})

    def change(root):
        config = stack_config(1)
        config["dicomstream:healthcare"]["dataset"] = "imaging2"
        (root / "stacks" / "Pulumi.big.yaml").write_text(yaml.safe_dump({"config": config}))
    job = repo.open_pull_request(change, allow_destroy=True)
    assert job.returncode == 0, job.output  # the override accepts it: nothing here is protected
    big = job.stack("big")
    assert big["changes"]["delete"] >= 1001 and big["destructive"] >= 1001
    text = job.comment
    assert len(text) <= LIMIT
    assert re.search(r"\| :warning: \| `big` \| planned \| \d+ \| \d+ \| \d+ \| \d{4} \|", text)
    dataset = ("> - `big`: **delete** `gcp:healthcare:Dataset` imaging (destroys the DICOM instances it holds; "
               "accepted by the `allow-destroy` label)")
    assert dataset in text and text.index(dataset) < text.index("store-0000")
    assert re.search(r"\d{4} destructive steps; the first 50 below, \d+ more in \[the `preview-plans` artifact\]", text)
    assert "the full plan of `big` is in [the `preview-plans` artifact](https://github.com/acme/imaging/actions/runs/1)" in text
