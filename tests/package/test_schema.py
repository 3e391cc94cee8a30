"""The component package's schema: inferred by the SDK, committed, served by the package's own entry
point, and covering what the YAML and TypeScript programs of docs/components.md use."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import grpc
import pytest
import yaml
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from dicomstream.package_schema import SCHEMA
from tests.package.conftest import REPO
from tests.package.test_install import readme_block

COMMITTED = json.loads(SCHEMA.read_text())
TOKENS = {"DicomStreaming", "BigQueryDataset", "HealthcareDataset", "HealthcareServiceAgent", "ProjectIamGrants",
          "ProjectApis", "StreamMonitoring", "StagingBucket"}


def test_the_committed_schema_is_what_the_sdk_infers_from_the_components():
    # In a process of its own: the SDK's provider modules and google-api-core's both define
    # google.rpc.Status, and protobuf refuses the second definition in one process.
    check = subprocess.run([sys.executable, "-m", "dicomstream.package_schema", "--check"], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr + "\npackage/schema.json is stale: run `make schema`"


def test_the_package_entry_point_serves_the_committed_schema():
    """As the engine starts a plugin: the folder's __main__.py, which prints its port, then GetSchema."""
    process = subprocess.Popen([sys.executable, str(REPO / "package" / "__main__.py"), "127.0.0.1:1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO / "package")
    try:
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = provider_pb2_grpc.ResourceProviderStub(channel).GetSchema(
                provider_pb2.GetSchemaRequest(version=0), timeout=60)
        assert json.loads(reply.schema) == COMMITTED
    finally:
        process.kill()
        process.wait()
    plugin = yaml.safe_load((REPO / "package" / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"


def test_every_component_has_our_type_token_and_typed_inputs_and_outputs():
    resources = COMMITTED["resources"]
    assert set(resources) == {f"dicomstream:index:{name}" for name in TOKENS}
    dataset = resources["dicomstream:index:BigQueryDataset"]
    # Inputs an Output may feed are not plain; those that name or decide resources are.
    assert {k for k, v in dataset["inputProperties"].items() if not v.get("plain")} >= {
        "datasetId", "project", "location", "kmsKeyName"}
    # Maps whose keys name grants and labels are plain; their values may be Outputs.
    assert {k for k, v in dataset["inputProperties"].items() if v.get("plain")} == {"existing", "iam", "labels", "protect"}
    assert not dataset["inputProperties"]["labels"]["additionalProperties"].get("plain")
    assert not dataset["inputProperties"]["iam"]["additionalProperties"]["additionalProperties"].get("plain")
    assert set(dataset["requiredInputs"]) == {"datasetId", "project"}
    assert {"datasetId", "project", "resourceName", "fullId"} <= set(dataset["properties"])
    streaming = resources["dicomstream:index:DicomStreaming"]
    assert {"serviceAgentEmail", "serviceAgentMember", "datasets", "stores", "tables", "errorMetricType",
            "alertPolicyId", "healthcareDataset", "stagingBucketUrl"} == set(streaming["properties"])
    assert streaming["inputProperties"]["stagingBucket"] == {"type": "string", "plain": True, "description": (
        streaming["inputProperties"]["stagingBucket"]["description"])}
    bucket = resources["dicomstream:index:StagingBucket"]
    assert set(bucket["requiredInputs"]) == {"bucketName", "project", "location"}
    assert {"bucketName", "url"} == set(bucket["properties"])
    assert streaming["properties"]["stores"]["additionalProperties"]["$ref"] == "#/types/dicomstream:index:StoreInfo"
    store = COMMITTED["types"]["dicomstream:index:StoreInfo"]["properties"]
    assert set(store) == {"name", "dicomwebUrl", "streams"}


def _check(value, spec, path, types):
    """Every key of `value` is a property of `spec` (following `$ref` into the schema's types)."""
    if "$ref" in spec:
        spec = types[spec["$ref"].split("/")[-1]]
    if isinstance(value, dict) and "properties" in spec:
        unknown = set(value) - set(spec["properties"])
        assert not unknown, f"{path}: {sorted(unknown)} not in the schema"
        for key, item in value.items():
            _check(item, spec["properties"][key], f"{path}.{key}", types)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, spec["items"], f"{path}[{i}]", types)


def _inputs(token: str) -> dict:
    resource = COMMITTED["resources"][token]
    return {"properties": resource["inputProperties"]}


def test_the_readme_yaml_program_uses_only_what_the_schema_declares():
    program = yaml.safe_load(readme_block("yaml-program"))
    for name, resource in program["resources"].items():
        _check(resource["properties"], _inputs(resource["type"]), name, COMMITTED["types"])
        missing = set(COMMITTED["resources"][resource["type"]]["requiredInputs"]) - set(resource["properties"])
        assert not missing, (name, missing)
    for expression in program["outputs"].values():
        resource, output = re.fullmatch(r"\$\{(\w+)\.(\w+).*\}", expression).groups()
        assert output in COMMITTED["resources"][program["resources"][resource]["type"]]["properties"]
    assert re.search(r'\["radiology"\]\.dicomwebUrl', program["outputs"]["dicomweb"])


def _typescript_object(text: str) -> object:
    """A TypeScript object literal of plain values, as JSON (quoted keys, double quotes)."""
    text = re.sub(r"([{,]\s*)(\w+)\s*:", r'\1"\2":', text.replace("'", '"'))
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def test_the_readme_typescript_program_uses_only_what_the_schema_declares():
    program = readme_block("typescript-program")
    for component, body in re.findall(r"new dicomstream\.(\w+)\(\"[\w-]+\", (\{.*?\n\})\);", program, re.S):
        token = f"dicomstream:index:{component}"
        args = _typescript_object(body)
        _check(args, _inputs(token), component, COMMITTED["types"])
        assert set(COMMITTED["resources"][token]["requiredInputs"]) <= set(args)
    used = re.findall(r"streaming\.(\w+)", program)
    assert used and set(used) <= set(COMMITTED["resources"]["dicomstream:index:DicomStreaming"]["properties"])


@pytest.mark.parametrize("bad, unknown", [({"healthcare": {"projectId": "p"}}, "projectId")])
def test_the_property_check_finds_a_misspelt_property(bad, unknown):
    with pytest.raises(AssertionError, match=unknown):
        _check(bad, _inputs("dicomstream:index:DicomStreaming"), "streaming", COMMITTED["types"])
