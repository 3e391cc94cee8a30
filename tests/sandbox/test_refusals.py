"""The sandbox under bad input (a user's own DICOM files go there first) refuses as Google does:
one bad part is that part's failure (202 with a FailedSOPSequence), an instance BigQuery cannot
hold is stored but not streamed (a `dicom_stream` log entry; the shared table keeps working),
malformed requests and fault specs are 400 with Google's error body, a bug is a 500 in the same
shape with the server still answering, and a path no API serves is a plain 404 page."""

from __future__ import annotations

import copy
import json
import random
from io import BytesIO

import pytest
import requests
from pydicom import dcmwrite
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from sandbox_world import query

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on hostile bytes, as expected

FAILED = "00081198"
STORED = "00081199"


@pytest.fixture
def store(world, healthcare):
    healthcare.create_dicom_store(world.dataset_name, "radiology", {})
    name = world.store("radiology")
    healthcare.set_stream_configs(name, [world.table_uri("instances")])
    return name


def part10(ds: Dataset) -> bytes:
    buf = BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def stow(sandbox, store: str, parts: list[bytes]) -> requests.Response:
    body = b"".join(b"--b\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts) + b"--b--\r\n"
    return requests.post(f"{sandbox.endpoints.healthcare}/v1/{store}/dicomWeb/studies", data=body, timeout=600,
                         headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=b'})


def uids(response: requests.Response, tag: str) -> list[str]:
    return [item["00081155"].get("Value", [""])[0] for item in response.json().get(tag, {}).get("Value", [])]


def nested(ds: Dataset, levels: int) -> Dataset:
    """`ds` with a sequence nested `levels` deep (each item holds the next sequence)."""
    deep = copy.deepcopy(ds)
    inner = Dataset()
    inner.CodeValue = "leaf"
    for _ in range(levels - 1):
        outer = Dataset()
        outer.ContentSequence = Sequence([inner])
        inner = outer
    deep.ContentSequence = Sequence([inner])
    return deep


def unknown_vr(data: bytes, value: bytes) -> bytes:
    """The Part 10 bytes with the VR of the element holding `value` replaced by `Cq`."""
    at = data.index(value) - 4  # explicit VR little endian: VR (2 bytes), length (2), value
    assert data[at:at + 2].isalpha()
    return data[:at] + b"Cq" + data[at + 2:]


def test_one_part_with_an_unknown_vr_fails_alone_with_202(sandbox, store, instances, bigquery_client, world):
    good, bad = instances[0], instances[1]
    broken = unknown_vr(part10(bad), bad.PatientID.encode())
    response = stow(sandbox, store, [part10(good), broken])
    assert response.status_code == 202, response.text
    assert uids(response, STORED) == [good.SOPInstanceUID]
    (failure,) = response.json()[FAILED]["Value"]
    assert failure["00081197"] == {"vr": "US", "Value": [0xC000]}  # PS3.18: cannot understand
    rows = query(bigquery_client, f"SELECT SOPInstanceUID FROM {world.sql('instances')}")
    assert [r["SOPInstanceUID"] for r in rows] == [good.SOPInstanceUID]


def test_random_byte_mutations_never_fail_the_request(sandbox, store, instances):
    """Each mutated file is stored, or refused as its own failure: never a 500, never a dead server."""
    rng = random.Random(23)
    data = part10(instances[2])
    for i in range(120):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(132, len(mutated))] = rng.randrange(256)
        response = stow(sandbox, store, [bytes(mutated)])
        assert response.status_code in (200, 202, 409), (i, response.status_code, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/dicom+json"), response.headers
    healthy = stow(sandbox, store, [part10(instances[3])])
    assert healthy.status_code == 200 and uids(healthy, STORED) == [instances[3].SOPInstanceUID]


def test_an_instance_bigquery_cannot_hold_is_stored_logged_and_not_streamed(sandbox, sandbox_admin, store, instances,
                                                                            bigquery_client, world):
    deep = nested(instances[4], 50)
    response = stow(sandbox, store, [part10(deep)])
    assert response.status_code == 200, response.text  # stored, as Google stores it
    (entry,) = sandbox_admin.stream_errors()
    payload = entry["jsonPayload"]
    assert entry["logName"].endswith("healthcare.googleapis.com%2Fdicom_stream")
    assert payload["resourceName"].endswith(instances[4].SOPInstanceUID)
    assert "RECORD levels deep; BigQuery allows 15; it was not streamed" in payload["error"]["message"]
    # The shared table keeps working: the next instances stream, the table answers queries.
    assert stow(sandbox, store, [part10(instances[5]), part10(nested(instances[6], 14))]).status_code == 200
    rows = query(bigquery_client, f"SELECT SOPInstanceUID FROM {world.sql('instances')} ORDER BY SOPInstanceUID")
    assert [r["SOPInstanceUID"] for r in rows] == sorted([instances[5].SOPInstanceUID, instances[6].SOPInstanceUID])
    assert len(sandbox_admin.stream_errors()) == 1


def google_400(response: requests.Response) -> dict:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] == 400 and error["status"] in ("INVALID_ARGUMENT", "FAILED_PRECONDITION") and error["message"]
    return error


def test_fields_nested_5000_deep_is_a_400(sandbox, store, world):
    selector = "a(" * 5000 + ")" * 5000
    response = requests.get(f"{sandbox.endpoints.healthcare}/v1/{store}", params={"fields": selector}, timeout=600)
    assert "nested deeper than" in google_400(response)["message"]


def test_deep_json_is_a_400_to_the_api_and_to_the_admin_api(sandbox, sandbox_admin, store):
    deep = b'{"labels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    patch = requests.patch(f"{sandbox.endpoints.healthcare}/v1/{store}", params={"updateMask": "labels"}, data=deep,
                           headers={"Content-Type": "application/json"}, timeout=600)
    assert "nested too deeply" in google_400(patch)["message"]
    admin = requests.post(f"{sandbox.endpoints.healthcare}/_sandbox/faults", data=b"[" * 100_000 + b"]" * 100_000,
                          headers={"Content-Type": "application/json"}, timeout=600)
    google_400(admin)
    assert sandbox_admin.faults() == []


@pytest.mark.parametrize("spec, words", [
    ({"pathRegex": "x", "delay_s": -1}, "fault.delay_s"),
    ({"pathRegex": "x", "delay_s": float("nan")}, "fault.delay_s"),
    ({"pathRegex": "x", "delay_s": 1e300}, "fault.delay_s"),
    ({"pathRegex": "x", "status": 0}, "fault.status"),
    ({"pathRegex": "x", "status": 200}, "fault.status"),
    ({"pathRegex": "x", "status": "503"}, "fault.status"),
    ({"pathRegex": "x", "status": 503, "count": 0}, "fault.count"),
    ({"pathRegex": "x", "status": 503, "for_s": float("inf")}, "fault.for_s"),
    ({"pathRegex": "(", "status": 503}, "pathRegex"),
    ({"pathRegex": "x", "status": 503, "drop": True}, "drop or a status"),
    ({"pathRegex": "x"}, "needs a status"),
])
def test_bad_fault_specs_are_a_400_and_the_server_answers_after(sandbox, sandbox_admin, store, spec, words):
    body = json.dumps(spec).replace("NaN", "NaN").encode()  # json.dumps writes NaN/Infinity, as a careless client would
    response = requests.post(f"{sandbox.endpoints.healthcare}/_sandbox/faults", data=body,
                             headers={"Content-Type": "application/json"}, timeout=600)
    assert words in google_400(response)["message"]
    assert sandbox_admin.faults() == []
    assert requests.get(f"{sandbox.endpoints.healthcare}/v1/{store}", timeout=600).status_code == 200


@pytest.mark.parametrize("body, words", [
    ({"advance_s": 1e300}, "advance_s"),
    ({"advance_s": "soon"}, "advance_s"),
    ({"now": "9999-12-31T23:59:59Z"}, "within 36525 days"),
    ({"now": "yesterday"}, "an ISO 8601 time"),
])
def test_a_clock_move_out_of_range_is_a_400_and_the_clock_still_works(sandbox, sandbox_admin, store, body, words):
    response = requests.post(f"{sandbox.endpoints.healthcare}/_sandbox/clock", json=body, timeout=600)
    assert words in google_400(response)["message"]
    assert sandbox_admin.now().year < 3000
    assert requests.get(f"{sandbox.endpoints.healthcare}/v1/{store}", timeout=600).status_code == 200


def test_a_bug_is_a_500_in_googles_shape_and_the_server_lives_on(sandbox, store, monkeypatch):
    from dicomstream.sandbox.emulator import server

    def broken(self):  # noqa: ANN001 - a bug anywhere in a request's handling
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(server._Handler, "_respond", broken)
    response = requests.get(f"{sandbox.endpoints.healthcare}/v1/{store}", timeout=600)
    assert response.status_code == 500
    assert response.json()["error"] == {"code": 500, "message": "internal error in the sandbox: ZeroDivisionError",
                                        "status": "INTERNAL"}
    monkeypatch.undo()
    assert requests.get(f"{sandbox.endpoints.healthcare}/v1/{store}", timeout=600).status_code == 200


def test_an_unknown_url_is_a_web_page_404_that_the_clients_do_not_read_as_missing(sandbox, world):
    """Google's front end answers a path no API serves with its HTML 404 page, a missing resource
    with JSON NOT_FOUND: with a base URL ending in /v1, drift used to report every store missing."""
    from google.api_core import exceptions as gexc

    from dicomstream.gcp.healthcare import HealthcareClient
    from dicomstream.gcp.rest import is_google_error

    page = requests.get(f"{sandbox.endpoints.healthcare}/v1/v1/projects/p/locations/l/datasets", timeout=600)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    missing = requests.get(f"{sandbox.endpoints.healthcare}/v1/{world.dataset_name}/dicomStores/nope", timeout=600)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    client = HealthcareClient(f"{sandbox.endpoints.healthcare}/v1", deadline=10)
    with pytest.raises(gexc.NotFound) as wrong_base:
        client.list_dicom_stores(world.dataset_name)
    assert not is_google_error(wrong_base.value)
    with pytest.raises(gexc.NotFound) as truly_missing:
        HealthcareClient(sandbox.endpoints.healthcare, deadline=10).get_dicom_store(f"{world.dataset_name}/dicomStores/nope")
    assert is_google_error(truly_missing.value)
