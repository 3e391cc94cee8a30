"""`dicomstream plan` end to end: the JSON contract, exit codes 0/1/2, policies reached over gRPC."""

from __future__ import annotations

import json
import re

import pytest
from plan_helpers import FIXTURES, run_cli

from dicomstream.core.naming import MAX_STREAMS_PER_STORE
from tests.ordering import step_waits_for

DICOM_STORE = "gcp:healthcare/dicomStore:DicomStore"
STREAMS = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"
STEP_KEYS = {"op", "urn", "type", "name", "parent", "dependencies", "inputs", "protect"}
VIOLATION_KEYS = {"policyPack", "policyName", "enforcementLevel", "urn", "message"}


@pytest.fixture(scope="module")
def dev_json():
    result = run_cli("plan", "--stack", "dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_dev_plan_json_contract(dev_json):
    assert dev_json["stack"] == "dev"
    steps = dev_json["steps"]
    assert steps and all(STEP_KEYS <= set(step) for step in steps)
    assert all(step["op"] == "create" for step in steps)
    assert dev_json["changeSummary"] == {"create": len(steps)}
    urns = {step["urn"] for step in steps}
    assert all(step["parent"] in urns for step in steps if step["parent"] is not None)
    assert all(set(v) == VIOLATION_KEYS for v in dev_json["policyViolations"])
    assert not [v for v in dev_json["policyViolations"] if v["enforcementLevel"] == "mandatory"]
    # The pack really answered: the dev stack has no CMEK, which the advisory rule reports.
    assert any(v["policyName"] == "bigquery-dataset-cmek" and v["enforcementLevel"] == "advisory"
               for v in dev_json["policyViolations"])


def test_dicom_store_waits_for_the_service_agent_grants(dev_json):
    by_urn = {step["urn"]: step for step in dev_json["steps"]}
    store = next(s for s in dev_json["steps"] if s["type"] == DICOM_STORE and s["name"] == "imaging-radiology")
    assert "streamConfigs" not in store["inputs"] and store["ignoreChanges"] == ["streamConfigs"]
    # The store's streams are ours, every option written out as Google's API names it.
    radiology = next(s for s in dev_json["steps"] if s["type"] == STREAMS and s["name"] == "imaging-radiology-streams")
    assert radiology["inputs"]["store"] == "projects/acme-imaging-dev/locations/us-central1/datasets/imaging/dicomStores/radiology"
    assert radiology["inputs"]["streamConfigs"] == [
        {"bigqueryDestination": {"tableUri": f"bq://acme-imaging-dev.dicom_metadata.{table}", "schemaFlattened": {},
                                 "includeSourceStore": False}} for table in ("instances", "radiology_instances")]
    assert store["urn"] in radiology["dependencies"]
    before = step_waits_for(radiology, by_urn)
    grants = {(by_urn[urn]["type"], by_urn[urn]["inputs"].get("role")) for urn in before}
    assert ("gcp:bigquery/datasetIamMember:DatasetIamMember", "roles/bigquery.dataEditor") in grants
    assert ("gcp:projects/iAMMember:IAMMember", "roles/bigquery.jobUser") in grants
    agent = next(s for s in dev_json["steps"] if s["type"] == "gcp:projects/serviceIdentity:ServiceIdentity")
    member = f"serviceAccount:{dev_json['outputs']['serviceAgentEmail']}"
    for urn in before:
        if by_urn[urn]["inputs"].get("role", "").startswith("roles/bigquery."):
            assert by_urn[urn]["inputs"]["member"] == member
    assert agent["inputs"]["service"] == "healthcare.googleapis.com"


SIX = f"""config:
  gcp:project: acme-imaging-dev
  dicomstream:environment: dev
  dicomstream:healthcare: {{location: us-central1, dataset: imaging}}
  dicomstream:bigquery:
    datasets: [{{id: dicom_metadata, location: US}}]
  dicomstream:dicomStores:
    - name: radiology
      streams: [{", ".join(f"dicom_metadata.t{i}" for i in range(MAX_STREAMS_PER_STORE + 1))}]
"""


def test_six_streams_is_invalid_configuration_exit_2(tmp_path):
    path = tmp_path / "Pulumi.six.yaml"
    path.write_text(SIX)
    result = run_cli("plan", "--file", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}: dicomStores[0].streams[5]: a DICOM store streams to at most 5 BigQuery tables (found 6)"]


def test_six_streams_without_validation_is_a_mandatory_violation_over_grpc(tmp_path):
    path = tmp_path / "Pulumi.six.yaml"
    path.write_text(SIX)
    result = run_cli("plan", "--file", str(path), "--no-validate", "--format", "json")
    assert result.returncode == 1, result.stderr
    plan = json.loads(result.stdout)
    store = next(s for s in plan["steps"] if s["type"] == STREAMS)
    assert len(store["inputs"]["streamConfigs"]) == 6
    mandatory = [v for v in plan["policyViolations"] if v["enforcementLevel"] == "mandatory"]
    assert [(v["policyName"], v["urn"], v["policyPack"]) for v in mandatory] == [
        ("dicom-store-max-five-destinations", store["urn"], "dicomstream")]
    assert "6" in mandatory[0]["message"]


def test_broken_stack_exits_2_with_the_validation_lines(tmp_path):
    text = (FIXTURES / "stacks" / "Pulumi.dev.yaml").read_text()
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text(text.replace("dicom_metadata.radiology_instances", "dicom_metadata.radiology-instances")
                          .replace("location: US", "location: US\n        lables: {}"))
    plan = run_cli("plan", "--file", str(broken))
    validate = run_cli("validate", "--file", str(broken))
    assert plan.returncode == 2
    assert plan.stderr.splitlines() == validate.stderr.splitlines()[:-1]  # validate adds a count line
    assert len(plan.stderr.splitlines()) == 2


def test_policy_config_raises_a_level_to_mandatory_exit_1(tmp_path):
    config = tmp_path / "levels.json"
    config.write_text(json.dumps({"bigquery-dataset-cmek": "mandatory"}))
    result = run_cli("plan", "--stack", "dev", "--policy-config", str(config))
    assert result.returncode == 1
    assert re.search(r"\[mandatory\]\s+bigquery-dataset-cmek", result.stdout)
    assert "1 mandatory" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize("content, expected", [
    ('{"no-such-policy": "mandatory"}', "no such policy"),
    ("{not json", "not valid JSON"),
])
def test_bad_policy_config_exits_2(tmp_path, content, expected):
    config = tmp_path / "levels.json"
    config.write_text(content)
    result = run_cli("plan", "--stack", "dev", "--policy-config", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr and expected in result.stderr


def test_compare_out_and_markdown(tmp_path):
    dev = tmp_path / "plans" / "dev.json"
    assert run_cli("plan", "--stack", "dev", "--format", "json", "--out", str(dev)).returncode == 0
    comment = tmp_path / "prod.md"
    result = run_cli("plan", "--stack", "prod", "--compare", str(dev), "--format", "markdown", "--out", str(comment))
    assert result.returncode == 1, result.stderr  # it destroys imaging data: decided by the user, below
    assert "4 steps destroy imaging data" in result.stderr and "--allow-destroy" in result.stderr
    accepted = run_cli("plan", "--stack", "prod", "--compare", str(dev), "--format", "markdown", "--out", str(comment),
                       "--allow-destroy")
    assert accepted.returncode == 0, accepted.stderr
    text = comment.read_text()
    assert "## dicomstream plan: :x: blocked" in text and "| :x: | `prod` | planned |" in text
    assert ("> - `prod`: **replace** `gcp:healthcare:DicomStore` imaging-radiology (changed `dataset`; "
            "destroys the DICOM instances it holds)") in text
    # Destructive steps come before the stack's change table.
    assert text.index("**delete** `gcp:healthcare:DicomStore` imaging-oncology") < text.index("**Changes (")


@pytest.mark.parametrize("content", ["[]", "{oops", '{"steps": "x"}'])
def test_unusable_compare_file_exits_2(tmp_path, content):
    old = tmp_path / "old.json"
    old.write_text(content)
    result = run_cli("plan", "--stack", "dev", "--compare", str(old))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{old}: ")


def test_exactly_one_stack_source():
    assert run_cli("plan").returncode == 2
    assert run_cli("plan", "--stack", "dev", "--file", "stacks/Pulumi.dev.yaml").returncode == 2


def test_compare_exits_1_when_pulumi_up_would_refuse_a_protected_delete(tmp_path):
    """prod is protected: its plan as the old one, a prod without its cardiology store as the new."""
    old = tmp_path / "prod.json"
    assert run_cli("plan", "--stack", "prod", "--format", "json", "--out", str(old)).returncode == 0
    text = (FIXTURES / "stacks" / "Pulumi.prod.yaml").read_text()
    start, end = text.index("    - name: cardiology"), text.index("  dicomstream:alerts:")
    new = tmp_path / "Pulumi.prod.yaml"
    new.write_text(text[:start] + text[end:])
    result = run_cli("plan", "--file", str(new), "--compare", str(old))
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"gcp:healthcare:DicomStore\s+imaging-cardiology\s+delete\s+destroys imaging data\s+\(protected: ", result.stdout)


def test_the_agents_default_role_is_retained_on_destroy_and_the_plan_says_so(dev_json, tmp_path):
    """`roles/healthcare.serviceAgent` is the agent's project-wide default: destroying the stack must
    leave it (other Healthcare resources of the project rely on it). Only that grant is retained."""
    retained = [s for s in dev_json["steps"] if s.get("retainOnDelete")]
    assert [(s["type"], s["inputs"]["role"]) for s in retained] == [
        ("gcp:projects/iAMMember:IAMMember", "roles/healthcare.serviceAgent")]
    old = tmp_path / "dev.json"
    old.write_text(json.dumps(dev_json))
    result = run_cli("plan", "--stack", "dev", "--compare", str(old))
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if "healthcare-agent-healthcare-serviceAgent" in ln)
    assert line.rstrip().endswith("same  (retained: destroy leaves it in place)")
