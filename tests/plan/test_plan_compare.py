"""`--compare`: create / update (with paths) / replace / delete / same, and destroyed imaging data."""

from __future__ import annotations

import copy

import pytest
from plan_helpers import STACKS, make_plan, stack_document

from dicomstream.plan import compare_plans, load_plan, replace_reasons

DICOM_STORE = "gcp:healthcare/dicomStore:DicomStore"
STREAMS = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"
HC_DATASET = "gcp:healthcare/dataset:Dataset"
BQ_DATASET = "gcp:bigquery/dataset:Dataset"


def step(plan, type_, name):
    return next(s for s in plan.steps if s.type == type_ and s.name == name)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_has_no_mandatory_violation(stack_plans, stack):
    plan = stack_plans[stack]
    assert plan.policy_packs and plan.policy_packs[0]["name"] == "dicomstream"
    assert plan.mandatory_violations == []


def test_prod_passes_its_stricter_policy_config():
    import json

    from plan_helpers import ROOT

    config = json.loads((ROOT / "policies" / "prod.json").read_text())
    plan = make_plan(stack_document("prod"), "prod", config=config)
    assert plan.mandatory_violations == []
    dev = make_plan(stack_document("dev"), "dev", config=config)
    assert {v.policy_name for v in dev.mandatory_violations} >= {"bigquery-dataset-cmek", "stateful-resources-protected"}


def test_same_plan_is_all_same(stack_plans, tmp_path):
    dev = stack_plans["dev"]
    saved = tmp_path / "dev.json"
    saved.write_text(dev.to_json())
    result = compare_plans(dev, load_plan(saved))
    assert result.change_summary == {"same": len(dev.steps)}
    assert not result.destructive_steps


def test_prod_against_dev(stack_plans):
    result = compare_plans(stack_plans["prod"], stack_plans["dev"], old_label="dev.json")
    assert result.compared_with == "dev.json"
    hc = step(result, HC_DATASET, "imaging")
    assert hc.op == "replace" and {"project", "encryptionSpec.kmsKeyName"} <= set(hc.replace_reasons)
    assert hc.destroys_imaging_data
    radiology = step(result, DICOM_STORE, "imaging-radiology")
    assert radiology.op == "replace" and radiology.replace_reasons == ["dataset"]
    assert "labels.environment" in radiology.diffs and radiology.destroys_imaging_data
    # The store's streams move with it (another store: replaced); an added stream shows its table
    # and options, not just `streamConfigs[2]`.
    streams = step(result, STREAMS, "imaging-radiology-streams")
    assert streams.op == "replace" and streams.replace_reasons == ["store"] and not streams.destroys_imaging_data
    assert {"streamConfigs[2].bigqueryDestination.tableUri",
            "streamConfigs[2].bigqueryDestination.schemaFlattened"} <= set(streams.diffs)
    # dev-only resources are deleted, after everything else, and BigQuery datasets do not hold imaging data.
    deleted = [s for s in result.steps if s.op == "delete"]
    assert deleted and result.steps[-len(deleted):] == deleted
    assert any(s.name.startswith("acme-imaging-dev-agent") for s in deleted)
    # Same logical name in both stacks: the dataset lines up, is replaced (another project), and a
    # BigQuery dataset does not hold imaging data.
    bq = step(result, BQ_DATASET, "dicom_metadata")
    assert bq.op == "replace" and "project" in bq.replace_reasons and not bq.destroys_imaging_data
    assert result.change_summary["create"] > 0


def _edited(edit):
    document = copy.deepcopy(stack_document("dev"))
    edit(document)
    return make_plan(document, "dev", policies=False)


@pytest.fixture(scope="module")
def dev_before():
    return make_plan(stack_document("dev"), "dev", policies=False)


def test_update_lists_the_changed_input_paths(dev_before):
    def edit(doc):
        doc["dicomstream:dicomStores"][0]["streams"][1] = "dicom_metadata.radiology_v2"
        doc["dicomstream:dicomStores"][0]["labels"]["team"] = "imaging"
    result = compare_plans(_edited(edit), dev_before)
    radiology = step(result, DICOM_STORE, "imaging-radiology")
    assert radiology.op == "update"
    assert radiology.diffs == ["labels.team"]
    streams = step(result, STREAMS, "imaging-radiology-streams")
    assert streams.op == "update" and streams.diffs == ["streamConfigs[1].bigqueryDestination.tableUri"]
    # The text tree shows short values as `pulumi preview --diff` does (old => new).
    from dicomstream.plan import render_text
    assert "~ labels.team: radiology => imaging" in render_text(result)
    assert not radiology.replace_reasons and not radiology.destroys_imaging_data
    assert step(result, DICOM_STORE, "imaging-cardiology").op == "same"


def test_replace_of_a_store_destroys_imaging_data(dev_before):
    def edit(doc):
        doc["dicomstream:healthcare"]["dataset"] = "imaging2"
    result = compare_plans(_edited(edit), dev_before)
    # The Healthcare dataset's logical name changed: a new resource, the old one deleted.
    assert step(result, HC_DATASET, "imaging2").op == "create"
    old = step(result, HC_DATASET, "imaging")
    assert old.op == "delete" and old.destroys_imaging_data
    # Stores are named after their dataset (`imaging-radiology`): they move with it, and are flagged.
    store = step(result, DICOM_STORE, "imaging-radiology")
    assert store.op == "delete" and store.destroys_imaging_data
    assert step(result, DICOM_STORE, "imaging2-radiology").op == "create"


def test_location_change_replaces_the_bigquery_dataset_only(dev_before):
    def edit(doc):
        doc["dicomstream:bigquery"]["datasets"][0]["location"] = "us-central1"
    result = compare_plans(_edited(edit), dev_before)
    changed = {(s.type, s.op) for s in result.steps if s.op != "same"}
    assert changed == {(BQ_DATASET, "replace")}
    bq = next(s for s in result.steps if s.type == BQ_DATASET)
    assert bq.replace_reasons == ["location"] and not bq.destroys_imaging_data


def test_removed_store_is_a_flagged_delete_and_protect_is_noted(dev_before):
    def protect(doc):
        doc["dicomstream:protect"] = True
    protected = _edited(protect)
    assert {s.op for s in compare_plans(protected, dev_before).steps if s.custom and s.type == DICOM_STORE} == {"update"}

    def drop(doc):
        doc["dicomstream:protect"] = True
        del doc["dicomstream:dicomStores"][1]
    result = compare_plans(_edited(drop), protected)
    cardiology = step(result, DICOM_STORE, "imaging-cardiology")
    assert cardiology.op == "delete" and cardiology.destroys_imaging_data and cardiology.was_protected
    assert cardiology.to_dict()["destroysImagingData"] is True


def test_replace_reasons_table():
    assert replace_reasons(DICOM_STORE, ["labels.team", "name"]) == ["name"]
    assert replace_reasons(BQ_DATASET, ["labels.x", "defaultEncryptionConfiguration.kmsKeyName"]) == []
    assert replace_reasons("gcp:projects/iAMMember:IAMMember", ["member"]) == ["member"]


def test_a_replace_is_refused_only_while_protected_before_and_after(dev_before):
    """As the engine decides (pulumi/pulumi step_generator.go: `new.Protect && old.Protect`)."""
    def protect(doc):
        doc["dicomstream:protect"] = True
    protected = _edited(protect)

    def move(doc, keep_protect):
        doc["dicomstream:protect"] = keep_protect
        doc["dicomstream:healthcare"]["location"] = "europe-west4"
    still = compare_plans(_edited(lambda d: move(d, True)), protected)
    unprotected = compare_plans(_edited(lambda d: move(d, False)), protected)
    for result, refused in ((still, True), (unprotected, False)):
        (hc,) = [s for s in result.steps if s.type == HC_DATASET]
        assert hc.op == "replace" and "location" in hc.replace_reasons
        assert hc.was_protected is refused and hc.destroys_imaging_data


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_stack_deployed_by_0_1_0_compares_through_the_aliases(stack_plans, stack):
    """The 0.1.0 plans named stores `radiology`; today's answer to those URNs through `aliases`, as
    the engine resolves them: nothing is deleted or replaced, no imaging data is at stake."""
    from plan_helpers import FIXTURES

    result = compare_plans(stack_plans[stack], load_plan(FIXTURES / "plans" / f"{stack}-v0.1.0.json"))
    assert {s.op for s in result.steps} <= {"same", "update", "create"}, [
        (s.op, s.urn) for s in result.steps if s.op in ("delete", "replace")]
    assert not result.destructive_steps
    radiology = step(result, DICOM_STORE, "imaging-radiology")
    assert radiology.op in ("same", "update") and radiology.aliases
