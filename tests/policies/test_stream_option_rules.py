"""The pack checks stream options as it checks tableUri, on our DicomStoreStreams and on a plain
pulumi-gcp store: CDC needs the JSON schema, one table has one shape (mandatory), a shared table
without includeSourceStore (advisory); and a plan built with --no-validate from a stack breaking them
is refused by the pack."""

from __future__ import annotations

import copy

from policy_fixtures import STORE, STREAMS, resource, store_inputs, uri

from policies import POLICIES_BY_NAME as P
from policies.testing import run_policy, run_stack_policy

HC = "projects/acme-imaging-dev/locations/us-central1/datasets/imaging/dicomStores/"


def streams(name: str, *dests: dict) -> dict:
    return resource(STREAMS, f"imaging-{name}-streams", {"store": HC + name,
                                                         "streamConfigs": [{"bigqueryDestination": d} for d in dests]})


def test_change_data_capture_without_the_json_schema_is_refused_on_both_types():
    cdc = {"tableUri": uri("t"), "changeDataCaptureConfig": {}, "schemaFlattened": {}}
    (message,) = run_policy(P["stream-cdc-needs-json-schema"], STREAMS, streams("r", cdc)["inputs"], name="imaging-r-streams")
    assert message.startswith("DICOM store 'imaging-r-streams' streamConfigs[0].bigqueryDestination.changeDataCaptureConfig: "
                              "changeDataCapture needs schemaJson")
    plain = {**store_inputs(), "streamConfigs": [{"bigqueryDestination": cdc}]}
    assert len(run_policy(P["stream-cdc-needs-json-schema"], STORE, plain)) == 1
    ok = {"tableUri": uri("t"), "changeDataCaptureConfig": {}, "schemaJson": {}}
    assert run_policy(P["stream-cdc-needs-json-schema"], STREAMS, streams("r", ok)["inputs"]) == []
    both = {"tableUri": uri("t"), "schemaJson": {}, "schemaFlattened": {}}
    assert "both set" in run_policy(P["stream-cdc-needs-json-schema"], STREAMS, streams("r", both)["inputs"])[0]


def test_the_tableuri_rules_hold_for_our_resource_too():
    six = streams("r", *({"tableUri": uri(f"t{i}")} for i in range(6)))
    assert len(run_policy(P["dicom-store-max-five-destinations"], STREAMS, six["inputs"])) == 1
    bad = streams("r", {"tableUri": uri("instances-v2")})
    assert run_policy(P["bigquery-table-name"], STREAMS, bad["inputs"])
    assert run_policy(P["bigquery-table-uri-format"], STREAMS, bad["inputs"])


def test_one_table_one_shape_across_stores_and_the_shared_table_advisory():
    shared = uri("instances")
    a = streams("radiology", {"tableUri": shared, "schemaJson": {}, "includeSourceStore": True})
    b = streams("cardiology", {"tableUri": shared, "schemaFlattened": {}, "includeSourceStore": True})
    found = run_stack_policy(P["stream-table-one-shape"], [a, b])
    assert [(u, m.split(": ", 1)[0]) for u, m in found] == [(b["urn"], "DICOM store 'imaging-cardiology-streams' streamConfigs[0]")]
    assert "schema 'flattened' here, 'json' in 'imaging-radiology-streams' streamConfigs[0]" in found[0][1]
    assert run_stack_policy(P["shared-table-source-store"], [a, b]) == []

    c = streams("cardiology", {"tableUri": shared, "schemaJson": {}, "changeDataCaptureConfig": {}})
    (cdc,) = run_stack_policy(P["stream-table-one-shape"], [a, c])
    assert "changeDataCapture true here, false in" in cdc[1]
    (advice,) = run_stack_policy(P["shared-table-source-store"], [a, c])
    assert advice[0] == c["urn"] and "cannot be told apart" in advice[1]
    # One store may write a table twice in no way; two tables, no finding; unknown options are left to `up`.
    d = streams("cardiology", {"tableUri": uri("other"), "schemaFlattened": {}})
    assert run_stack_policy(P["stream-table-one-shape"], [a, d]) == []
    unknown = streams("cardiology", {"tableUri": shared, "schemaJson": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"})
    assert run_stack_policy(P["stream-table-one-shape"], [a, unknown]) == []


def _bad_document():
    from tests.plan.plan_helpers import stack_document

    doc = copy.deepcopy(stack_document("dev"))
    stores = doc["dicomstream:dicomStores"]
    stores[0]["streams"] = [{"table": "dicom_metadata.instances", "schema": "json", "includeSourceStore": True},
                            {"table": "dicom_metadata.current", "changeDataCapture": True}]
    stores[1]["streams"] = [{"table": "dicom_metadata.instances", "includeSourceStore": True}]
    stores[2]["streams"] = ["dicom_metadata.shared"]
    stores[1]["streams"].append("dicom_metadata.shared")
    return doc


def test_a_plan_built_without_validation_is_refused_by_the_pack():
    """`dicomstream plan --no-validate`: the stack model only warns, the program deploys the options as
    asked, and the pack (served over gRPC, as the engine runs it) refuses each combination."""
    from tests.plan.plan_helpers import make_plan

    plan = make_plan(_bad_document(), "dev", validate=False)
    mandatory = sorted((v.policy_name, v.urn.rsplit("::", 1)[1]) for v in plan.mandatory_violations)
    streams_of = {"imaging-radiology-streams", "imaging-cardiology-streams"}
    assert [name for name, _ in mandatory] == ["stream-cdc-needs-json-schema", "stream-table-one-shape"]
    assert mandatory[0][1] == "imaging-radiology-streams" and mandatory[1][1] in streams_of
    shape = next(v for v in plan.mandatory_violations if v.policy_name == "stream-table-one-shape")
    assert "acme-imaging-dev.dicom_metadata.instances: schema" in shape.message
    advisory = [v for v in plan.policy_violations if v.policy_name == "shared-table-source-store"]
    assert len(advisory) == 1 and advisory[0].urn.rsplit("::", 1)[1] in {"imaging-cardiology-streams", "imaging-oncology-streams"}
    assert "dicom_metadata.shared" in advisory[0].message
    (radiology,) = [s for s in plan.steps if s.name == "imaging-radiology-streams"]
    assert radiology.inputs["streamConfigs"][1]["bigqueryDestination"] == {
        "tableUri": "bq://acme-imaging-dev.dicom_metadata.current", "schemaFlattened": {}, "includeSourceStore": False,
        "changeDataCaptureConfig": {}}
