"""Random DicomStore bodies through Google's client: each is either created and returned as sent
(schema-valid) or refused with Google's 400 error body, never a 500 or a half-created store."""

from __future__ import annotations

from google_client import PROJECT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from googleapiclient.errors import HttpError

LABEL_TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ09_-.é中 ")), max_size=8)
DESTINATION = st.fixed_dictionaries(
    {"tableUri": st.sampled_from([f"bq://{PROJECT}.missing_ds.t", "bq://bad", "gs://x", ""])},
    optional={
        "writeDisposition": st.sampled_from(["WRITE_APPEND", "WRITE_DISPOSITION_UNSPECIFIED", "NOPE", 3]),
        "includeSourceStore": st.sampled_from([True, False, "true", None]),
        "schemaJson": st.sampled_from([{}, {"x": 1}, []]),
        "schemaFlattened": st.just({}),
        "tablUri": st.just("typo"),
    },
)
BODY = st.fixed_dictionaries({}, optional={
    "labels": st.dictionaries(LABEL_TEXT, LABEL_TEXT, max_size=3),
    "streamConfigs": st.lists(st.fixed_dictionaries({"bigqueryDestination": DESTINATION}), max_size=2),
    "notificationConfigs": st.lists(st.fixed_dictionaries({"pubsubTopic": st.sampled_from(
        [f"projects/{PROJECT}/topics/t", "topic", ""])}), max_size=2),
    "unknownField": st.just(1),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODY)
def test_a_store_body_is_created_as_sent_or_refused_with_googles_400(google, dataset, body):
    stores = google.stores()
    try:
        created = google.call(stores.create(parent=dataset, dicomStoreId="random", body=body))
    except HttpError as exc:
        assert exc.resp.status == 400, exc.content
        err = google.error(stores.create(parent=dataset, dicomStoreId="random", body=body))
        assert err["status"] == "INVALID_ARGUMENT" and err["message"]
        assert google.error(stores.get(name=f"{dataset}/dicomStores/random"))["status"] == "NOT_FOUND"
        return
    assert {k: v for k, v in created.items() if k != "name"} == {k: v for k, v in body.items() if v not in ({}, [])}
    google.call(stores.delete(name=created["name"]))
