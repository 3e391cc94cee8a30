"""DICOMweb with a real client (dicomweb-client), and the rows it makes appear in BigQuery."""

from __future__ import annotations

import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from sandbox_world import query


@pytest.fixture
def store(world, healthcare):
    healthcare.create_dicom_store(world.dataset_name, "radiology", {})
    return world.store("radiology")


@pytest.fixture
def web(sandbox, store) -> DICOMwebClient:
    return DICOMwebClient(url=f"{sandbox.endpoints.healthcare}/v1/{store}/dicomWeb")


def _uid(entry: dict, tag: str) -> str:
    return entry[tag]["Value"][0]


def test_acceptance_store_with_dicomweb_client_and_row_visible_in_bigquery(world, healthcare, bigquery_client, web, store, instances):
    healthcare.set_stream_configs(store, [world.table_uri("instances")])
    web.store_instances([instances[0]])
    rows = query(bigquery_client, f"SELECT SOPInstanceUID, PatientName.Alphabetic.FamilyName AS pn, StudyDate, Modality, Type FROM {world.sql('instances')}")
    ds = instances[0]
    assert rows == [{
        "SOPInstanceUID": ds.SOPInstanceUID, "pn": ds.PatientName.family_name,
        "StudyDate": rows[0]["StudyDate"], "Modality": ds.Modality, "Type": "INSERT",
    }]
    assert rows[0]["StudyDate"].strftime("%Y%m%d") == ds.StudyDate


def test_store_search_delete_round_trip(web, instances):
    web.store_instances(instances[:6])  # one study, two series, three instances each
    study = instances[0].StudyInstanceUID
    studies = web.search_for_studies()
    assert [_uid(s, "0020000D") for s in studies] == [study]
    assert studies[0]["00201208"]["Value"] == [6] and studies[0]["00201206"]["Value"] == [2]
    assert studies[0]["00080061"]["Value"] == [instances[0].Modality]
    assert len(web.search_for_series(study_instance_uid=study)) == 2
    assert len(web.search_for_instances(study_instance_uid=study)) == 6
    # filters, limit/offset, includefield
    assert len(web.search_for_studies(search_filters={"PatientID": instances[0].PatientID})) == 1
    assert web.search_for_studies(search_filters={"PatientID": "nobody"}) == []
    assert len(web.search_for_studies(search_filters={"PatientName": instances[0].PatientName.family_name + "*"})) == 1
    page1 = web.search_for_instances(limit=4, offset=0)
    page2 = web.search_for_instances(limit=4, offset=4)
    assert len(page1) == 4 and len(page2) == 2
    assert {_uid(i, "00080018") for i in page1 + page2} == {ds.SOPInstanceUID for ds in instances[:6]}
    full = web.search_for_instances(limit=1, fields=["BodyPartExamined"])
    assert "00180015" in full[0]
    # WADO-RS metadata
    meta = web.retrieve_study_metadata(study)
    assert len(meta) == 6 and all("00100010" in m for m in meta)
    # delete instance, series, study
    first = instances[0]
    web.delete_instance(study, first.SeriesInstanceUID, first.SOPInstanceUID)
    assert len(web.search_for_instances(study_instance_uid=study)) == 5
    web.delete_series(study, first.SeriesInstanceUID)
    assert len(web.search_for_instances(study_instance_uid=study)) == 3
    web.delete_study(study)
    assert web.search_for_studies() == []


def test_stow_rejects_duplicates_and_non_dicom(web, sandbox, store, instances):
    web.store_instances([instances[0]])
    with pytest.raises(requests.HTTPError) as err:
        web.store_instances([instances[0]])
    assert err.value.response.status_code == 409
    failed = err.value.response.json()["00081198"]["Value"]
    assert failed[0]["00081197"]["Value"] == [0x0111]  # duplicate SOP instance
    r = requests.post(
        f"{sandbox.endpoints.healthcare}/v1/{store}/dicomWeb/studies",
        data=b"--b\r\nContent-Type: application/dicom\r\n\r\nnot dicom\r\n--b--\r\n",
        headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=b'},
    )
    assert r.status_code == 409 and r.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xC000]
    r = requests.post(f"{sandbox.endpoints.healthcare}/v1/{store}/dicomWeb/studies", data=b"x", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_metadata_of_missing_study_is_404(sandbox, store):
    r = requests.get(f"{sandbox.endpoints.healthcare}/v1/{store}/dicomWeb/studies/1.2.3/metadata")
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"


def test_client_pages_qido_results(healthcare, store, instances):
    healthcare.store_instances(store, instances)
    assert healthcare.instance_uids(store) == {ds.SOPInstanceUID for ds in instances}
    assert len(list(healthcare.search_instances(store, page_size=5))) == len(instances)
    assert healthcare.calls["GET instances"] == 1 + 3  # one above, three pages of 5


def test_a_file_with_undecodable_values_is_stored_and_its_bad_tags_dropped(world, healthcare, bigquery_client, web, store, instances):
    """A Part 10 file whose InstanceNumber (IS) overflows and whose StudyDate is not a date."""
    from io import BytesIO

    from pydicom import dcmread, dcmwrite

    buf = BytesIO()
    dcmwrite(buf, instances[5], enforce_file_format=True)
    data = buf.getvalue()
    good = instances[5].InstanceNumber
    number = str(good).encode().ljust(2, b" ")
    hostile = data.replace(b"IS" + len(number).to_bytes(2, "little") + number, b"IS\x08\x001.5e400 ", 1)
    assert hostile != data
    hostile = hostile.replace(instances[5].StudyDate.encode(), b"20241341", 1)
    healthcare.set_stream_configs(store, [world.table_uri("hostile")])
    web.store_instances([dcmread(BytesIO(hostile), defer_size=None)])
    rows = query(bigquery_client, f"SELECT * FROM {world.sql('hostile')}")
    assert rows[0]["SOPInstanceUID"] == instances[5].SOPInstanceUID and "InstanceNumber" not in rows[0]
    assert {d["TagName"] for d in rows[0]["DroppedTags"]} >= {"InstanceNumber", "StudyDate", "PixelData"}
    meta = web.retrieve_instance_metadata(instances[5].StudyInstanceUID, instances[5].SeriesInstanceUID, instances[5].SOPInstanceUID)
    assert meta["00200013"] == {"vr": "IS"}  # kept, without the value that does not decode
