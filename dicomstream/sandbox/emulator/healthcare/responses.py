"""Routes of the Healthcare API (v1, v1beta1): URL and query → backend call → Google's JSON (models
serialised under the state lock, list envelopes with `nextPageToken`). Each route declares the query
parameters its discovery-document method has (others get Google's 400)."""

from __future__ import annotations

from dicomstream.sandbox.emulator.core import Core
from dicomstream.sandbox.emulator.healthcare.backend import HealthcareBackend
from dicomstream.sandbox.emulator.http import Request, Response, Router, json_response

VERSION = r"/(?P<version>v1|v1beta1)"
LOCATION = VERSION + r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
DATASET = LOCATION + r"/datasets/(?P<dataset>[^/:]+)"
STORE = DATASET + r"/dicomStores/(?P<store>[^/:]+)"
PAGING = ("pageSize", "pageToken")


def router(core: Core, backend: HealthcareBackend) -> Router:
    r = Router()
    b = backend

    def model(obj) -> Response:  # noqa: ANN001 - a DatasetState or DicomStoreState
        with core.lock:
            return json_response(obj.resource())

    def page(key: str, result: tuple[list, str | None], serialise=lambda m: m.resource()) -> Response:  # noqa: ANN001
        items, token = result
        with core.lock:
            body = {key: [serialise(m) for m in items]}
        return json_response({**body, "nextPageToken": token} if token else body)

    def parent(q: Request) -> str:
        return f"projects/{q.groups['project']}/locations/{q.groups['location']}"

    r.add("GET", VERSION + r"/projects/(?P<project>[^/]+)/locations", lambda q: page(
        "locations", b.list_locations(q.groups["project"], q.param("pageSize"), q.param("pageToken")), dict),
        PAGING + ("filter", "extraLocationTypes"))
    # datasets
    r.add("GET", LOCATION + r"/datasets", lambda q: page("datasets", b.list_datasets(parent(q), q.param("pageSize"), q.param("pageToken"))), PAGING)
    r.add("POST", LOCATION + r"/datasets", lambda q: json_response(
        b.create_dataset(q.groups["version"], q.groups["project"], q.groups["location"], q.param("datasetId"), q.json())), ("datasetId",))
    r.add("GET", DATASET, lambda q: model(b.get_dataset(q.dataset_name)))
    r.add("DELETE", DATASET, lambda q: json_response(b.delete_dataset(q.dataset_name)))
    r.add("GET", DATASET + r":getIamPolicy", lambda q: json_response(
        b.get_iam_policy(q.dataset_name, q.param("options.requestedPolicyVersion"))), ("options.requestedPolicyVersion",))
    r.add("POST", DATASET + r":setIamPolicy", lambda q: json_response(b.set_iam_policy(q.dataset_name, q.json())))
    r.add("POST", DATASET + r":testIamPermissions", lambda q: json_response(b.test_iam_permissions(q.dataset_name, q.json())))
    # operations
    r.add("GET", DATASET + r"/operations/(?P<op>[^/]+)", lambda q: json_response(core.get_operation(f"{q.dataset_name}/operations/{q.groups['op']}")))
    r.add("GET", DATASET + r"/operations", lambda q: page(
        "operations", b.list_operations(q.dataset_name, q.param("pageSize"), q.param("pageToken")), dict), PAGING + ("filter",))
    # DICOM stores
    r.add("GET", DATASET + r"/dicomStores", lambda q: page(
        "dicomStores", b.list_stores(q.dataset_name, q.param("pageSize"), q.param("pageToken"), q.param("filter"))),
        PAGING + ("filter",))
    r.add("POST", DATASET + r"/dicomStores", lambda q: model(
        b.create_store(q.groups["version"], q.dataset_name, q.param("dicomStoreId"), q.json())), ("dicomStoreId",))
    r.add("GET", STORE, lambda q: model(b.get_store(q.dataset_name, q.groups["store"])))
    r.add("DELETE", STORE, lambda q: json_response(b.delete_store(q.dataset_name, q.groups["store"])))
    r.add("PATCH", STORE, lambda q: model(
        b.patch_store(q.groups["version"], q.dataset_name, q.groups["store"], q.param("updateMask"), q.json())), ("updateMask",))
    r.add("POST", STORE + r":export", lambda q: json_response(b.export(q.groups["version"], q.dataset_name, q.groups["store"], q.json())))
    r.add("GET", STORE + r":getIamPolicy", lambda q: json_response(
        b.get_iam_policy(q.store_name, q.param("options.requestedPolicyVersion"))), ("options.requestedPolicyVersion",))
    r.add("POST", STORE + r":setIamPolicy", lambda q: json_response(b.set_iam_policy(q.store_name, q.json())))
    r.add("POST", STORE + r":testIamPermissions", lambda q: json_response(b.test_iam_permissions(q.store_name, q.json())))
    return r
