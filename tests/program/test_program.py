"""The resource graph the real program registers for each stack, captured under recording mocks."""

from __future__ import annotations

import pytest

from dicomstream.core.config import load_stack, read_stack_document, stack_file
from dicomstream.capture import PROJECT_ROOT, run_program
from tests.ordering import resource_waits_for

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"  # the tests' own Pulumi.yaml + stacks/, never the live stacks/

STORE = "gcp:healthcare/dicomStore:DicomStore"
BQ_DATASET = "gcp:bigquery/dataset:Dataset"
HC_DATASET = "gcp:healthcare/dataset:Dataset"
DATASET_MEMBER = "gcp:bigquery/datasetIamMember:DatasetIamMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
KMS_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
STACKS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module", params=STACKS)
def planned(request):
    name = request.param
    config = load_stack(name, FIXTURES)
    capture = run_program(read_stack_document(stack_file(name, FIXTURES)), stack=name)
    assert capture.error is None, capture.error
    return config, capture


def test_every_store_streams_exactly_its_configured_tables(planned):
    config, capture = planned
    stores = {r.inputs["name"]: r for r in capture.of_type(STORE)}
    streams = {r.inputs["store"]: r for r in capture.of_type("pulumi-python:dynamic/dicomstream:DicomStoreStreams")}
    assert set(stores) == {s.name for s in config.dicom_stores}
    for store in config.dicom_stores:
        inputs = stores[store.name].inputs
        assert "streamConfigs" not in inputs and stores[store.name].ignore_changes == ["streamConfigs"]
        ours = streams[config.healthcare.store_name(store.name)]
        assert ours.inputs["streamConfigs"] == [s.stream_config() for s in store.stream_configs]
        assert stores[store.name].urn in ours.dependencies
        assert inputs["dataset"] == config.healthcare.dataset_name
        assert inputs["labels"]["environment"] == config.environment


def test_the_agent_is_created_and_given_its_role(planned):
    config, capture = planned
    (identity,) = capture.of_type(IDENTITY)
    assert identity.inputs == {"project": config.healthcare.project, "service": "healthcare.googleapis.com"}
    agent = identity.outputs["member"]
    roles = {(m.inputs["role"], m.inputs["project"]) for m in capture.of_type(PROJECT_MEMBER)
             if m.inputs["member"] == agent}
    assert ("roles/healthcare.serviceAgent", config.healthcare.project) in roles


def test_each_store_waits_for_the_grants_of_its_destinations(planned):
    config, capture = planned
    agent = capture.of_type(IDENTITY)[0].outputs["member"]
    by_urn = capture.by_urn()
    for store in capture.of_type(STORE):
        wanted = next(s for s in config.dicom_stores if s.name == store.inputs["name"])
        deps = [by_urn[u] for u in resource_waits_for(store, by_urn) if u in by_urn]
        editors = {(d.inputs["project"], d.inputs["datasetId"]) for d in deps
                   if d.type == DATASET_MEMBER and d.inputs["role"] == "roles/bigquery.dataEditor"
                   and d.inputs["member"] == agent}
        job_users = {d.inputs["project"] for d in deps if d.type == PROJECT_MEMBER
                     and d.inputs["role"] == "roles/bigquery.jobUser" and d.inputs["member"] == agent}
        assert editors >= {ref.dataset_key for ref in wanted.streams}
        assert job_users >= {ref.project for ref in wanted.streams}


def test_datasets_are_created_unless_existing_and_never_delete_contents(planned):
    config, capture = planned
    created = {(d.inputs["project"], d.inputs["datasetId"]): d for d in capture.of_type(BQ_DATASET)}
    assert set(created) == {d.key for d in config.bigquery_datasets if not d.existing}
    for ds in config.bigquery_datasets:
        inputs = created[ds.key].inputs
        assert inputs["deleteContentsOnDestroy"] is False
        assert inputs["location"] == ds.location
        assert "accesses" not in inputs  # grants go through DatasetIamMember only
        kms = inputs.get("defaultEncryptionConfiguration", {}).get("kmsKeyName")
        assert kms == ds.kms_key_name


def test_stateful_resources_follow_protect(planned):
    config, capture = planned
    for type_ in (STORE, BQ_DATASET, HC_DATASET):
        assert {r.protect for r in capture.of_type(type_)} == {config.protect}
    assert not any(r.protect for r in capture.of_type(DATASET_MEMBER))


def test_components_use_the_type_token_convention_and_parent_their_children(planned):
    _, capture = planned
    by_urn = capture.by_urn()
    for resource in capture.resources:
        if not resource.custom:
            assert resource.type.startswith("dicomstream:index:")
        else:
            assert resource.parent in by_urn and not by_urn[resource.parent].custom


def test_outputs_downstream_stacks_can_use(planned):
    config, capture = planned
    outputs = capture.outputs
    assert outputs["serviceAgentEmail"].endswith("@gcp-sa-healthcare.iam.gserviceaccount.com")
    assert outputs["streams"] == {s.name: [r.uri for r in s.streams] for s in config.dicom_stores}
    assert set(outputs["dicomStores"]) == {s.name for s in config.dicom_stores}
    assert outputs["healthcareDataset"] == config.healthcare.dataset_name


def test_monitoring_metric_always_and_alert_with_channels(planned):
    config, capture = planned
    (metric,) = capture.of_type("gcp:logging/metric:Metric")
    assert "healthcare.googleapis.com%2Fdicom_stream" in metric.inputs["filter"]
    alerts = capture.of_type("gcp:monitoring/alertPolicy:AlertPolicy")
    assert len(alerts) == (1 if config.alerts.notification_channels else 0)


@pytest.fixture(scope="module")
def prod():
    return run_program(read_stack_document(stack_file("prod", FIXTURES)), stack="prod")


def test_prod_cross_project_grants_land_on_the_destination_project(prod):
    agent = prod.of_type(IDENTITY)[0].outputs["member"]
    editors = {(m.inputs["project"], m.inputs["datasetId"]) for m in prod.of_type(DATASET_MEMBER)
               if m.inputs["member"] == agent}
    assert ("acme-analytics-prod", "dicom_analytics") in editors
    job_users = {m.inputs["project"] for m in prod.of_type(PROJECT_MEMBER)
                 if m.inputs["role"] == "roles/bigquery.jobUser"}
    assert job_users == {"acme-imaging-prod", "acme-analytics-prod"}
    # The agent belongs to the store's project, not to the destination's.
    assert prod.of_type(IDENTITY)[0].inputs["project"] == "acme-imaging-prod"


def test_prod_cmek_key_grants_come_before_the_encrypted_datasets(prod):
    (hc,) = prod.of_type(HC_DATASET)
    key = hc.inputs["encryptionSpec"]["kmsKeyName"]
    grants = {r.urn: r for r in prod.of_type(KMS_MEMBER)}
    agent = prod.of_type(IDENTITY)[0].outputs["member"]
    hc_grant = [u for u in hc.dependencies if u in grants]
    assert [(grants[u].inputs["cryptoKeyId"], grants[u].inputs["member"]) for u in hc_grant] == [(key, agent)]
    for ds in prod.of_type(BQ_DATASET):
        (grant,) = [grants[u] for u in ds.dependencies if u in grants]
        assert grant.inputs["member"].startswith("serviceAccount:bq-")
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"


def test_invalid_config_fails_before_any_resource_is_registered():
    doc = read_stack_document(stack_file("dev", FIXTURES))
    doc = {**doc, "dicomstream:dicomStores": [{"name": "radiology", "streams": ["dicom_metadata.bad-name"]}]}
    capture = run_program(doc, stack="dev")
    assert capture.error is not None
    assert "stacks/Pulumi.dev.yaml: dicomStores[0].streams[0]:" in capture.error
    assert capture.resources == []


def test_plans_are_identical_from_run_to_run():
    """Registration order and dependency sets vary with hashing; the captured plan must not."""
    import os
    import subprocess
    import sys

    outputs = set()
    for seed in ("1", "2", "3"):
        result = subprocess.run(
            [sys.executable, "-m", "dicomstream.cli", "plan", "--stack", "prod", "--format", "json"],
            cwd=FIXTURES, capture_output=True, text=True, timeout=600,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_a_program_leaves_the_pickler_as_it_found_it():
    """Pulumi's provider serialisation wraps pickle's _batch_setitems once per dynamic resource and
    never unwraps it; with one DicomStoreStreams per store, about 950 stores died of RecursionError."""
    import pickle

    before = pickle._Pickler.__dict__["_batch_setitems"]
    capture = run_program(read_stack_document(stack_file("dev", FIXTURES)), stack="dev")
    assert capture.error is None, capture.error
    assert capture.of_type("pulumi-python:dynamic/dicomstream:DicomStoreStreams")
    assert pickle._Pickler.__dict__["_batch_setitems"] is before
