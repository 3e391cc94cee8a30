"""Stable URNs: a logical name depends on the resource alone, and 0.1.0 stacks update in place."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.iam import grants, iam_problems
from dicomstream.plan import compare_plans, load_plan, plan_stack

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
STACKS = ["dev", "staging", "prod"]
DELAY = "pulumi-python:dynamic:Resource"  # holds nothing: replaced (to wait again) when a grant is added


def document(stack: str) -> dict:
    return yaml.safe_load((FIXTURES / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def plan(doc: dict, stack: str = "dev"):
    return plan_stack(doc, stack=stack, file=f"Pulumi.{stack}.yaml")


@pytest.fixture(scope="module")
def dev_plan():
    return plan(document("dev"))


def add_dataset_sharing_an_id(doc):
    doc["dicomstream:bigquery"]["datasets"].append(
        {"id": "dicom_metadata", "project": "acme-analytics-dev", "location": "US"})
    for store in doc["dicomstream:dicomStores"]:  # DATASET.TABLE is ambiguous now: the same tables, spelt out
        store["streams"] = [s if s.count(".") == 2 else f"acme-imaging-dev.{s}" for s in store["streams"]]


def add_store(doc):
    doc["dicomstream:dicomStores"].insert(0, {"name": "mammography", "streams": ["dicom_metadata.mammo"]})


def add_stream_to_a_new_dataset(doc):
    add_dataset_sharing_an_id(doc)
    doc["dicomstream:dicomStores"][1]["streams"].append("acme-analytics-dev.dicom_metadata.cardiology")


def add_alert_channel(doc):
    doc["dicomstream:alerts"] = {"notificationChannels": ["projects/acme-imaging-dev/notificationChannels/oncall"]}


def add_staging_bucket(doc):
    doc["dicomstream:stagingBucket"] = "acme-imaging-dev-reconcile"


@pytest.mark.parametrize("edit", [add_dataset_sharing_an_id, add_store, add_stream_to_a_new_dataset,
                                  add_alert_channel, add_staging_bucket])
def test_adding_only_creates_and_updates(dev_plan, edit):
    doc = copy.deepcopy(document("dev"))
    edit(doc)
    result = compare_plans(plan(doc), dev_plan)
    changed = {(s.op, s.type, s.name) for s in result.steps if s.op in ("replace", "delete") and s.type != DELAY}
    assert changed == set()
    assert any(s.op == "create" for s in result.steps)


def test_a_dataset_keeps_its_name_when_another_shares_its_id(dev_plan):
    doc = copy.deepcopy(document("dev"))
    add_dataset_sharing_an_id(doc)
    names = lambda p: {s.name for s in p.steps if s.type == "dicomstream:index:BigQueryDataset"}  # noqa: E731
    assert names(dev_plan) == {"dicom_metadata"}
    assert names(plan(doc)) == {"dicom_metadata", "acme-analytics-dev.dicom_metadata"}


TWO_DATASETS = """
from components import DicomStoreArgs, HealthcareDataset, HealthcareDatasetArgs

for dataset in ("imaging", "research"):
    HealthcareDataset(dataset, HealthcareDatasetArgs(project="acme-imaging-dev", location="us-central1", dataset_id=dataset,
                                                     stores=[DicomStoreArgs(store_id="radiology")]))
"""


def test_two_healthcare_datasets_holding_a_store_of_the_same_id_do_not_collide(tmp_path):
    from dicomstream.capture import run_program

    program = tmp_path / "__main__.py"
    program.write_text(TWO_DATASETS)
    capture = run_program({}, stack="dev", program=program)
    stores = capture.of_type("gcp:healthcare/dicomStore:DicomStore")
    assert sorted(s.name for s in stores) == ["imaging-radiology", "research-radiology"]
    assert len({s.urn for s in stores}) == 2


def test_grants_are_named_by_role_and_member_not_by_position():
    before = grants({"roles/bigquery.dataEditor": {"agent": "serviceAccount:a"}})
    after = grants({"roles/bigquery.dataEditor": {"analysts": "group:g", "agent": "serviceAccount:a"}})
    assert [g.name("ds") for g in before] == ["ds-bigquery-dataEditor-agent"]
    assert {g.name("ds") for g in after} == {"ds-bigquery-dataEditor-agent", "ds-bigquery-dataEditor-analysts"}
    assert iam_problems({"roles/x": {"Not A Slug": "user:u"}, "owner": {"a": "user:u"}}) == [
        ("iam.roles/x.Not A Slug", "a member key must be a lowercase slug such as 'agent'"),
        ("iam.owner", "not a role name; expected roles/NAME or projects/P/roles/NAME")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_urn_of_a_0_1_0_stack_is_kept_or_aliased(stack):
    """A stack deployed by dicomstream 0.1.0 updates in place: no store, dataset or grant is replaced."""
    old = load_plan(FIXTURES / "plans" / f"{stack}-v0.1.0.json")
    new = plan(document(stack), stack)
    current = {s.urn: s for s in new.steps}
    answers = {alias: s for s in new.steps for alias in s.aliases}
    assert not set(answers) & set(current)
    for step in old.steps:
        match = current.get(step.urn) or answers.get(step.urn)
        assert match is not None, f"{step.urn} would be deleted"
        assert match.type == step.type


def test_plan_compare_of_all_additions_at_once(tmp_path, dev_plan):
    before = tmp_path / "before.json"
    before.write_text(dev_plan.to_json())
    doc = copy.deepcopy(document("dev"))
    for edit in (add_store, add_stream_to_a_new_dataset, add_alert_channel):
        edit(doc)
    after = tmp_path / "Pulumi.dev.yaml"
    after.write_text(yaml.safe_dump({"config": doc}))
    result = subprocess.run([sys.executable, "-m", "dicomstream.cli", "plan", "--file", str(after), "--compare",
                             str(before), "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["steps"]
    assert {s["op"] for s in steps if s["type"] != DELAY} <= {"create", "update", "same"}
    assert not any(s.get("destroysImagingData") for s in steps)


@pytest.mark.parametrize("stack", STACKS)
def test_compare_with_a_0_1_0_plan_follows_the_aliases(stack):
    """The first preview after upgrading shows no store, dataset or grant deleted or replaced."""
    from dicomstream.plan import compare_plans

    old = load_plan(FIXTURES / "plans" / f"{stack}-v0.1.0.json")
    changed = compare_plans(plan(document(stack), stack), old)
    ops = {s.op for s in changed.steps if s.type != DELAY}
    assert "delete" not in ops and "replace" not in ops, [(s.op, s.urn) for s in changed.steps if s.op in ("delete", "replace")]
    assert not any(s.destroys_imaging_data for s in changed.steps)
    # The renamed stores are the same resources, not new ones.
    stores = [s for s in changed.steps if s.type == "gcp:healthcare/dicomStore:DicomStore"]
    assert stores and all(s.op in ("same", "update") for s in stores)


STREAMS = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"
STORE = "gcp:healthcare/dicomStore:DicomStore"


@pytest.mark.parametrize("stack", STACKS)
def test_upgrading_hands_the_streams_over_with_no_moment_without_streaming(stack):
    """0.1.0 (and 0.2.0) stores set their own streamConfigs. The first `up` of this version updates no
    store's streamConfigs (the store ignores the field, so the engine keeps the deployed value) and
    creates each store's DicomStoreStreams with the same tables, after the store and the grants'
    propagation: the PATCH it sends replaces the list with the same list."""
    old = load_plan(FIXTURES / "plans" / f"{stack}-v0.1.0.json")
    changed = compare_plans(plan(document(stack), stack), old)
    by_urn = {s.urn: s for s in changed.steps}
    old_stores = {s.inputs["name"]: s for s in old.steps if s.type == STORE}
    stores = {s.inputs["name"]: s for s in changed.steps if s.type == STORE}
    streams = {s.inputs["store"].rsplit("/", 1)[1]: s for s in changed.steps if s.type == STREAMS}
    assert old_stores and set(stores) == set(old_stores) == set(streams)
    for name, before in old_stores.items():
        store, ours = stores[name], streams[name]
        assert store.op in ("same", "update") and not any(d.startswith("streamConfigs") for d in store.diffs)
        assert store.ignore_changes == ["streamConfigs"]
        assert ours.op == "create"
        assert [c["bigqueryDestination"]["tableUri"] for c in ours.inputs["streamConfigs"]] == [
            c["bigqueryDestination"]["tableUri"] for c in before.inputs["streamConfigs"]]
        waits = {by_urn[u].type for u in ours.dependencies if u in by_urn}
        assert store.urn in ours.dependencies and DELAY in waits  # after the store and the grants' pause


def test_without_ignore_changes_the_same_upgrade_would_drop_the_streams_first():
    """The guard above is real: the same comparison with the store's ignore_changes forgotten shows the
    store's update removing its streamConfigs, which is the moment without streaming."""
    old = load_plan(FIXTURES / "plans" / "dev-v0.1.0.json")
    new = plan(document("dev"))
    for step in new.steps:
        step.ignore_changes = []
    stores = [s for s in compare_plans(new, old).steps if s.type == STORE]
    assert stores and all(s.op == "update" and any(d.startswith("streamConfigs") for d in s.diffs) for s in stores)
