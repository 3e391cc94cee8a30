"""Routes of the Healthcare API (v1, v1beta1): URL and query → backend call → JSON. Each route
declares the query parameters its discovery-document method has (others get Google's 400)."""

from __future__ import annotations

from dicomstream.sandbox.emulator.core import Core
from dicomstream.sandbox.emulator.healthcare.backend import HealthcareBackend
from dicomstream.sandbox.emulator.http import Request, Router, json_response

VERSION = r"/(?P<version>v1|v1beta1)"
LOCATION = VERSION + r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
DATASET = LOCATION + r"/datasets/(?P<dataset>[^/:]+)"
STORE = DATASET + r"/dicomStores/(?P<store>[^/:]+)"
PAGING = ("pageSize", "pageToken")


def router(core: Core, backend: HealthcareBackend) -> Router:
    r = Router()
    b = backend

    def parent(q: Request) -> str:
        return f"projects/{q.groups['project']}/locations/{q.groups['location']}"

    # datasets
    r.add("GET", LOCATION + r"/datasets", lambda q: json_response(b.list_datasets(parent(q), q.param("pageSize"), q.param("pageToken"))), PAGING)
    r.add("POST", LOCATION + r"/datasets", lambda q: json_response(
        b.create_dataset(q.groups["version"], q.groups["project"], q.groups["location"], q.param("datasetId"), q.json())), ("datasetId",))
    r.add("GET", DATASET, lambda q: json_response(b.get_dataset(q.dataset_name)))
    r.add("DELETE", DATASET, lambda q: json_response(b.delete_dataset(q.dataset_name)))
    r.add("GET", DATASET + r":getIamPolicy", lambda q: json_response(
        b.get_iam_policy(q.dataset_name, q.param("options.requestedPolicyVersion"))), ("options.requestedPolicyVersion",))
    r.add("POST", DATASET + r":setIamPolicy", lambda q: json_response(b.set_iam_policy(q.dataset_name, q.json())))
    # operations
    r.add("GET", DATASET + r"/operations/(?P<op>[^/]+)", lambda q: json_response(core.get_operation(f"{q.dataset_name}/operations/{q.groups['op']}")))
    r.add("GET", DATASET + r"/operations", lambda q: json_response(b.list_operations(q.dataset_name)), PAGING + ("filter",))
    # DICOM stores
    r.add("GET", DATASET + r"/dicomStores", lambda q: json_response(
        b.list_stores(q.dataset_name, q.param("pageSize"), q.param("pageToken"), q.param("filter"))), PAGING + ("filter",))
    r.add("POST", DATASET + r"/dicomStores", lambda q: json_response(
        b.create_store(q.groups["version"], q.dataset_name, q.param("dicomStoreId"), q.json())), ("dicomStoreId",))
    r.add("GET", STORE, lambda q: json_response(b.get_store(q.dataset_name, q.groups["store"])))
    r.add("DELETE", STORE, lambda q: json_response(b.delete_store(q.dataset_name, q.groups["store"])))
    r.add("PATCH", STORE, lambda q: json_response(
        b.patch_store(q.groups["version"], q.dataset_name, q.groups["store"], q.param("updateMask"), q.json())), ("updateMask",))
    r.add("POST", STORE + r":export", lambda q: json_response(b.export(q.groups["version"], q.dataset_name, q.groups["store"], q.json())))
    r.add("GET", STORE + r":getIamPolicy", lambda q: json_response(
        b.get_iam_policy(q.store_name, q.param("options.requestedPolicyVersion"))), ("options.requestedPolicyVersion",))
    r.add("POST", STORE + r":setIamPolicy", lambda q: json_response(b.set_iam_policy(q.store_name, q.json())))
    return r
