"""Healthcare API resources, validation rules and error bodies, over real HTTP on loopback."""

from __future__ import annotations

import pytest
import requests

from dicomstream.sandbox.identity import fake_project_number

from sandbox_world import LOCATION, PROJECT, make_bq_dataset


def _error(response: requests.Response, code: int, status: str) -> str:
    assert response.status_code == code, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
    assert body["error"]["code"] == code and body["error"]["status"] == status
    return body["error"]["message"]


@pytest.fixture
def base(sandbox, sandbox_admin) -> str:
    return f"{sandbox.endpoints.healthcare}/v1/projects/{PROJECT}/locations/{LOCATION}"


def test_datasets_create_get_list_delete_with_google_errors(base):
    r = requests.post(f"{base}/datasets", params={"datasetId": "imaging"}, json={})
    op = r.json()
    assert r.status_code == 200 and op["done"] and op["name"].startswith(f"projects/{PROJECT}/locations/{LOCATION}/datasets/imaging/operations/")
    assert op["response"]["name"] == f"projects/{PROJECT}/locations/{LOCATION}/datasets/imaging"
    assert "already exists" in _error(requests.post(f"{base}/datasets", params={"datasetId": "imaging"}, json={}), 409, "ALREADY_EXISTS")
    assert requests.get(f"{base}/datasets/imaging").json()["name"].endswith("/datasets/imaging")
    assert [d["name"].rsplit("/", 1)[1] for d in requests.get(f"{base}/datasets").json()["datasets"]] == ["imaging"]
    _error(requests.get(f"{base}/datasets/nope"), 404, "NOT_FOUND")
    _error(requests.post(f"{base}/datasets", json={}), 400, "INVALID_ARGUMENT")  # no datasetId
    _error(requests.post(f"{base}/datasets", params={"datasetId": "bad id!"}, json={}), 400, "INVALID_ARGUMENT")
    assert requests.delete(f"{base}/datasets/imaging").json() == {}
    _error(requests.get(f"{base}/datasets/imaging"), 404, "NOT_FOUND")


def test_v1beta1_paths_and_unknown_urls(sandbox, sandbox_admin):
    url = f"{sandbox.endpoints.healthcare}/v1beta1/projects/{PROJECT}/locations/{LOCATION}/datasets"
    assert requests.post(url, params={"datasetId": "beta"}, json={}).json()["response"]["@type"].endswith("v1beta1.Dataset")
    assert requests.get(f"{url}/beta/dicomStores").json() == {"dicomStores": []}
    # As Google's front end: a web page for a path no API serves, never a resource's JSON NOT_FOUND.
    unknown = requests.get(f"{sandbox.endpoints.healthcare}/v2/nothing")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith("text/html")
    assert "The requested URL <code>/v2/nothing</code> was not found on this server." in unknown.text


def test_store_create_get_list_delete(world, base):
    stores = f"{base}/datasets/imaging/dicomStores"
    r = requests.post(stores, params={"dicomStoreId": "radiology"}, json={"labels": {"team": "radiology"}})
    assert r.json() == {"name": world.store("radiology"), "labels": {"team": "radiology"}}
    _error(requests.post(stores, params={"dicomStoreId": "radiology"}, json={}), 409, "ALREADY_EXISTS")
    _error(requests.post(stores, json={}), 400, "INVALID_ARGUMENT")
    _error(requests.post(stores, params={"dicomStoreId": "x"}, json={"bogus": 1}), 400, "INVALID_ARGUMENT")
    assert [s["name"] for s in requests.get(stores).json()["dicomStores"]] == [world.store("radiology")]
    assert requests.delete(f"{stores}/radiology").json() == {}
    _error(requests.get(f"{stores}/radiology"), 404, "NOT_FOUND")
    _error(requests.post(f"{base}/datasets/missing/dicomStores", params={"dicomStoreId": "x"}, json={}), 404, "NOT_FOUND")


def test_patch_changes_only_masked_fields_and_replaces_stream_configs(world, healthcare):
    name = world.store("radiology")
    healthcare.create_dicom_store(world.dataset_name, "radiology", {"labels": {"team": "radiology"}})
    one = [{"bigqueryDestination": {"tableUri": world.table_uri("a")}}]
    two = [{"bigqueryDestination": {"tableUri": world.table_uri("b")}}, {"bigqueryDestination": {"tableUri": world.table_uri("c")}}]
    # labels in the body but not in the mask: unchanged
    out = healthcare.patch_dicom_store(name, {"streamConfigs": one, "labels": {"team": "other"}}, "streamConfigs")
    assert out["labels"] == {"team": "radiology"} and out["streamConfigs"] == one
    out = healthcare.patch_dicom_store(name, {"streamConfigs": two}, "streamConfigs")
    assert out["streamConfigs"] == two  # replaced, not appended
    out = healthcare.patch_dicom_store(name, {"labels": {"team": "x"}}, "labels")
    assert out["labels"] == {"team": "x"} and out["streamConfigs"] == two
    out = healthcare.patch_dicom_store(name, {}, "streamConfigs")
    assert "streamConfigs" not in out and healthcare.get_dicom_store(name) == out


def test_patch_mask_rules(world, healthcare, sandbox):
    healthcare.create_dicom_store(world.dataset_name, "s", {})
    url = f"{sandbox.endpoints.healthcare}/v1/{world.store('s')}"
    body = {"streamConfigs": []}
    assert "updateMask" in _error(requests.patch(url, json=body), 400, "INVALID_ARGUMENT")
    assert "notAField" in _error(requests.patch(url, params={"updateMask": "notAField"}, json=body), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    ("uris", "needle"),
    [
        ([f"t{i}" for i in range(6)], "at most 5"),
        (["t1", "t1"], "duplicate destination"),
        (["bad-name"], "'-'"),
        ([None], "bq://PROJECT_ID.DATASET_ID.TABLE_ID"),
    ],
    ids=["six-destinations", "duplicate", "table-name", "uri-format"],
)
def test_stream_config_rules_give_400(world, sandbox, uris, needle):
    requests.post(f"{sandbox.endpoints.healthcare}/v1/{world.dataset_name}/dicomStores", params={"dicomStoreId": "s"}, json={})
    configs = []
    for table in uris:
        uri = world.table_uri(table) if table else f"{world.project}.{world.bq_dataset}.t"  # no bq:// scheme
        configs.append({"bigqueryDestination": {"tableUri": uri}})
    for method, url, params in (
        ("PATCH", f"{sandbox.endpoints.healthcare}/v1/{world.store('s')}", {"updateMask": "streamConfigs"}),
        ("POST", f"{sandbox.endpoints.healthcare}/v1/{world.dataset_name}/dicomStores", {"dicomStoreId": "s2"}),
    ):
        message = _error(requests.request(method, url, params=params, json={"streamConfigs": configs}), 400, "INVALID_ARGUMENT")
        assert needle in message
    assert "streamConfigs" not in requests.get(f"{sandbox.endpoints.healthcare}/v1/{world.store('s')}").json()


def test_exactly_five_destinations_is_fine(world, healthcare):
    healthcare.create_dicom_store(world.dataset_name, "s", {})
    out = healthcare.set_stream_configs(world.store("s"), [world.table_uri(f"T_{i}") for i in range(5)])
    assert len(out["streamConfigs"]) == 5


def test_destination_dataset_must_exist(world, sandbox):
    url = f"{sandbox.endpoints.healthcare}/v1/{world.dataset_name}/dicomStores"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": world.table_uri("t", dataset="no_such_dataset")}}]}
    message = _error(requests.post(url, params={"dicomStoreId": "s"}, json=body), 400, "INVALID_ARGUMENT")
    assert "failed to verify dataset" in message and "not found" in message


def test_no_data_editor_grant_gives_403_until_granted(world, sandbox, bigquery_client, resourcemanager, unique_id):
    make_bq_dataset(bigquery_client, PROJECT, f"nogrant_{unique_id}", grant_to=None)
    url = f"{sandbox.endpoints.healthcare}/v1/{world.dataset_name}/dicomStores"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": world.table_uri("t", dataset=f"nogrant_{unique_id}")}}]}
    message = _error(requests.post(url, params={"dicomStoreId": "s"}, json=body), 403, "PERMISSION_DENIED")
    assert "failed to verify dataset" in message and world.agent in message and "roles/bigquery.dataEditor" in message
    # a project-level grant is enough
    resourcemanager.add_binding(PROJECT, "roles/bigquery.dataEditor", f"serviceAccount:{world.agent}")
    assert requests.post(url, params={"dicomStoreId": "s"}, json=body).status_code == 200


def test_a_grant_to_another_principal_does_not_count(world, sandbox, bigquery_client, unique_id):
    make_bq_dataset(bigquery_client, PROJECT, f"other_{unique_id}", grant_to="service-1@gcp-sa-healthcare.iam.gserviceaccount.com")
    url = f"{sandbox.endpoints.healthcare}/v1/{world.dataset_name}/dicomStores"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": world.table_uri("t", dataset=f"other_{unique_id}")}}]}
    _error(requests.post(url, params={"dicomStoreId": "s"}, json=body), 403, "PERMISSION_DENIED")


def test_resource_manager_project_and_iam_policy(sandbox, sandbox_admin, resourcemanager):
    project = resourcemanager.get_project("acme-imaging-dev")
    assert project["projectNumber"] == fake_project_number("acme-imaging-dev") and project["projectId"] == "acme-imaging-dev"
    policy = resourcemanager.get_iam_policy("acme-imaging-dev")
    assert policy.get("bindings", []) == [] and policy["etag"]
    assert resourcemanager.add_binding("acme-imaging-dev", "roles/bigquery.jobUser", "serviceAccount:a@b.iam.gserviceaccount.com")
    assert not resourcemanager.add_binding("acme-imaging-dev", "roles/bigquery.jobUser", "serviceAccount:a@b.iam.gserviceaccount.com")
    assert resourcemanager.get_iam_policy("acme-imaging-dev")["bindings"] == [
        {"role": "roles/bigquery.jobUser", "members": ["serviceAccount:a@b.iam.gserviceaccount.com"]}
    ]
    stale = dict(policy)  # old etag: a concurrent change
    r = requests.post(f"{sandbox.endpoints.resourcemanager}/v1/projects/acme-imaging-dev:setIamPolicy", json={"policy": stale})
    _error(r, 409, "ABORTED")
    assert resourcemanager.get_project("example.com:imaging-proj")["projectId"] == "example.com:imaging-proj"
