"""Datasets, DICOM stores, operations, export, IAM and Resource Manager through Google's client,
every response checked against the discovery document (the methods dicomstream/gcp calls, and the
fields of the discovery documents it touches)."""

from __future__ import annotations

import time

import pytest
from google_client import LOCATION, PROJECT

from dicomstream.sandbox import synthetic
from dicomstream.sandbox.identity import fake_service_agent_email


def _wait(google, name: str, version: str = "v1") -> dict:
    ops = google.datasets(version).operations()
    deadline = time.monotonic() + 600  # a hang guard, far past any load
    while time.monotonic() < deadline:
        op = google.call(ops.get(name=name))
        if op.get("done"):
            return op
        time.sleep(0.05)
    raise AssertionError(f"operation {name} never finished")


def test_datasets_create_get_list_delete(google, sandbox_admin):
    parent = f"projects/{PROJECT}/locations/{LOCATION}"
    op = google.call(google.datasets().create(parent=parent, datasetId="ds1", body={"timeZone": "Europe/Paris"}))
    assert op["done"] is True and op["response"]["name"] == f"{parent}/datasets/ds1"
    assert google.call(google.datasets().operations().get(name=op["name"]))["done"] is True
    assert google.call(google.datasets().get(name=f"{parent}/datasets/ds1"))["timeZone"] == "Europe/Paris"
    listed = google.call(google.datasets().list(parent=parent))
    assert [d["name"] for d in listed["datasets"]] == [f"{parent}/datasets/ds1"]
    assert google.call(google.datasets().delete(name=f"{parent}/datasets/ds1")) == {}
    assert google.error(google.datasets().get(name=f"{parent}/datasets/ds1"))["status"] == "NOT_FOUND"


def test_store_fields_of_the_discovery_document_are_accepted_and_kept(google, dataset, bq_dataset):
    uri = f"bq://{PROJECT}.{bq_dataset}"
    body = {
        "labels": {"team": "radiology", "é-site": "nord_1"},
        "notificationConfig": {"pubsubTopic": f"projects/{PROJECT}/topics/dicom", "sendForBulkImport": True},
        "notificationConfigs": [{"pubsubTopic": f"projects/{PROJECT}/topics/changes"}],
        "streamConfigs": [
            {"bigqueryDestination": {"tableUri": f"{uri}.flat", "schemaFlattened": {}, "includeSourceStore": True}},
            {"bigqueryDestination": {"tableUri": f"{uri}.as_json", "schemaJson": {},
                                     "writeDisposition": "WRITE_DISPOSITION_UNSPECIFIED"}},
        ],
    }
    created = google.call(google.stores().create(parent=dataset, dicomStoreId="radiology", body=body))
    assert {k: created[k] for k in body} == body
    fetched = google.call(google.stores().get(name=f"{dataset}/dicomStores/radiology"))
    assert fetched["notificationConfigs"] == body["notificationConfigs"]
    patched = google.call(google.stores().patch(
        name=f"{dataset}/dicomStores/radiology", updateMask="notificationConfigs,labels.team",
        body={"notificationConfigs": [], "labels": {"team": "cardiology"}}))
    assert "notificationConfigs" not in patched and patched["labels"] == {"team": "cardiology", "é-site": "nord_1"}
    assert google.call(google.stores().delete(name=f"{dataset}/dicomStores/radiology")) == {}
    assert google.error(google.stores().get(name=f"{dataset}/dicomStores/radiology"))["status"] == "NOT_FOUND"


def test_v1beta1_change_data_capture_needs_the_json_schema(google, dataset, bq_dataset):
    uri = f"bq://{PROJECT}.{bq_dataset}.cdc"
    ok = {"streamConfigs": [{"bigqueryDestination": {"tableUri": uri, "schemaJson": {}, "changeDataCaptureConfig": {}}}]}
    created = google.call(google.stores("v1beta1").create(parent=dataset, dicomStoreId="cdc", body=ok))
    assert created["streamConfigs"] == ok["streamConfigs"]
    flat = {"streamConfigs": [{"bigqueryDestination": {"tableUri": uri, "changeDataCaptureConfig": {}}}]}
    err = google.error(google.stores("v1beta1").create(parent=dataset, dicomStoreId="cdc2", body=flat))
    assert err["code"] == 400 and "changeDataCaptureConfig" in err["message"]
    # v1 does not define the field: Google's unknown-field error
    err = google.error(google.stores().create(parent=dataset, dicomStoreId="cdc3", body=ok))
    assert err["status"] == "INVALID_ARGUMENT"
    assert 'Unknown name "changeDataCaptureConfig"' in err["message"] and "Cannot find field" in err["message"]


@pytest.mark.parametrize("labels, accepted", [
    ({"team": "x"}, True), ({"équipe": "nord"}, True), ({"k8s_env-1": ""}, True), ({"放射線科": "東"}, True), ({"チーム": "x"}, False),
    ({"Team": "x"}, False), ({"1team": "x"}, False), ({"team": "X"}, False), ({"t" * 64: "x"}, False),
    ({"team": "a.b"}, False), ({f"k{i}": "v" for i in range(65)}, False),
])
def test_label_rules(google, dataset, labels, accepted):
    request = google.stores().create(parent=dataset, dicomStoreId="labelled", body={"labels": labels})
    if accepted:
        assert google.call(request)["labels"] == labels
    else:
        err = google.error(request)
        assert (err["code"], err["status"]) == (400, "INVALID_ARGUMENT") and "label" in err["message"]


def test_list_filter_on_labels(google, dataset):
    for store, labels in (("a", {"team": "radiology", "tier": "gold"}), ("b", {"team": "cardiology"}), ("c", {})):
        google.call(google.stores().create(parent=dataset, dicomStoreId=store, body={"labels": labels} if labels else {}))

    def names(flt: str) -> list[str]:
        body = google.call(google.stores().list(parent=dataset, filter=flt))
        return [s["name"].rsplit("/", 1)[1] for s in body.get("dicomStores", [])]

    assert names("labels.team=radiology") == ["a"]
    assert names('labels.team="cardiology"') == ["b"]
    assert names("labels.tier:*") == ["a"]
    assert names("NOT labels.team=radiology") == ["b", "c"]
    assert names("labels.team=radiology OR labels.team=cardiology") == ["a", "b"]
    assert names("labels.team=radiology AND labels.tier=silver") == []
    assert names("") == ["a", "b", "c"]
    err = google.error(google.stores().list(parent=dataset, filter="name=a"))
    assert err["code"] == 400 and "only filtering on labels" in err["message"]


def test_unknown_fields_and_parameters_get_googles_error_body(google, dataset):
    err = google.error(google.stores().create(parent=dataset, dicomStoreId="s", body={"lables": {}}))
    assert err == {"code": 400, "status": "INVALID_ARGUMENT",
                   "message": "Invalid JSON payload received. Unknown name \"lables\" at 'dicom_store': Cannot find field."}
    request = google.stores().get(name=f"{dataset}/dicomStores/s")
    request.uri += "&view=FULL"
    err = google.error(request)
    assert err["code"] == 400 and "Cannot bind query parameter" in err["message"] and "'view'" in err["message"]
    err = google.error(google.stores().create(parent=dataset, dicomStoreId="s", body={
        "streamConfigs": [{"bigqueryDestination": {"tableUri": "bq://p.d.t", "includeSourceStore": "yes"}}]}))
    assert err["code"] == 400 and "TYPE_BOOL" in err["message"]


def test_every_system_parameter_is_accepted(google, dataset):
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="sys", body={"labels": {"a": "b"}}))
    params = {"x__xgafv": "2", "access_token": "t", "alt": "json", "callback": "cb", "fields": "name",
              "key": "k", "oauth_token": "o", "prettyPrint": False, "quotaUser": "u", "uploadType": "media",
              "upload_protocol": "raw"}
    got = google.call(google.stores().get(name=store["name"], **params))
    assert got == {"name": store["name"]}  # `fields` gives a partial response
    listed = google.call(google.stores().list(parent=dataset, fields="dicomStores(labels)"))
    assert listed == {"dicomStores": [{"labels": {"a": "b"}}]}
    request = google.stores().get(name=store["name"])
    request.uri = request.uri.replace("alt=json", "alt=xml")  # the client itself refuses it
    err = google.error(request)
    assert err["code"] == 400 and "'alt'" in err["message"]


def test_iam_policies_on_datasets_and_stores(google, dataset):
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="iam", body={}))["name"]
    for resource, api in ((dataset, google.datasets()), (store, google.stores())):
        empty = google.call(api.getIamPolicy(resource=resource))
        assert empty.get("bindings") is None and empty["etag"]
        policy = {"bindings": [{"role": "roles/healthcare.dicomViewer", "members": ["group:readers@example.com"]}],
                  "etag": empty["etag"]}
        updated = google.call(api.setIamPolicy(resource=resource, body={"policy": policy}))
        assert updated["bindings"] == policy["bindings"] and updated["etag"] != empty["etag"]
        assert google.call(api.getIamPolicy(resource=resource, options_requestedPolicyVersion=3)) == updated
        stale = google.error(api.setIamPolicy(resource=resource, body={"policy": policy}))
        assert (stale["code"], stale["status"]) == (409, "ABORTED")
        asked = ["healthcare.dicomStores.get", "healthcare.datasets.get"]
        assert google.call(api.testIamPermissions(resource=resource, body={"permissions": asked})) == {"permissions": asked}
        assert google.error(api.testIamPermissions(resource=resource, body={"permissions": ["healthcare.*"]}))["code"] == 400
    missing = google.error(google.stores().getIamPolicy(resource=f"{dataset}/dicomStores/none"))
    assert missing["status"] == "NOT_FOUND"


def test_resource_manager_project_and_iam(google):
    projects = google.crm.projects()
    project = google.call(projects.get(projectId=PROJECT))
    assert project["projectId"] == PROJECT and project["projectNumber"].isdigit()
    policy = google.call(projects.getIamPolicy(resource=PROJECT, body={}))
    member = f"serviceAccount:{fake_service_agent_email(PROJECT)}"
    new = {"bindings": [{"role": "roles/bigquery.jobUser", "members": [member]}], "etag": policy["etag"]}
    assert google.call(projects.setIamPolicy(resource=PROJECT, body={"policy": new}))["bindings"] == new["bindings"]


def test_export_with_unspecified_disposition_and_refused_destinations(google, dataset, bq_dataset, sandbox):
    projects = google.crm.projects()
    policy = google.call(projects.getIamPolicy(resource=PROJECT, body={}))
    member = f"serviceAccount:{fake_service_agent_email(PROJECT)}"
    policy["bindings"] = policy.get("bindings", []) + [{"role": "roles/bigquery.jobUser", "members": [member]}]
    google.call(projects.setIamPolicy(resource=PROJECT, body={"policy": policy}))
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="exp", body={}))["name"]
    uri = f"bq://{PROJECT}.{bq_dataset}.snapshot"
    op = google.call(google.stores().export(name=store, body={
        "bigqueryDestination": {"tableUri": uri, "writeDisposition": "WRITE_DISPOSITION_UNSPECIFIED"}}))
    assert _wait(google, op["name"]).get("error") is None
    listed = google.call(google.datasets().operations().list(name=dataset))
    assert op["name"] in [o["name"] for o in listed["operations"]]
    sandbox.healthcare_client().store_instances(store, list(synthetic.generate(2, seed=41)))
    as_json = f"bq://{PROJECT}.{bq_dataset}.snapshot_json"
    op = google.call(google.stores().export(name=store, body={
        "bigqueryDestination": {"tableUri": as_json, "schemaJson": {}, "includeSourceStore": True}}))
    assert _wait(google, op["name"]).get("error") is None
    table = sandbox.bigquery_client(PROJECT).get_table(as_json[len("bq://"):])
    assert {f.name: f.field_type for f in table.schema}["Metadata"] == "JSON"
    assert "SourceDicomStore" in {f.name for f in table.schema} and table.num_rows == 2
    err = google.error(google.stores().export(name=store, body={
        "bigqueryDestination": {"tableUri": f"bq://another-project.{bq_dataset}.t"}}))
    assert err["code"] == 400 and "own project" in err["message"]
    err = google.error(google.stores().export(name=store, body={
        "bigqueryDestination": {"tableUri": uri}, "filterConfig": {"resourcePathsGcsUri": "gs://bucket/paths.txt"}}))
    assert err["code"] == 400 and "cannot read gs://bucket/paths.txt" in err["message"]
    # a filter file in the Cloud Storage stand-in: only the studies it lists are exported
    from dicomstream.gcp.storage import StorageClient

    gcs = StorageClient(sandbox.endpoints.storage)
    gcs.create_bucket(PROJECT, "conformance-filters")
    held = sandbox.bigquery_client(PROJECT).query_and_wait(
        f"SELECT DISTINCT StudyInstanceUID AS s FROM `{as_json[len('bq://'):]}`", job_retry=None)
    study = sorted(row["s"] for row in held)[0]
    gcs.upload("conformance-filters", "f/paths.txt", f"/studies/{study}\n".encode())
    filtered = f"bq://{PROJECT}.{bq_dataset}.filtered"
    op = google.call(google.stores().export(name=store, body={
        "bigqueryDestination": {"tableUri": filtered},
        "filterConfig": {"resourcePathsGcsUri": "gs://conformance-filters/f/paths.txt"}}))
    assert _wait(google, op["name"]).get("error") is None
    got = sandbox.bigquery_client(PROJECT).query_and_wait(
        f"SELECT DISTINCT StudyInstanceUID AS s FROM `{filtered[len('bq://'):]}`", job_retry=None)
    assert [row["s"] for row in got] == [study]
    err = google.error(google.stores().export(name=store, body={
        "bigqueryDestination": {"tableUri": uri, "writeDisposition": "WRITE_SOMETIMES"}}))
    assert err["code"] == 400 and "write_disposition" in err["message"]


def test_parser_errors_name_the_field_as_googles_json_parser_does(google, dataset):
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": "bq://p.d.t", "schemaJSON": {}}}]}
    err = google.error(google.stores().create(parent=dataset, dicomStoreId="s", body=body))
    assert err["message"] == ("Invalid JSON payload received. Unknown name \"schemaJSON\" at "
                              "'dicom_store.stream_configs[0].bigquery_destination': Cannot find field.")
    err = google.error(google.stores().export(name=f"{dataset}/dicomStores/s", body={
        "bigqueryDestination": {"tableUri": "bq://p.d.t", "force": "yes"}}))
    assert err["message"] == "Invalid value at 'bigquery_destination.force' (TYPE_BOOL), \"yes\""
