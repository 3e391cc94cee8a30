"""Level 2: Analyze / AnalyzeStack requests through the pack's analyzer servicer, in process."""

from __future__ import annotations

import json
import re

import pytest
from google.protobuf import empty_pb2
from policy_fixtures import (
    BQ_DATASET,
    HC_DATASET,
    PACK_DIR,
    STORE,
    as_preview,
    by_name,
    good_stack,
    resource,
    store_inputs,
    uri,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from dicomstream.policy_client import (
    UNKNOWN,
    analyze_request,
    analyze_stack_request,
    configure_request,
    load_policy_config,
    pack_info,
    resolve_config,
    violations,
)
from policies import ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL, PACK_NAME

KEY = "projects/acme-imaging-dev/locations/us/keyRings/r/cryptoKeys/k"


@pytest.fixture
def servicer():
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL)


def analyze(servicer, res):
    return [(v.policy_name, v.enforcement_level) for v in violations(servicer.Analyze(analyze_request(res), None))]


def analyze_stack(servicer, resources):
    return violations(servicer.AnalyzeStack(analyze_stack_request(resources), None))


def configure(servicer, config):
    info = pack_info(servicer.GetAnalyzerInfo(empty_pb2.Empty(), None))
    servicer.Configure(configure_request(resolve_config(info, config)), None)


def test_six_streams_get_a_mandatory_diagnostic(servicer):
    store = resource(STORE, "radiology", store_inputs(*(uri(f"t{i}") for i in range(6))), protect=True)
    response = servicer.Analyze(analyze_request(store), None)
    (diagnostic,) = response.diagnostics
    assert diagnostic.policyName == "dicom-store-max-five-destinations"
    assert diagnostic.policyPackName == "dicomstream"
    assert "has 6 streamConfigs" in diagnostic.message
    assert violations(response, store["urn"])[0].as_dict() == {
        "policyPack": "dicomstream",
        "policyName": "dicom-store-max-five-destinations",
        "enforcementLevel": "mandatory",
        "urn": store["urn"],
        "message": diagnostic.message,
    }


def test_unknown_values_at_preview_give_no_diagnostic_at_all(servicer):
    """Not even pulumi-policy's advisory "can't run policy ... during preview" note."""
    store = resource(STORE, "radiology", {"dataset": UNKNOWN, "name": "radiology", "labels": {"environment": UNKNOWN},
                                          "streamConfigs": [{"bigqueryDestination": {"tableUri": UNKNOWN}}]},
                     protect=True)
    dataset = resource(BQ_DATASET, "ds", {"datasetId": UNKNOWN, "accesses": UNKNOWN, "labels": UNKNOWN,
                                          "defaultEncryptionConfiguration": {"kmsKeyName": UNKNOWN}}, protect=True)
    hc = resource(HC_DATASET, "imaging", {"name": "imaging", "encryptionSpec": UNKNOWN}, protect=True)
    for res in (store, dataset, hc):
        assert servicer.Analyze(analyze_request(res), None).diagnostics == []
    assert list(analyze_stack(servicer, as_preview(good_stack()))) == []


def test_stack_diagnostics_name_the_store(servicer):
    resources = [r for r in good_stack() if r["name"] != "jobuser"]
    (found,) = analyze_stack(servicer, resources)
    assert (found.policy_name, found.enforcement_level) == ("service-agent-grants-before-streams", "mandatory")
    assert found.urn == by_name(resources, "radiology")["urn"]
    assert "roles/bigquery.jobUser" in found.message


def test_advisory_rules_become_mandatory_with_prod_json(servicer):
    dataset = resource(BQ_DATASET, "ds", {"datasetId": "dicom_metadata", "labels": {"environment": "prod"}})
    assert sorted(analyze(servicer, dataset)) == [
        ("bigquery-dataset-cmek", "advisory"), ("stateful-resources-protected", "advisory")]
    configure(servicer, load_policy_config(PACK_DIR / "prod.json"))
    assert sorted(analyze(servicer, dataset)) == [
        ("bigquery-dataset-cmek", "mandatory"), ("stateful-resources-protected", "mandatory")]
    compliant = {**dataset, "protect": True,
                 "inputs": {**dataset["inputs"], "defaultEncryptionConfiguration": {"kmsKeyName": KEY}}}
    assert analyze(servicer, compliant) == []
    # The dev-named synthetic stack is also outside prod's perimeter (prod.json's allowedProjects).
    assert sorted({(v.policy_name, v.enforcement_level) for v in analyze_stack(servicer, good_stack(bq_location="EU"))}) == [
        ("destinations-in-allowed-projects", "mandatory"), ("locations-co-located", "mandatory")]


def test_policy_options_and_disabling_go_through_configure(servicer):
    dataset = resource(BQ_DATASET, "ds", {"datasetId": "d", "labels": {"environment": "dev"},
                                          "defaultEncryptionConfiguration": {"kmsKeyName": KEY}}, protect=True)
    assert analyze(servicer, dataset) == []
    configure(servicer, {"required-labels": {"labels": ["environment", "data-class"]}})
    assert analyze(servicer, dataset) == [("required-labels", "advisory")]
    configure(servicer, {"all": "disabled"})
    assert analyze(servicer, resource(STORE, "s", store_inputs(*(uri(f"t{i}") for i in range(6))))) == []


def test_the_readme_examples_run():
    text = (PACK_DIR / "README.md").read_text()
    blocks = re.findall(r"```(python|json)\n(.*?)```", text, flags=re.S)
    assert [kind for kind, _ in blocks] == ["json", "json", "python"]
    for kind, body in blocks:
        if kind == "python":
            exec(compile(body, "policies/README.md", "exec"), {})
        else:
            servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", ALL_POLICIES, DEFAULT_ENFORCEMENT_LEVEL)
            configure(servicer, json.loads(body))


def test_a_violation_keeps_the_rule_description_apart_from_the_detail(servicer):
    store = resource(STORE, "radiology", store_inputs(*(uri(f"t{i}") for i in range(6))), protect=True)
    (violation,) = violations(servicer.Analyze(analyze_request(store), None), store["urn"])
    assert violation.description == "A DICOM store streams to at most 5 BigQuery tables."
    assert violation.message == violation.description + "\n" + violation.detail
    assert violation.detail.startswith("DICOM store 'radiology' has 6 streamConfigs")
