"""`pulumi up`'s code path for stream options: the provider of `DicomStoreStreams` (components/stream_configs.py),
serialised and loaded as Pulumi's dynamic provider host loads it, against the sandbox; Google's own client
reads back what it set.

Create, an update of something else (the store's labels; a new stream), an option change, refresh (read)
seeing a change made behind Pulumi's back, delete; and the upgrade from a store whose pulumi-gcp resource
set the streams (dicomstream 0.2.0 and earlier): the resource takes them over with no moment without streaming.
"""

from __future__ import annotations

import base64

import dill
import pytest
from google.api_core import exceptions as gexc
from google_client import PROJECT
from pulumi.dynamic.dynamic import serialize_provider

from components.stream_configs import StreamConfigsProvider, canonical
from dicomstream.gcp.endpoints import HEALTHCARE_ENDPOINT_ENV
from dicomstream.sandbox import synthetic


@pytest.fixture
def provider(sandbox, monkeypatch):
    """As the engine runs it: the state's serialised provider, loaded in a fresh process's way (by
    module and class name), with the user's endpoint setting (here the sandbox's)."""
    monkeypatch.setenv(HEALTHCARE_ENDPOINT_ENV, sandbox.endpoints.healthcare)
    blob = serialize_provider(StreamConfigsProvider())
    loaded = dill.loads(base64.b64decode(blob))
    assert type(loaded).__module__ == "components.stream_configs" and isinstance(loaded, StreamConfigsProvider)
    return loaded


@pytest.fixture
def instances():
    return list(synthetic.generate(3, patients_count=2, seed=19))


def dest(uri: str, **options) -> dict:
    return {"bigqueryDestination": {"tableUri": uri, **options}}


def rows(bigquery_client, table: str, columns: str = "SOPInstanceUID") -> list[dict]:
    from dicomstream.gcp.bigquery import retry

    return [dict(r) for r in bigquery_client.query(f"SELECT {columns} FROM `{table}`", job_retry=None,
                                                   retry=retry(10)).result(retry=retry(10))]


def test_create_update_option_change_refresh_and_delete(provider, google, dataset, bq_dataset, bigquery_client,
                                                        healthcare, instances):
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="opts", body={"labels": {"team": "a"}}))["name"]
    flat, js, cdc = (f"bq://{PROJECT}.{bq_dataset}.{t}" for t in ("flat", "as_json", "current"))
    wanted = [dest(flat, includeSourceStore=True), dest(js, schemaJson={})]

    # create: one PATCH of the whole list through v1 (no stream uses change data capture)
    created = provider.create({"store": store, "streamConfigs": canonical(wanted)})
    assert created.id == store
    assert created.outs["streamConfigs"] == canonical(wanted)
    seen = google.call(google.stores().get(name=store))
    assert seen["streamConfigs"][0]["bigqueryDestination"]["includeSourceStore"] is True
    assert "schemaJson" in seen["streamConfigs"][1]["bigqueryDestination"]
    healthcare.store_instances(store, instances[:1])
    (row,) = rows(bigquery_client, flat[5:], "SOPInstanceUID, SourceDicomStore")
    assert row == {"SOPInstanceUID": instances[0].SOPInstanceUID, "SourceDicomStore": store}

    # an update of something else: the store's labels (the pulumi-gcp store's PATCH names its own fields)
    google.call(google.stores().patch(name=store, updateMask="labels", body={"labels": {"team": "b"}}))
    assert canonical(google.call(google.stores().get(name=store))["streamConfigs"]) == canonical(wanted)
    # and a new stream: the whole list is sent, the options of the others stay
    grown = [*wanted, dest(f"bq://{PROJECT}.{bq_dataset}.extra")]
    state = {"store": store, "streamConfigs": created.outs["streamConfigs"]}
    assert provider.diff(store, state, {"store": store, "streamConfigs": canonical(grown)}).changes
    updated = provider.update(store, state, {"store": store, "streamConfigs": canonical(grown)})
    assert canonical(google.call(google.stores().get(name=store))["streamConfigs"]) == canonical(grown) == updated.outs["streamConfigs"]

    # an option change: change data capture, only in v1beta1, so the PATCH goes there
    changed = [dest(flat, includeSourceStore=True), dest(cdc, schemaJson={}, changeDataCaptureConfig={})]
    diff = provider.diff(store, updated.outs, {"store": store, "streamConfigs": canonical(changed)})
    assert diff.changes and diff.replaces == []
    after = provider.update(store, updated.outs, {"store": store, "streamConfigs": canonical(changed)})
    beta = google.call(google.stores("v1beta1").get(name=store))
    assert beta["streamConfigs"][1]["bigqueryDestination"]["changeDataCaptureConfig"] == {}
    assert after.outs["streamConfigs"] == canonical(changed)
    healthcare.store_instances(store, instances[1:2])
    assert [r["SOPInstanceUID"] for r in rows(bigquery_client, cdc[5:])] == [instances[1].SOPInstanceUID]

    # refresh: a change behind Pulumi's back (JSON schema dropped by hand) is read, and diff calls it a change
    google.call(google.stores().patch(name=store, updateMask="streamConfigs",
                                      body={"streamConfigs": [dest(flat, includeSourceStore=True)]}))
    read = provider.read(store, after.outs)
    assert read.id == store and read.outs["streamConfigs"] == canonical([dest(flat, includeSourceStore=True)])
    assert provider.diff(store, read.outs, {"store": store, "streamConfigs": canonical(changed)}).changes
    provider.update(store, read.outs, {"store": store, "streamConfigs": canonical(changed)})
    assert provider.read(store, after.outs).outs["streamConfigs"] == canonical(changed)

    # delete: the store stays, with no streams; deleting again (the store gone) is not an error
    provider.delete(store, after.outs)
    assert google.call(google.stores().get(name=store)).get("streamConfigs", []) == []
    google.call(google.stores().delete(name=store))
    provider.delete(store, after.outs)
    assert provider.read(store, after.outs).id == ""  # refresh: the streams went with the store


def test_googles_errors_reach_the_user_as_google_wrote_them(provider, google, dataset, bq_dataset):
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="refused", body={}))["name"]
    flat_cdc = canonical([dest(f"bq://{PROJECT}.{bq_dataset}.t", changeDataCaptureConfig={})])
    with pytest.raises(gexc.BadRequest) as caught:
        provider.create({"store": store, "streamConfigs": flat_cdc})
    assert "changeDataCaptureConfig" in caught.value.message  # the sandbox's (Google's) words, not ours
    with pytest.raises(gexc.NotFound):
        provider.create({"store": f"{dataset}/dicomStores/missing", "streamConfigs": []})


def test_an_upgraded_stack_keeps_streaming_while_the_resource_takes_the_streams_over(
        provider, google, dataset, bq_dataset, bigquery_client, healthcare, instances):
    """0.2.0's store set its streams itself; the new program's store ignores `streamConfigs` (no update
    drops them) and `DicomStoreStreams` is created with the same ones: every instance stored before,
    during and after the hand-over has its row."""
    table = f"{PROJECT}.{bq_dataset}.handover"
    old = [dest(f"bq://{table}")]
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="legacy", body={"streamConfigs": old}))["name"]
    healthcare.store_instances(store, instances[:1])  # streaming under the old program
    created = provider.create({"store": store, "streamConfigs": canonical(old)})  # the first `up` of the new one
    healthcare.store_instances(store, instances[1:2])
    assert created.outs["streamConfigs"] == canonical(old)
    # a later `up` adds a JSON stream the old store could not carry: the first one never stops
    grown = canonical([*old, dest(f"bq://{table}_json", schemaJson={})])
    provider.update(store, created.outs, {"store": store, "streamConfigs": grown})
    healthcare.store_instances(store, instances[2:])
    got = rows(bigquery_client, table)
    assert sorted(r["SOPInstanceUID"] for r in got) == sorted(i.SOPInstanceUID for i in instances)
    assert [r["SOPInstanceUID"] for r in rows(bigquery_client, f"{table}_json")] == [instances[2].SOPInstanceUID]


def test_change_data_capture_keeps_one_current_row_and_a_delete_leaves_none(google, dataset, bq_dataset, bigquery_client,
                                                                            healthcare, instances):
    """What BigQuery CDC (UPSERT/DELETE by the instance) leaves in the table, with no reconciler run: one row
    per live instance, its storage class updated in place, a re-store still one row, a deleted instance none."""
    table = f"{PROJECT}.{bq_dataset}.cdc_current"
    body = {"streamConfigs": [dest(f"bq://{table}", schemaJson={}, changeDataCaptureConfig={}, includeSourceStore=True)]}
    store = google.call(google.stores("v1beta1").create(parent=dataset, dicomStoreId="cdc", body=body))["name"]
    assert google.call(google.stores("v1beta1").get(name=store))["streamConfigs"] == body["streamConfigs"]
    healthcare.store_instances(store, instances)
    first = instances[0]
    healthcare.delete_instance(store, first.StudyInstanceUID, first.SeriesInstanceUID, first.SOPInstanceUID)
    left = rows(bigquery_client, table)
    assert sorted(r["SOPInstanceUID"] for r in left) == sorted(i.SOPInstanceUID for i in instances[1:])  # no row for it

    healthcare.store_instances(store, [first])  # stored again: one row again, not two
    study = [i for i in instances if i.StudyInstanceUID == first.StudyInstanceUID]
    google.call(google.stores().dicomWeb().studies().setBlobStorageSettings(
        resource=f"{store}/dicomWeb/studies/{first.StudyInstanceUID}",
        body={"blobStorageSettings": {"blobStorageClass": "ARCHIVE"}}))  # a storage-class change: rows updated
    got = rows(bigquery_client, table, "SOPInstanceUID, StorageClass, SourceDicomStore, "
                                       "JSON_VALUE(Metadata, '$.\"00100020\".Value[0]') AS pid")
    assert sorted(r["SOPInstanceUID"] for r in got) == sorted(i.SOPInstanceUID for i in instances)
    assert {r["SOPInstanceUID"]: r["StorageClass"] for r in got} == {
        i.SOPInstanceUID: "ARCHIVE" if i in study else "STANDARD" for i in instances}
    by_uid = {r["SOPInstanceUID"]: r for r in got}
    assert {r["SourceDicomStore"] for r in got} == {store} and by_uid[first.SOPInstanceUID]["pid"] == first.PatientID
