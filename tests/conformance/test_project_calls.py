"""The project's own clients (dicomstream.gcp) speak Google's API: every HTTP call they make in a
store-stream-export-delete scenario is a method of the discovery documents (HTTP verb, path shape,
declared query parameters), and each of those methods is one the conformance suite drives through
Google's client."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from google_client import LOCATION, PROJECT
from discovery_schema import document

from dicomstream.sandbox import synthetic
from dicomstream.sandbox.identity import fake_service_agent_email

# Methods tests/conformance drives through google-api-python-client (kept in step with the tests).
DRIVEN = {
    "healthcare.projects.locations.datasets.create", "healthcare.projects.locations.datasets.get",
    "healthcare.projects.locations.datasets.list", "healthcare.projects.locations.datasets.delete",
    "healthcare.projects.locations.datasets.operations.get", "healthcare.projects.locations.datasets.operations.list",
    "healthcare.projects.locations.datasets.getIamPolicy", "healthcare.projects.locations.datasets.setIamPolicy",
    "healthcare.projects.locations.datasets.testIamPermissions",
    "healthcare.projects.locations.datasets.dicomStores.testIamPermissions",
    "healthcare.projects.locations.datasets.dicomStores.create", "healthcare.projects.locations.datasets.dicomStores.get",
    "healthcare.projects.locations.datasets.dicomStores.list", "healthcare.projects.locations.datasets.dicomStores.patch",
    "healthcare.projects.locations.datasets.dicomStores.delete", "healthcare.projects.locations.datasets.dicomStores.export",
    "healthcare.projects.locations.datasets.dicomStores.getIamPolicy",
    "healthcare.projects.locations.datasets.dicomStores.setIamPolicy",
    "healthcare.projects.locations.datasets.dicomStores.storeInstances",
    "healthcare.projects.locations.datasets.dicomStores.searchForStudies",
    "healthcare.projects.locations.datasets.dicomStores.searchForSeries",
    "healthcare.projects.locations.datasets.dicomStores.searchForInstances",
    "healthcare.projects.locations.datasets.dicomStores.studies.searchForSeries",
    "healthcare.projects.locations.datasets.dicomStores.studies.searchForInstances",
    "healthcare.projects.locations.datasets.dicomStores.studies.series.searchForInstances",
    "healthcare.projects.locations.datasets.dicomStores.studies.retrieveMetadata",
    "healthcare.projects.locations.datasets.dicomStores.studies.series.retrieveMetadata",
    "healthcare.projects.locations.datasets.dicomStores.studies.series.instances.retrieveMetadata",
    "healthcare.projects.locations.datasets.dicomStores.studies.delete",
    "healthcare.projects.locations.datasets.dicomStores.studies.series.delete",
    "healthcare.projects.locations.datasets.dicomStores.studies.series.instances.delete",
    "healthcare.projects.locations.datasets.dicomStores.setBlobStorageSettings",
    "healthcare.projects.locations.datasets.dicomStores.dicomWeb.studies.setBlobStorageSettings",
    "healthcare.projects.locations.datasets.dicomStores.dicomWeb.studies.series.instances.getStorageInfo",
    "cloudresourcemanager.projects.get", "cloudresourcemanager.projects.getIamPolicy",
    "cloudresourcemanager.projects.setIamPolicy",
}


def _methods(doc: dict):
    stack = [doc]
    while stack:
        node = stack.pop()
        yield from node.get("methods", {}).values()
        stack.extend(node.get("resources", {}).values())


def _matcher(doc: dict):
    """(verb, path) → method id, from each method's flatPath (`{x}` is one segment; a trailing
    `{+dicomWebPath}`-style path is a DICOMweb path under it)."""
    table = []
    for m in _methods(doc):
        flat = m.get("flatPath") or m["path"]
        pattern = re.sub(r"\{[^}]+\}", "[^/:]+", re.escape(flat).replace(r"\{", "{").replace(r"\}", "}"))
        table.append((m["httpMethod"], re.compile("^/" + pattern + "$"), m))
    # more specific (longer) patterns first, so studies/series/instances win over studies
    table.sort(key=lambda t: -len(t[1].pattern))

    def find(verb: str, path: str):
        for method, regex, m in table:
            if method == verb and regex.match(path):
                return m
        return None

    return find


def test_every_call_the_project_makes_is_a_discovery_method_the_suite_drives(sandbox, sandbox_admin, bigquery_client, bq_dataset):
    calls: list[tuple[str, str, dict]] = []

    def record(response, *args, **kwargs):
        split = urlsplit(response.request.url)
        calls.append((response.request.method, split.path, parse_qs(split.query)))

    healthcare = sandbox.healthcare_client(deadline=20.0, timeout=10.0)
    resourcemanager = sandbox.resourcemanager_client(deadline=20.0, timeout=10.0)
    for client in (healthcare, resourcemanager):
        client.session.hooks["response"].append(record)

    agent = f"serviceAccount:{fake_service_agent_email(PROJECT)}"
    resourcemanager.get_project(PROJECT)
    resourcemanager.add_binding(PROJECT, "roles/bigquery.jobUser", agent)
    healthcare.create_dataset(PROJECT, LOCATION, "calls")
    dataset = f"projects/{PROJECT}/locations/{LOCATION}/datasets/calls"
    healthcare.get_dataset(dataset)
    healthcare.list_datasets(PROJECT, LOCATION)
    healthcare.create_dicom_store(dataset, "s", {})
    store = f"{dataset}/dicomStores/s"
    healthcare.set_stream_configs(store, [f"bq://{PROJECT}.{bq_dataset}.t"])
    healthcare.get_dicom_store(store)
    healthcare.list_dicom_stores(dataset)
    instances = list(synthetic.generate(6, patients_count=1, seed=31))
    healthcare.store_instances(store, instances)
    list(healthcare.search_studies(store))
    list(healthcare.search_series(store))
    list(healthcare.search_series(store, instances[0].StudyInstanceUID))
    list(healthcare.search_instances(store, instances[0].StudyInstanceUID))
    list(healthcare.search_instances(store, instances[0].StudyInstanceUID, instances[0].SeriesInstanceUID))
    healthcare.instance_uids(store)
    healthcare.study_metadata(store, instances[0].StudyInstanceUID)
    op = healthcare.export_to_bigquery(store, f"bq://{PROJECT}.{bq_dataset}.snapshot", "WRITE_TRUNCATE")
    healthcare.wait_operation(op, timeout=600)
    ds = instances[0]
    healthcare.delete_instance(store, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    healthcare.delete_series(store, ds.StudyInstanceUID, ds.SeriesInstanceUID)
    healthcare.delete_study(store, ds.StudyInstanceUID)
    resourcemanager.remove_binding(PROJECT, "roles/bigquery.jobUser", agent)
    healthcare.delete_dicom_store(store)
    healthcare.delete_dataset(dataset)

    docs = {"healthcare": document("healthcare.v1"), "cloudresourcemanager": document("cloudresourcemanager.v1")}
    finders = {name: _matcher(doc) for name, doc in docs.items()}
    used, unknown = set(), []
    for verb, path, query in calls:
        api = "healthcare" if "/locations/" in path else "cloudresourcemanager"
        m = finders[api](verb, path)
        if m is None:
            unknown.append((verb, path))
            continue
        used.add(m["id"])
        declared = set(m.get("parameters", {})) | set(docs[api]["parameters"])
        if not m["id"].endswith(("searchForStudies", "searchForSeries", "searchForInstances")):  # QIDO: DICOM attributes
            assert set(query) <= declared, (m["id"], sorted(set(query) - declared))
    assert unknown == []
    assert len(used) >= 15
    assert used - DRIVEN == set()
